-- Staff's HSA-ids, by which journal systems name clinicians (FHIR
-- Practitioner identifiers) and SITHS cards identify them. Optional, and
-- unique within a tenant where given. Kept in step between sqlite/ and
-- postgres/.

ALTER TABLE people ADD COLUMN hsa_id TEXT;
CREATE UNIQUE INDEX people_by_hsa_id ON people (tenant_id, hsa_id) WHERE hsa_id IS NOT NULL;

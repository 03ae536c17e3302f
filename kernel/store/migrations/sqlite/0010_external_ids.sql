-- Identifiers other systems gave Tillit's resources: an EHR's own booking
-- id on the Appointment it booked over FHIR. Kept in step between sqlite/
-- and postgres/.
--
-- One (system, value) names one resource of a type in a tenant, so an EHR
-- that sends the same booking twice cannot book it twice.
CREATE TABLE external_ids (
    tenant_id     TEXT   NOT NULL,
    resource_type TEXT   NOT NULL,
    resource_id   TEXT   NOT NULL,
    system        TEXT   NOT NULL,
    value         TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, system, value)
);
CREATE INDEX external_ids_by_resource ON external_ids (tenant_id, resource_type, resource_id);

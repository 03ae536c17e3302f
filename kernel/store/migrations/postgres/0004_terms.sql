-- A patient's acceptance of a tenant's information notice and terms, per
-- version of the text. Kept in step between sqlite/ and postgres/.
CREATE TABLE terms_acceptances (
    tenant_id   TEXT   NOT NULL,
    person_id   TEXT   NOT NULL,
    version     TEXT   NOT NULL,
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, person_id, version),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);

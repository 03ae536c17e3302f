-- Clinicians' profile pictures, re-encoded by the kernel (never the uploaded
-- bytes). Kept in step with ../sqlite/0005_profile_pictures.sql.
CREATE TABLE profile_pictures (
    tenant_id    TEXT   NOT NULL,
    person_id    TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    bytes        BYTEA  NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, person_id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);

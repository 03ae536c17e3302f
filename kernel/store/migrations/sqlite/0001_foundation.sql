-- Tenants, people, sessions and the patient-data access log.
-- Kept in step with ../postgres/0001_foundation.sql: same tables, columns and
-- constraints; only the dialect differs (a test compares the two schemas).

CREATE TABLE tenants (
    id         TEXT   NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- Every tenant-owned table has tenant_id first in its primary key, and
-- references between tenant-owned rows go through (tenant_id, id), so a row
-- can never point into another tenant.
CREATE TABLE people (
    tenant_id    TEXT   NOT NULL REFERENCES tenants (id),
    id           TEXT   NOT NULL,
    role         TEXT   NOT NULL CHECK (role IN ('clinician', 'administrator', 'patient')),
    status       TEXT   NOT NULL CHECK (status IN ('active', 'inactive', 'removed')),
    personnummer TEXT   NOT NULL,
    given_name   TEXT   NOT NULL,
    family_name  TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, personnummer)
);

CREATE TABLE sessions (
    tenant_id    TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL,
    person_id    TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_by_expiry ON sessions (tenant_id, expires_at);

-- No foreign keys: an entry must outlive the patient (and actor) it names.
CREATE TABLE access_log (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT   NOT NULL,
    at                   BIGINT NOT NULL,
    actor_id             TEXT   NOT NULL,
    actor_role           TEXT   NOT NULL,
    patient_id           TEXT   NOT NULL,
    patient_personnummer TEXT   NOT NULL,
    action               TEXT   NOT NULL CHECK (action IN ('read', 'create', 'update', 'delete')),
    what                 TEXT   NOT NULL
);
CREATE INDEX access_log_by_patient ON access_log (tenant_id, patient_id, at);

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;

CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;

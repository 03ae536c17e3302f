-- Versions of bookings and people, as journal systems read them over FHIR
-- (meta.versionId, vread, _history): each change of what an Appointment,
-- Patient or Practitioner shows is kept as a numbered version, with the
-- time of the change. Triggers write them, so a change through any door
-- (portal, FHIR, admin, jobs) is versioned in its own transaction and no
-- caller can forget it. Only what can change is copied; the rest of a
-- booking or person never changes after it is made.
-- Kept in step between sqlite/ and postgres/.

CREATE TABLE booking_versions (
    tenant_id    TEXT   NOT NULL,
    booking_id   TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    clinician_id TEXT   NOT NULL,
    starts_at    BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    recorded_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, booking_id, version),
    FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX booking_versions_by_time ON booking_versions (tenant_id, recorded_at);

CREATE TABLE person_versions (
    tenant_id   TEXT   NOT NULL,
    person_id   TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    status      TEXT   NOT NULL,
    given_name  TEXT   NOT NULL,
    family_name TEXT   NOT NULL,
    phone       TEXT,
    email       TEXT,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, person_id, version),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX person_versions_by_time ON person_versions (tenant_id, recorded_at);

-- What is on file today is each resource's first version.
INSERT INTO booking_versions (tenant_id, booking_id, version, clinician_id, starts_at, status, recorded_at)
SELECT tenant_id, id, 1, clinician_id, starts_at, status, updated_at FROM bookings;
INSERT INTO person_versions (tenant_id, person_id, version, status, given_name, family_name, phone, email, recorded_at)
SELECT tenant_id, id, 1, status, given_name, family_name, phone, email, updated_at FROM people;

CREATE TRIGGER booking_versions_on_insert AFTER INSERT ON bookings
BEGIN
    INSERT INTO booking_versions (tenant_id, booking_id, version, clinician_id, starts_at, status, recorded_at)
    VALUES (NEW.tenant_id, NEW.id, 1, NEW.clinician_id, NEW.starts_at, NEW.status, NEW.updated_at);
END;

-- A change at the instant the booking was made (in the transaction that
-- made it) is part of its first version; any later change is a new one.
CREATE TRIGGER booking_versions_on_create_update AFTER UPDATE OF clinician_id, starts_at, status ON bookings
WHEN NEW.updated_at = NEW.created_at
BEGIN
    UPDATE booking_versions SET clinician_id = NEW.clinician_id, starts_at = NEW.starts_at, status = NEW.status
    WHERE tenant_id = NEW.tenant_id AND booking_id = NEW.id AND version = 1;
END;

CREATE TRIGGER booking_versions_on_update AFTER UPDATE OF clinician_id, starts_at, status ON bookings
WHEN NEW.updated_at <> NEW.created_at
  AND (OLD.clinician_id <> NEW.clinician_id OR OLD.starts_at <> NEW.starts_at OR OLD.status <> NEW.status)
BEGIN
    INSERT INTO booking_versions (tenant_id, booking_id, version, clinician_id, starts_at, status, recorded_at)
    SELECT NEW.tenant_id, NEW.id, COALESCE(MAX(version), 0) + 1, NEW.clinician_id, NEW.starts_at, NEW.status, NEW.updated_at
    FROM booking_versions WHERE tenant_id = NEW.tenant_id AND booking_id = NEW.id;
END;

-- A colleague invited after the booking was made changes its participants.
CREATE TRIGGER booking_versions_on_participant AFTER INSERT ON booking_participants
BEGIN
    INSERT INTO booking_versions (tenant_id, booking_id, version, clinician_id, starts_at, status, recorded_at)
    SELECT b.tenant_id, b.id,
           (SELECT COALESCE(MAX(v.version), 0) + 1 FROM booking_versions v
             WHERE v.tenant_id = b.tenant_id AND v.booking_id = b.id),
           b.clinician_id, b.starts_at, b.status, NEW.added_at
    FROM bookings b
    WHERE b.tenant_id = NEW.tenant_id AND b.id = NEW.booking_id AND b.created_at < NEW.added_at;
END;

CREATE TRIGGER person_versions_on_insert AFTER INSERT ON people
BEGIN
    INSERT INTO person_versions (tenant_id, person_id, version, status, given_name, family_name, phone, email, recorded_at)
    VALUES (NEW.tenant_id, NEW.id, 1, NEW.status, NEW.given_name, NEW.family_name, NEW.phone, NEW.email, NEW.updated_at);
END;

-- As for bookings: what is set at the instant a person is registered
-- (their phone, say) is part of their first version.
CREATE TRIGGER person_versions_on_create_update AFTER UPDATE OF status, given_name, family_name, phone, email ON people
WHEN NEW.updated_at = NEW.created_at
BEGIN
    UPDATE person_versions SET status = NEW.status, given_name = NEW.given_name, family_name = NEW.family_name,
                               phone = NEW.phone, email = NEW.email
    WHERE tenant_id = NEW.tenant_id AND person_id = NEW.id AND version = 1;
END;

CREATE TRIGGER person_versions_on_update AFTER UPDATE OF status, given_name, family_name, phone, email ON people
WHEN NEW.updated_at <> NEW.created_at
  AND (OLD.status IS NOT NEW.status OR OLD.given_name IS NOT NEW.given_name OR OLD.family_name IS NOT NEW.family_name
       OR OLD.phone IS NOT NEW.phone OR OLD.email IS NOT NEW.email)
BEGIN
    INSERT INTO person_versions (tenant_id, person_id, version, status, given_name, family_name, phone, email, recorded_at)
    SELECT NEW.tenant_id, NEW.id, COALESCE(MAX(version), 0) + 1, NEW.status, NEW.given_name, NEW.family_name,
           NEW.phone, NEW.email, NEW.updated_at
    FROM person_versions WHERE tenant_id = NEW.tenant_id AND person_id = NEW.id;
END;

-- Group visits with several patients, each answering for themself (see
-- `tillit_domain::group`). Kept in step between sqlite/ and postgres/.
--
-- Every patient of a group visit has a row here, the first too (who stays
-- `bookings.patient_id`); a one-to-one visit has none, its status being
-- its patient's answer. `position` keeps the order they were invited in,
-- which names each patient's Encounter over FHIR.
CREATE TABLE booking_patients (
    tenant_id  TEXT   NOT NULL,
    booking_id TEXT   NOT NULL,
    person_id  TEXT   NOT NULL,
    position   BIGINT NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('invited', 'confirmed', 'declined')),
    added_by   TEXT   NOT NULL,
    added_at   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, booking_id, person_id),
    UNIQUE (tenant_id, booking_id, position),
    FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id)
);
CREATE INDEX booking_patients_by_person ON booking_patients (tenant_id, person_id, booking_id);

-- The patients' answers in `position` order ("confirmed,invited"), kept
-- on the booking by the store in the same statement as any move of the
-- booking itself, so that one change is one version; NULL for a
-- one-to-one visit.
ALTER TABLE bookings ADD COLUMN attendance TEXT;
ALTER TABLE booking_versions ADD COLUMN attendance TEXT;

-- Group visits booked before this have their one patient.
INSERT INTO booking_patients (tenant_id, booking_id, person_id, position, status, added_by, added_at, updated_at)
SELECT tenant_id, id, patient_id, 1,
       CASE status WHEN 'unconfirmed' THEN 'invited' ELSE 'confirmed' END,
       created_by, created_at, created_at
FROM bookings WHERE kind = 'group_video';
UPDATE bookings SET attendance = CASE status WHEN 'unconfirmed' THEN 'invited' ELSE 'confirmed' END
WHERE kind = 'group_video';
UPDATE booking_versions v SET attendance = CASE v.status WHEN 'unconfirmed' THEN 'invited' ELSE 'confirmed' END
FROM bookings b
WHERE b.tenant_id = v.tenant_id AND b.id = v.booking_id AND b.kind = 'group_video';

CREATE OR REPLACE FUNCTION record_booking_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.updated_at = NEW.created_at THEN
        UPDATE booking_versions
        SET clinician_id = NEW.clinician_id, starts_at = NEW.starts_at, status = NEW.status, attendance = NEW.attendance
        WHERE tenant_id = NEW.tenant_id AND booking_id = NEW.id AND version = 1;
        RETURN NULL;
    END IF;
    INSERT INTO booking_versions (tenant_id, booking_id, version, clinician_id, starts_at, status, attendance, recorded_at)
    SELECT NEW.tenant_id, NEW.id, COALESCE(MAX(version), 0) + 1, NEW.clinician_id, NEW.starts_at, NEW.status,
           NEW.attendance, NEW.updated_at
    FROM booking_versions WHERE tenant_id = NEW.tenant_id AND booking_id = NEW.id;
    RETURN NULL;
END $$;

DROP TRIGGER booking_versions_on_update ON bookings;
CREATE TRIGGER booking_versions_on_update AFTER UPDATE ON bookings
    FOR EACH ROW
    WHEN (OLD.clinician_id <> NEW.clinician_id OR OLD.starts_at <> NEW.starts_at OR OLD.status <> NEW.status
          OR OLD.attendance IS DISTINCT FROM NEW.attendance)
    EXECUTE FUNCTION record_booking_version();

-- A colleague invited after the booking was made changes its participants.
CREATE OR REPLACE FUNCTION record_booking_participant_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO booking_versions (tenant_id, booking_id, version, clinician_id, starts_at, status, attendance, recorded_at)
    SELECT b.tenant_id, b.id,
           (SELECT COALESCE(MAX(v.version), 0) + 1 FROM booking_versions v
             WHERE v.tenant_id = b.tenant_id AND v.booking_id = b.id),
           b.clinician_id, b.starts_at, b.status, b.attendance, NEW.added_at
    FROM bookings b
    WHERE b.tenant_id = NEW.tenant_id AND b.id = NEW.booking_id AND b.created_at < NEW.added_at;
    RETURN NULL;
END $$;

-- Bookings, their history, and how to reach patients.
-- Kept in step between sqlite/ and postgres/.

-- Patients are reached by SMS (and e-mail when known). Never logged.
ALTER TABLE people ADD COLUMN phone TEXT;
ALTER TABLE people ADD COLUMN email TEXT;

CREATE TABLE bookings (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    -- The responsible clinician, shown to the patient.
    clinician_id  TEXT   NOT NULL,
    patient_id    TEXT   NOT NULL,
    visit_type_id TEXT   NOT NULL,
    -- Copied from the visit type when booked: editing the type later never
    -- rewrites this booking.
    title         TEXT   NOT NULL,
    minutes       BIGINT NOT NULL,
    kind          TEXT   NOT NULL CHECK (kind IN ('video', 'group_video')),
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('unconfirmed', 'confirmed', 'in_progress', 'finished', 'cancelled', 'no_show')),
    -- Shown to the patient after login, never sent in an SMS or e-mail.
    message       TEXT   NOT NULL,
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, clinician_id) REFERENCES people (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES people (tenant_id, id),
    FOREIGN KEY (tenant_id, visit_type_id) REFERENCES visit_types (tenant_id, id)
);
-- Two requests for the same clinician and start time cannot both win.
CREATE UNIQUE INDEX bookings_one_per_slot ON bookings (tenant_id, clinician_id, starts_at)
    WHERE status IN ('unconfirmed', 'confirmed', 'in_progress');
CREATE INDEX bookings_by_clinician ON bookings (tenant_id, clinician_id, starts_at);
CREATE INDEX bookings_by_patient ON bookings (tenant_id, patient_id, starts_at);

-- Every change of status, with who and when.
CREATE TABLE booking_events (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    booking_id  TEXT   NOT NULL,
    from_status TEXT,
    to_status   TEXT   NOT NULL,
    actor_id    TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id)
);
CREATE INDEX booking_events_by_booking ON booking_events (tenant_id, booking_id, at);

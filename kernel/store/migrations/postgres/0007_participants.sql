-- Visits with several participants (the Vård och hälsa wizard). Kept in step
-- between sqlite/ and postgres/.

-- The clinician's unit (enhet, mottagning), by which colleagues find them.
ALTER TABLE clinician_profiles ADD COLUMN unit TEXT NOT NULL DEFAULT '';

-- Colleagues invited to a booking besides its responsible clinician. They
-- see the visit on their overview and may start it; they see no other
-- patient data.
CREATE TABLE booking_participants (
    tenant_id  TEXT   NOT NULL,
    booking_id TEXT   NOT NULL,
    person_id  TEXT   NOT NULL,
    added_by   TEXT   NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, booking_id, person_id),
    FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id)
);
CREATE INDEX booking_participants_by_person ON booking_participants (tenant_id, person_id);

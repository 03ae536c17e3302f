-- Clinicians' profiles ("Min profil") and bookable visit types
-- ("Bokningsbara besök"). Kept in step between sqlite/ and postgres/.

CREATE TABLE clinician_profiles (
    tenant_id        TEXT   NOT NULL,
    person_id        TEXT   NOT NULL,
    title            TEXT   NOT NULL,
    introduction     TEXT   NOT NULL,
    way_of_working   TEXT   NOT NULL,
    first_visit      TEXT   NOT NULL,
    visiting_address TEXT   NOT NULL,
    -- Set by "Aktivera bokningsfunktion"; NULL while unpublished.
    published_at     BIGINT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, person_id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);

-- Bookings (next migration) copy title and length when they are made, so
-- editing a visit type never rewrites past bookings; removing one archives it.
CREATE TABLE visit_types (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    clinician_id TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    minutes      BIGINT  NOT NULL CHECK (minutes >= 5),
    kind         TEXT    NOT NULL CHECK (kind IN ('video', 'group_video')),
    archived     BOOLEAN NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, clinician_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_types_by_clinician ON visit_types (tenant_id, clinician_id);

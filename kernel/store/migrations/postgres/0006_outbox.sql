-- The outbox: every message a change to a booking causes, written in the
-- same transaction as the change. Kept in step between sqlite/ and postgres/.
--
-- A row is `scheduled` (a reminder waiting for its time), `queued` (handed
-- to the job queue, which carries only the tenant and this row's id),
-- `sent`, `failed` (given up), or `cancelled` (a reminder whose visit moved
-- or was cancelled). The text is rendered when the message is sent and never
-- holds health information: no visit type, no reason, no message text.
CREATE TABLE notifications (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    booking_id   TEXT   NOT NULL,
    -- The recipient; their number or address is read when sending.
    person_id    TEXT   NOT NULL,
    kind         TEXT   NOT NULL CHECK (kind IN ('invited', 'moved', 'cancelled', 'reminder')),
    channel      TEXT   NOT NULL CHECK (channel IN ('sms', 'email')),
    status       TEXT   NOT NULL CHECK (status IN ('scheduled', 'queued', 'sent', 'failed', 'cancelled')),
    due_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    -- What left, to where, and what the provider said about it.
    recipient    TEXT,
    body         TEXT,
    provider     TEXT,
    provider_id  TEXT,
    delivery     TEXT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    sent_at      BIGINT,
    delivered_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id)
);
-- Reminders that fall due are found by this index.
CREATE INDEX notifications_due ON notifications (tenant_id, status, due_at);
CREATE INDEX notifications_by_booking ON notifications (tenant_id, booking_id);
-- Delivery reports name the provider's message id.
CREATE INDEX notifications_by_provider_id ON notifications (tenant_id, provider_id);

-- Plugins hear about booking changes through the outbox, like messages: the
-- row is written in the change's own transaction and delivered by a worker,
-- so no event is lost across a crash and none exists for a change that
-- rolled back. Kept in step between sqlite/ and postgres/.
--
-- The visit is recorded as it was when the change happened (status, times),
-- so a plugin hears "created" with the visit as it was booked even if it
-- was cancelled before the worker came round.
CREATE TABLE plugin_events (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    -- Order of delivery within the tenant.
    seq          BIGINT NOT NULL,
    booking_id   TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    visit_status TEXT   NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    -- NULL until the worker has handed it to every subscribing plugin.
    delivered_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id)
);
CREATE INDEX plugin_events_pending ON plugin_events (tenant_id, delivered_at, seq);

-- SMART client assertions already exchanged for a token: each `jti` buys
-- one token, also across a restart. Kept until the assertion expires (at
-- most five minutes); expired rows are removed as new ones come.
-- Kept in step between sqlite/ and postgres/.
CREATE TABLE smart_assertions (
    tenant_id  TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);
CREATE INDEX smart_assertions_by_expiry ON smart_assertions (tenant_id, expires_at);

-- Plugins' storage: documents by key and blobs, per (tenant, plugin,
-- owner), with the bytes each (tenant, plugin) uses. Kept in step with
-- ../postgres/0008_plugin_storage.sql.
--
-- The owner is '' for a plugin's tenant-wide space, else the person
-- reference the plugin host derived from the authenticated caller (an HMAC
-- per tenant and plugin, never a person id). Keys are ASCII (the host
-- checks them) and sort by bytes (SQLite's BINARY collation).

-- One row per (tenant, plugin) that has stored anything: the revision
-- counter (every write takes the next one, so a deleted and re-created key
-- never repeats a revision) and the usage the quotas are checked against.
-- Writes update this row first, which serialises a plugin's writes in a
-- tenant.
CREATE TABLE plugin_usage (
    tenant_id      TEXT   NOT NULL REFERENCES tenants (id),
    plugin_id      TEXT   NOT NULL,
    revision       BIGINT NOT NULL,
    document_bytes BIGINT NOT NULL CHECK (document_bytes >= 0),
    blob_bytes     BIGINT NOT NULL CHECK (blob_bytes >= 0),
    PRIMARY KEY (tenant_id, plugin_id)
);

CREATE TABLE plugin_documents (
    tenant_id  TEXT   NOT NULL,
    plugin_id  TEXT   NOT NULL,
    owner      TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    value      BLOB   NOT NULL,
    -- Bytes counted against the quota: the key and the value.
    size       BIGINT NOT NULL,
    revision   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id, owner, key),
    FOREIGN KEY (tenant_id, plugin_id) REFERENCES plugin_usage (tenant_id, plugin_id)
);

CREATE TABLE plugin_blobs (
    tenant_id    TEXT   NOT NULL,
    plugin_id    TEXT   NOT NULL,
    owner        TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    data         BLOB   NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id, owner, id),
    FOREIGN KEY (tenant_id, plugin_id) REFERENCES plugin_usage (tenant_id, plugin_id)
);

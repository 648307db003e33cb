-- Labels on tenants ("tier:gold", "region:eu", "vip"), for targeting groups of
-- customers: one row per tenant and label. A side table rather than a text[] column:
-- `tenants` is at diesel's 16-column limit, and the label index stays out of the
-- tenant rows' updates. "Has label L" is a semi-join on (label, tenant_id). The
-- format (lowercase [a-z0-9._-] words, one optional ":" between key and value, at
-- most 64 characters, at most 20 per tenant) is domain::label's; the CHECK only
-- bounds what any writer may store.
CREATE TABLE tenant_labels (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    label     TEXT NOT NULL CHECK (length(label) <= 64 AND label ~ '^[a-z0-9._-]+(:[a-z0-9._-]+)?$'),
    PRIMARY KEY (tenant_id, label)
);
CREATE INDEX tenant_labels_label ON tenant_labels (label, tenant_id);
-- status=disabled filters on a boolean that is mostly true: a partial index finds
-- the few disabled tenants without a scan (the dashboard's "Disabled" card links there).
CREATE INDEX tenants_disabled ON tenants (id) WHERE NOT enabled;

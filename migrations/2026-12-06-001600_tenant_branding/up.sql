-- Issue #16: a tenant's branding. One row per tenant that sets any field; a NULL
-- field inherits from the nearest ancestor that sets it (read along tenant_paths).
CREATE TABLE tenant_branding (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    product_name TEXT CHECK (product_name IS NULL OR char_length(product_name) BETWEEN 1 AND 60),
    primary_color TEXT CHECK (primary_color IS NULL OR primary_color ~ '^#[0-9a-f]{6}$'),
    support_email TEXT CHECK (support_email IS NULL OR char_length(support_email) BETWEEN 3 AND 254),
    support_url TEXT CHECK (support_url IS NULL OR char_length(support_url) BETWEEN 8 AND 300),
    -- The logo as served: re-encoded (PNG, JPEG) or rebuilt (SVG), never as uploaded.
    logo BYTEA CHECK (logo IS NULL OR octet_length(logo) <= 262144),
    logo_mime TEXT CHECK (logo_mime IS NULL OR logo_mime IN ('image/png', 'image/jpeg', 'image/svg+xml')),
    logo_etag TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK ((logo IS NULL) = (logo_mime IS NULL) AND (logo IS NULL) = (logo_etag IS NULL))
);

-- The From name of a queued mail (the product name of the tenant it is about);
-- NULL: the configured From as it is.
ALTER TABLE outbox ADD COLUMN from_name TEXT;

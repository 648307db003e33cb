-- Logos are served by their ETag (`/branding/logo/{etag}`), a hash of their content.
CREATE INDEX tenant_branding_logo_etag ON tenant_branding (logo_etag) WHERE logo_etag IS NOT NULL;

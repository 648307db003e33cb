DROP INDEX tenant_branding_logo_etag;

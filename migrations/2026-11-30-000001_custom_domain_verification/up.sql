-- A custom domain serves a tenant (login page branding, bare usernames) only once
-- its ownership is proven: a DNS TXT record holding the tenant's token for that
-- domain (`verified`), or a root Owner's approval (`approved`). Until then it is
-- `pending`. The token is random per (tenant, domain): a new one whenever the
-- domain changes.
ALTER TABLE tenants
    ADD COLUMN custom_domain_status TEXT,
    ADD COLUMN custom_domain_token TEXT,
    ADD COLUMN custom_domain_verified_at TIMESTAMPTZ;

-- Domains set before this release were never proven: they start pending, each with
-- its own token (32 hex characters, like the ones the application makes).
UPDATE tenants
SET custom_domain_status = 'pending',
    custom_domain_token = replace(gen_random_uuid()::text, '-', '')
WHERE custom_domain IS NOT NULL;

ALTER TABLE tenants
    ADD CONSTRAINT tenants_custom_domain_status
        CHECK (custom_domain_status IN ('pending', 'verified', 'approved')),
    -- A domain always has a state and a token; no domain has neither.
    ADD CONSTRAINT tenants_custom_domain_claim
        CHECK ((custom_domain IS NULL) = (custom_domain_status IS NULL)
               AND (custom_domain IS NULL) = (custom_domain_token IS NULL)),
    -- `verified_at`: since when a verified or approved domain serves.
    ADD CONSTRAINT tenants_custom_domain_verified_at
        CHECK (coalesce(custom_domain_status IN ('verified', 'approved'), false)
               = (custom_domain_verified_at IS NOT NULL));

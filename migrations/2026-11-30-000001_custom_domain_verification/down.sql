ALTER TABLE tenants
    DROP CONSTRAINT tenants_custom_domain_verified_at,
    DROP CONSTRAINT tenants_custom_domain_claim,
    DROP CONSTRAINT tenants_custom_domain_status,
    DROP COLUMN custom_domain_verified_at,
    DROP COLUMN custom_domain_token,
    DROP COLUMN custom_domain_status;

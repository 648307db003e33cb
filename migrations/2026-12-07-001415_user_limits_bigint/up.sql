-- A user's storage and memory limits take what a tenant's take (one cap for every
-- limit in GB, `domain::resources::limit`): BIGINT, as the tenants' columns.
ALTER TABLE users
    ALTER COLUMN storage_limit_gb TYPE BIGINT,
    ALTER COLUMN memory_limit_gb TYPE BIGINT;

-- Plans (issue #16, point 3): what a tenant on a plan gets — its limits and its
-- options — defined by the root's Owners and Administrators.
--
-- A tenant's effective limit is its own where set, else its plan's (an empty limit
-- on both: unlimited); every reader of a limit asks `db::models::plan::effective`,
-- the one SQL fragment that says so. A tenant's own limit is never above its
-- plan's (checked by `services::tenants` under the plan's FOR SHARE lock; a plan's
-- change below one of its tenants' own limits is refused under FOR UPDATE).
-- A plan with tenants cannot be deleted (RESTRICT; the service names how many).
CREATE TABLE plans (
    id                  BIGSERIAL PRIMARY KEY,
    name                TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    monthly_query_quota BIGINT CHECK (monthly_query_quota >= 0),
    max_users           INTEGER CHECK (max_users >= 0),
    max_instances       BIGINT CHECK (max_instances >= 0),
    storage_limit_gb    BIGINT CHECK (storage_limit_gb >= 0),
    memory_limit_gb     BIGINT CHECK (memory_limit_gb >= 0),
    custom_branding     BOOLEAN NOT NULL DEFAULT false,
    custom_domain       BOOLEAN NOT NULL DEFAULT false,
    sub_tenants         BOOLEAN NOT NULL DEFAULT false,
    api_access          BOOLEAN NOT NULL DEFAULT false,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX plans_name ON plans (lower(name));

ALTER TABLE tenants ADD COLUMN plan_id BIGINT REFERENCES plans (id) ON DELETE RESTRICT;
-- The tenants of a plan (its page, the delete's count), by name.
CREATE INDEX tenants_plan ON tenants (plan_id, lower(name), id) WHERE plan_id IS NOT NULL;

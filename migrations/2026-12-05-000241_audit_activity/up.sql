-- The activity page reads the audit trail (docs/API.md, /tenants/{id}/activity).
--
-- Events outlive what they name: `tenant_id`, `acting_tenant_id` and
-- `actor_user_id` have no foreign keys, so deleting a tenant or a user keeps its
-- events. What the page shows about them is kept on the event when it is written
-- (a BEFORE INSERT trigger fills what the insert left NULL):
--   tenant_name         the tenant's name then,
--   tenant_path         its path then (ids from the root down to it): "the events
--                       about a subtree" is `tenant_path @> ARRAY[id]` on a GIN
--                       index, and a deleted sub-tenant's events stay in its
--                       former parent's subtree,
--   acting_tenant_name  the name of the tenant the actor acted in,
--   actor_home_id       the actor's home tenant, so the page can say "acting in X"
--                       when that differs.
ALTER TABLE audit_events
    ADD COLUMN tenant_name TEXT,
    ADD COLUMN tenant_path BIGINT[],
    ADD COLUMN acting_tenant_name TEXT,
    ADD COLUMN actor_home_id BIGINT;

CREATE FUNCTION audit_events_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant_id IS NOT NULL THEN
        IF NEW.tenant_name IS NULL THEN
            SELECT name INTO NEW.tenant_name FROM tenants WHERE id = NEW.tenant_id;
        END IF;
        IF NEW.tenant_path IS NULL THEN
            SELECT path INTO NEW.tenant_path FROM tenant_paths WHERE tenant_id = NEW.tenant_id;
        END IF;
    END IF;
    IF NEW.acting_tenant_id IS NOT NULL AND NEW.acting_tenant_name IS NULL THEN
        SELECT name INTO NEW.acting_tenant_name FROM tenants WHERE id = NEW.acting_tenant_id;
    END IF;
    IF NEW.actor_user_id IS NOT NULL AND NEW.actor_home_id IS NULL THEN
        SELECT tenant_id INTO NEW.actor_home_id FROM users WHERE id = NEW.actor_user_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_events_snapshot BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_snapshot();

-- The events written before this migration get what can still be known.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change;
UPDATE audit_events e SET
    tenant_name = (SELECT name FROM tenants WHERE id = e.tenant_id),
    tenant_path = (SELECT path FROM tenant_paths WHERE tenant_id = e.tenant_id),
    acting_tenant_name = (SELECT name FROM tenants WHERE id = e.acting_tenant_id),
    actor_home_id = (SELECT tenant_id FROM users WHERE id = e.actor_user_id);
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change;

-- Newest first by (occurred_at, id), the keyset of the activity pages: per tenant,
-- overall (a large subtree, the date filters), per action. A small subtree is found
-- through the GIN index on the paths, an actor through the trigram index.
DROP INDEX audit_events_tenant;
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, occurred_at, id);
CREATE INDEX audit_events_time ON audit_events (occurred_at, id);
CREATE INDEX audit_events_action ON audit_events (action, occurred_at, id);
CREATE INDEX audit_events_subtree ON audit_events USING gin (tenant_path);
CREATE INDEX audit_events_actor ON audit_events USING gin (actor_username gin_trgm_ops);

-- Append-only also against TRUNCATE (UPDATE and DELETE are refused since the
-- foundation migration: audit_events_no_change).
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

DROP TRIGGER instances_count_moved ON instances;
DROP TRIGGER users_count_moved ON users;
CREATE OR REPLACE FUNCTION tenants_count_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE tenants SET user_count = user_count - 1 WHERE id = OLD.tenant_id;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION tenants_count_instances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tenants SET instance_count = instance_count + 1 WHERE id = NEW.tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE tenants SET instance_count = instance_count - 1 WHERE id = OLD.tenant_id;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER tenant_paths_subtree_totals ON tenant_paths;
DROP TRIGGER tenants_subtree_totals_enabled ON tenants;
DROP TRIGGER instances_subtree_totals_moved ON instances;
DROP TRIGGER instances_subtree_totals ON instances;
DROP TRIGGER users_subtree_totals_moved ON users;
DROP TRIGGER users_subtree_totals ON users;
DROP FUNCTION tenant_subtree_totals_created();
DROP FUNCTION tenant_subtree_totals_enabled();
DROP FUNCTION tenant_subtree_totals_count();
DROP FUNCTION tenant_subtree_totals_add(BIGINT, BIGINT, BIGINT, BIGINT);
DROP TABLE tenant_subtree_totals;

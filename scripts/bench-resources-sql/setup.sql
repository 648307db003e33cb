-- A scratch tree for the instance-create transaction at SQL level (run.sh): the
-- root and 4 chains of depth 14 below it, every tenant with storage, memory and
-- instance limits (wide), an owner user each, one public cloud of the root.
SET client_min_messages = warning;
INSERT INTO tenant_roles (name) VALUES ('bench');
DO $$
DECLARE
    role BIGINT := (SELECT id FROM tenant_roles WHERE name = 'bench');
    root BIGINT;
    cur BIGINT;
    next BIGINT;
BEGIN
    INSERT INTO tenants (name, subdomain, tenant_role_id, can_have_subtenants)
    VALUES ('root', 'root', role, true) RETURNING id INTO root;
    INSERT INTO tenant_paths VALUES (root, ARRAY[root]);
    FOR b IN 1..4 LOOP
        cur := root;
        FOR d IN 1..14 LOOP
            INSERT INTO tenants (parent_id, name, subdomain, tenant_role_id, can_have_subtenants)
            VALUES (cur, 'b' || b || 'd' || d, 'b' || b || 'd' || d, role, true)
            RETURNING id INTO next;
            INSERT INTO tenant_paths SELECT next, path || next FROM tenant_paths WHERE tenant_id = cur;
            cur := next;
        END LOOP;
    END LOOP;
END $$;
UPDATE tenants SET storage_limit_gb = 100000000, memory_limit_gb = 100000000, max_instances = 100000000;
INSERT INTO clouds (tenant_id, name, provider, visibility)
SELECT id, 'public', 'aws', 'public' FROM tenants WHERE parent_id IS NULL;
INSERT INTO users (tenant_id, username, password_hash) SELECT id, 'owner' || id, 'x' FROM tenants;

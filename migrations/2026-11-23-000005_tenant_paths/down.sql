ALTER TABLE tenants ADD COLUMN path BIGINT[];
UPDATE tenants t SET path = p.path FROM tenant_paths p WHERE p.tenant_id = t.id;
ALTER TABLE tenants ALTER COLUMN path SET NOT NULL,
    ADD CONSTRAINT tenants_path_ends_in_self CHECK (path[array_length(path, 1)] = id),
    ADD CONSTRAINT tenants_root_has_no_parent CHECK ((parent_id IS NULL) = (array_length(path, 1) = 1)),
    ADD CONSTRAINT tenants_parent_in_path CHECK (parent_id IS NULL OR path[array_length(path, 1) - 1] = parent_id);
CREATE INDEX tenants_path ON tenants USING gin (path);
DROP TABLE tenant_paths;

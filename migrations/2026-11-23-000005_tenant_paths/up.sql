-- The path of every tenant moves to a narrow table of its own. Moving a subtree
-- rewrites the path of every tenant in it; on the wide `tenants` row, with its
-- ten indexes, each rewritten path cost a new entry in every index (no HOT update
-- is possible once an indexed column changes). Here a rewrite touches the primary
-- key and the GIN index only, and `tenants` rows are not rewritten at all (the
-- moved tenant's own `parent_id` excepted). docs/PERFORMANCE.md has the figures.
--
-- `path` still holds the ids from the root down to and including the tenant, so
-- "is A above B" is `A = ANY(path of B)` on one primary-key lookup and a subtree
-- is `path @> ARRAY[A]` on the GIN index.
CREATE TABLE tenant_paths (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    path      BIGINT[] NOT NULL,
    CONSTRAINT tenant_paths_ends_in_self CHECK (path[array_length(path, 1)] = tenant_id)
);
INSERT INTO tenant_paths (tenant_id, path) SELECT id, path FROM tenants;
CREATE INDEX tenant_paths_path ON tenant_paths USING gin (path);

ALTER TABLE tenants
    DROP CONSTRAINT tenants_path_ends_in_self,
    DROP CONSTRAINT tenants_root_has_no_parent,
    DROP CONSTRAINT tenants_parent_in_path;
DROP INDEX tenants_path;
ALTER TABLE tenants DROP COLUMN path;

-- The disabled tenants by name (issue #11, benchmark): the Tenants list `within=` a
-- big subtree with `status=disabled` walks them in the page's order, testing each
-- one's path, instead of collecting the subtree's matching ids from all its paths
-- (Tenant::list, DisabledWalk; docs/PERFORMANCE.md has the figures). Small: only
-- the disabled tenants are in it.
CREATE INDEX tenants_disabled_name ON tenants (lower(name), id) WHERE NOT enabled;

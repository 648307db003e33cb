-- The usage statistics' orders (issue #12: the stats page of a 100,000-tenant subtree
-- over 12 months within 100 ms). A page of a large subtree is read in the order of
-- one of these and stops after its rows, instead of sorting the subtree's 1.2
-- million tenant-months (1.1 s for "most queries first" without them; 7-13 ms with).
-- Small subtrees are read whole and sorted (db/models/usage_stats.rs).
--
-- The cost: ingestion's upserts change `queries` and `subtree_queries`, so they are
-- no longer HOT updates and write these two indexes too. `(month, tenant_id)` never
-- changes on an update.
CREATE INDEX usage_monthly_queries ON usage_monthly (queries, tenant_id, month);
CREATE INDEX usage_monthly_subtree_queries ON usage_monthly (subtree_queries, tenant_id, month);
CREATE INDEX usage_monthly_month ON usage_monthly (month, tenant_id);

-- Subtree usage totals are folded asynchronously (issue #12: ingestion at 50,000
-- events/s). A batch's transaction writes its tenants' own daily rows and appends
-- here what it adds to the months: one row per (tenant on an event's path, month),
-- summed over the batch, with the tenant's own counts and its subtree's. A folder
-- (services::usage::fold, every TENANTRY_USAGE_FOLD_INTERVAL_MS in each `serve`
-- process) adds all pending rows to `usage_monthly` in one statement, grouped
-- by (tenant, month) first — the root's row is written once per fold, not once per
-- batch — and deletes them in the same transaction.
--
-- Why the ancestors are expanded by the batch and not at the fold: the batch reads
-- the paths anyway (under the usage advisory lock shared, which a move takes
-- exclusive), and a tenant deleted before the fold would otherwise have no path to
-- fold along; its usage stays counted where it was, as before.
--
-- The own monthly counts are folded too, not written by the batch: the folder
-- writes those rows anyway, and a batch upserting them waited on the fold's row
-- locks (measured: slower than before with 2 and 4 clients; docs/PERFORMANCE.md).
--
-- Append-only, no index but the key: batches never wait on each other here. A
-- move folds everything pending first (under the lock exclusive), so the subtree
-- totals it shifts are complete.
CREATE TABLE usage_pending (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL,
    month           DATE NOT NULL,
    queries         BIGINT NOT NULL,
    blocked         BIGINT NOT NULL,
    subtree_queries BIGINT NOT NULL,
    subtree_blocked BIGINT NOT NULL
);

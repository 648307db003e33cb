-- Usage statistics (issue #12): ingestion keys, usage per tenant per UTC day and
-- per UTC month, the batches already applied, and each tenant's monthly query quota.
--
-- Ingestion keys are not personal API tokens: they belong to the installation (a
-- DNS resolver fleet posts with one), are created and revoked by root Owners and
-- Administrators, and are accepted by POST /api/v1/usage only. Only a SHA-256 hash
-- of the secret is stored (256 random bits: nothing to brute-force).
CREATE TABLE ingestion_keys (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    -- The first characters of the key, to recognise it in the list.
    prefix       TEXT NOT NULL,
    -- Who created it; the audit trail keeps the name if the user goes.
    created_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX ingestion_keys_hash ON ingestion_keys (key_hash);

-- Every applied batch, by the sender's `batch_id` (unique across keys, so a batch
-- retried after its key was rotated still counts once). The row is inserted first
-- in the batch's transaction: a second copy of the same batch arriving meanwhile
-- waits on the unique index until the first commits, then finds this row and gets
-- its answer. `request_hash` is the SHA-256 of the batch as parsed (whitespace and
-- key order do not matter); a `batch_id` sent again with another body is refused
-- with 409 and counts nothing. `answer` is NULL only inside the applying
-- transaction. Rows are kept (no expiry yet): a retry is recognised however late.
CREATE TABLE usage_batches (
    batch_id     TEXT PRIMARY KEY,
    key_id       BIGINT NOT NULL REFERENCES ingestion_keys (id),
    request_hash TEXT NOT NULL,
    answer       JSONB,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX usage_batches_key ON usage_batches (key_id, received_at);

-- Usage per tenant per UTC day: the tenant's own counts.
--
-- Deleting a tenant keeps its usage: there is deliberately no foreign key to
-- `tenants` here or in `usage_monthly`, so a delete (safe or forced) leaves the
-- rows in place. They are what billing was and will be computed from, and the
-- ancestors' subtree totals below include them; nothing shows them once the
-- tenant is gone (pages join `tenants`), and ids are never reused.
CREATE TABLE usage_daily (
    tenant_id BIGINT NOT NULL,
    day       DATE NOT NULL,
    queries   BIGINT NOT NULL DEFAULT 0 CHECK (queries >= 0),
    blocked   BIGINT NOT NULL DEFAULT 0 CHECK (blocked >= 0),
    PRIMARY KEY (tenant_id, day)
);

-- Usage per tenant per UTC month (`month` is the first day of the month): the
-- tenant's own counts, and, maintained, its subtree's (own + every descendant's,
-- including descendants deleted since: their usage stays in the totals it was
-- added to).
--
-- Why maintained subtree columns: the stats page shows, for every tenant of a
-- subtree the user may see, its own and its subtree's numbers per month. Summed at
-- read time, a 100,000-tenant subtree over 12 months is 1.2 million rows per
-- request (and the sum for each of its tenants another walk through the path
-- index); maintained, a page of tenants reads its rows by primary key
-- (tenant_id, month) — the tenants from `tenant_paths` (GIN on path) and the
-- numbers by key, well inside 100 ms. A deleted tenant's usage also stays counted
-- where it was counted, which summing over the tenants that still exist could not
-- do.
--
-- Who keeps them exact, in the transaction that makes the change:
-- * Ingestion (services::usage::ingest) adds each event to its tenant's own
--   columns and to the subtree columns of every tenant on its path, one upsert for
--   the whole batch, holding a transaction-level advisory lock shared
--   (db::models::usage::hold_paths_for_ingestion), so that no move is in flight
--   while it reads paths and counts. (Not the tree protocol's row locks on every
--   tenant of the paths: a batch reaches some 20,000 tenants of a deep tree.)
-- * Moves (Tenant::move_subtree) take that lock exclusive, then take the moved
--   subtree's monthly totals off the ancestors it leaves and add them to those it
--   joins: its history moves with it.
-- * Deletes change nothing here (see above).
-- Rows are written in (tenant_id, month) order by every writer, so two writers
-- never wait on each other in a circle.
CREATE TABLE usage_monthly (
    tenant_id       BIGINT NOT NULL,
    month           DATE NOT NULL CHECK (extract(day FROM month) = 1),
    queries         BIGINT NOT NULL DEFAULT 0 CHECK (queries >= 0),
    blocked         BIGINT NOT NULL DEFAULT 0 CHECK (blocked >= 0),
    subtree_queries BIGINT NOT NULL DEFAULT 0 CHECK (subtree_queries >= 0),
    subtree_blocked BIGINT NOT NULL DEFAULT 0 CHECK (subtree_blocked >= 0),
    PRIMARY KEY (tenant_id, month)
);

-- The quota a tenant's own queries are measured against each month (NULL: none).
ALTER TABLE tenants ADD COLUMN monthly_query_quota BIGINT
    CONSTRAINT tenants_monthly_query_quota CHECK (monthly_query_quota >= 0);

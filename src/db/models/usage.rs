//! Usage statistics: ingestion keys, the batches already applied, and the per-day
//! and per-month usage rows (migration `usage` explains the shape, `usage_pending`
//! how the subtree columns are folded asynchronously).

use crate::db::schema::{ingestion_keys, usage_batches};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// An ingestion key as the keys page lists it (never the secret or its hash).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = ingestion_keys, check_for_backend(Pg))]
pub struct IngestionKey {
    pub id: i64,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key that may post usage right now.
#[derive(Clone, Copy, Debug, Queryable)]
pub struct UsableKey {
    pub id: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl IngestionKey {
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        name: &str,
        key_hash: &str,
        prefix: &str,
        created_by: Option<i64>,
    ) -> QueryResult<IngestionKey> {
        diesel::insert_into(ingestion_keys::table)
            .values((
                ingestion_keys::name.eq(name),
                ingestion_keys::key_hash.eq(key_hash),
                ingestion_keys::prefix.eq(prefix),
                ingestion_keys::created_by.eq(created_by),
            ))
            .returning(IngestionKey::as_returning())
            .get_result(conn)
            .await
    }

    /// Every key with the login of its creator (if still there), newest first.
    pub async fn all(
        conn: &mut AsyncPgConnection,
    ) -> QueryResult<Vec<(IngestionKey, Option<String>)>> {
        use crate::db::schema::{tenants, users};
        let rows: Vec<(IngestionKey, Option<(String, String)>)> = ingestion_keys::table
            .left_join(users::table.inner_join(tenants::table))
            .order(ingestion_keys::id.desc())
            .select((
                IngestionKey::as_select(),
                (tenants::subdomain, users::username).nullable(),
            ))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(k, who)| (k, who.map(|(s, u)| crate::domain::login_name(&s, &u))))
            .collect())
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<IngestionKey> {
        ingestion_keys::table
            .find(id)
            .select(IngestionKey::as_select())
            .first(conn)
            .await
    }

    /// Revokes the key (once); returns whether it changed.
    pub async fn revoke(
        conn: &mut AsyncPgConnection,
        id: i64,
        now: DateTime<Utc>,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            ingestion_keys::table
                .find(id)
                .filter(ingestion_keys::revoked_at.is_null()),
        )
        .set(ingestion_keys::revoked_at.eq(now))
        .execute(conn)
        .await?;
        Ok(n == 1)
    }

    /// The unrevoked key with this hash.
    pub async fn usable(
        conn: &mut AsyncPgConnection,
        key_hash: &str,
    ) -> QueryResult<Option<UsableKey>> {
        ingestion_keys::table
            .filter(ingestion_keys::key_hash.eq(key_hash))
            .filter(ingestion_keys::revoked_at.is_null())
            .select((ingestion_keys::id, ingestion_keys::last_used_at))
            .first(conn)
            .await
            .optional()
    }

    super::credential_touch!(ingestion_keys);
}

/// The transaction-level advisory lock that keeps usage ingestion and subtree
/// moves apart: every ingestion holds it shared (they run side by side), a move
/// exclusive. An ingestion therefore reads the paths it expands its subtree deltas
/// along only while no move is in flight, and a move folds and shifts a subtree's
/// totals only once every ingestion that counted along the old paths has committed. One lock instead
/// of the tree protocol's row locks on every tenant of every path: a batch of 10,000
/// events reaches some 20,000 tenants in a deep tree, and locking each row took
/// longer than counting. Creates and deletes change no usage and do not take it.
const USAGE_TREE_LOCK: i64 = 0x7573_6167_655f_7472; // "usage_tr"

/// Takes [`USAGE_TREE_LOCK`] shared, until the transaction ends (ingestion).
pub async fn hold_paths_for_ingestion(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind::<BigInt, _>(USAGE_TREE_LOCK)
        .execute(conn)
        .await
}

/// Takes [`USAGE_TREE_LOCK`] exclusive, until the transaction ends (a move).
pub async fn exclude_ingestion(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(USAGE_TREE_LOCK)
        .execute(conn)
        .await
}

/// The ids of the tenants with these (lower-case) subdomains.
pub async fn tenant_ids_by_subdomain(
    conn: &mut AsyncPgConnection,
    subdomains: &[String],
) -> QueryResult<std::collections::HashMap<String, i64>> {
    use crate::db::schema::tenants;
    if subdomains.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, i64)> = tenants::table
        .filter(tenants::subdomain.eq_any(subdomains))
        .select((tenants::subdomain, tenants::id))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// A batch already applied: what it was (its hash) and what it was answered.
#[derive(Clone, Debug, Queryable)]
pub struct AppliedBatch {
    pub request_hash: String,
    /// `None` only inside the transaction applying it.
    pub answer: Option<serde_json::Value>,
}

impl AppliedBatch {
    /// Claims `batch_id` for this batch: true when it is new. A copy of the same batch
    /// being applied at this moment makes this wait until that one commits (then
    /// false) or rolls back (then true).
    pub async fn claim(
        conn: &mut AsyncPgConnection,
        batch_id: &str,
        key_id: i64,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<bool> {
        let n = diesel::insert_into(usage_batches::table)
            .values((
                usage_batches::batch_id.eq(batch_id),
                usage_batches::key_id.eq(key_id),
                usage_batches::request_hash.eq(request_hash),
                usage_batches::received_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(n == 1)
    }

    pub async fn find(conn: &mut AsyncPgConnection, batch_id: &str) -> QueryResult<AppliedBatch> {
        usage_batches::table
            .find(batch_id)
            .select((usage_batches::request_hash, usage_batches::answer))
            .first(conn)
            .await
    }

    pub async fn answered(
        conn: &mut AsyncPgConnection,
        batch_id: &str,
        answer: &serde_json::Value,
    ) -> QueryResult<usize> {
        diesel::update(usage_batches::table.find(batch_id))
            .set(usage_batches::answer.eq(answer))
            .execute(conn)
            .await
    }
}

/// Counts to add: queries, blocked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub queries: i64,
    pub blocked: i64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.queries += other.queries;
        self.blocked += other.blocked;
    }
}

/// Counts per (tenant, day or month), in key order (the lock order of every writer
/// of these rows).
pub type CountsByKey = std::collections::BTreeMap<(i64, NaiveDate), Counts>;

/// The four columns of [`CountsByKey`], for `unnest`.
fn columns(rows: &CountsByKey) -> (Vec<i64>, Vec<NaiveDate>, Vec<i64>, Vec<i64>) {
    let (mut tenant, mut date, mut queries, mut blocked) = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for ((t, d), c) in rows {
        tenant.push(*t);
        date.push(*d);
        queries.push(c.queries);
        blocked.push(c.blocked);
    }
    (tenant, date, queries, blocked)
}

/// Adds a batch's own counts per day: one statement for the whole batch, each
/// (tenant, day) once, in key order.
pub async fn add_daily(conn: &mut AsyncPgConnection, daily: &CountsByKey) -> QueryResult<usize> {
    if daily.is_empty() {
        return Ok(0);
    }
    let (tenant, day, queries, blocked) = columns(daily);
    // unnest over arrays has no DSL form; four binds whatever the batch's size.
    diesel::sql_query(
        "INSERT INTO usage_daily AS u (tenant_id, day, queries, blocked) \
         SELECT * FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[]) \
         ON CONFLICT (tenant_id, day) DO UPDATE \
         SET queries = u.queries + EXCLUDED.queries, blocked = u.blocked + EXCLUDED.blocked",
    )
    .bind::<Array<BigInt>, _>(tenant)
    .bind::<Array<Date>, _>(day)
    .bind::<Array<BigInt>, _>(queries)
    .bind::<Array<BigInt>, _>(blocked)
    .execute(conn)
    .await
}

/// Appends what a batch adds to the months to `usage_pending`, for
/// [`fold_pending`]: per (tenant on an event's path, month) the tenant's own counts
/// (`own`, whose keys are among `subtree`'s: a path ends with its tenant) and its
/// subtree's. Append-only: no row another batch or the folder could hold.
pub async fn append_pending(
    conn: &mut AsyncPgConnection,
    own: &CountsByKey,
    subtree: &CountsByKey,
) -> QueryResult<usize> {
    if subtree.is_empty() {
        return Ok(0);
    }
    let (tenant, month, subtree_queries, subtree_blocked) = columns(subtree);
    let (queries, blocked): (Vec<i64>, Vec<i64>) = subtree
        .keys()
        .map(|key| own.get(key).map_or((0, 0), |c| (c.queries, c.blocked)))
        .unzip();
    diesel::sql_query(
        "INSERT INTO usage_pending \
         (tenant_id, month, queries, blocked, subtree_queries, subtree_blocked) \
         SELECT * FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[], \
                              $5::bigint[], $6::bigint[])",
    )
    .bind::<Array<BigInt>, _>(tenant)
    .bind::<Array<Date>, _>(month)
    .bind::<Array<BigInt>, _>(queries)
    .bind::<Array<BigInt>, _>(blocked)
    .bind::<Array<BigInt>, _>(subtree_queries)
    .bind::<Array<BigInt>, _>(subtree_blocked)
    .execute(conn)
    .await
}

/// Serialises folds: across processes, and with a move's fold (taken after
/// [`USAGE_TREE_LOCK`] by a move, alone by the folder; never the other way round).
const USAGE_FOLD_LOCK: i64 = 0x7573_6167_655f_666f; // "usage_fo"

/// What a fold did: how many deltas it took, and the tenant-months with a
/// monthly query quota whose own queries it raised (only those can cross a quota
/// threshold).
#[derive(Debug, Default)]
pub struct Folded {
    pub deltas: usize,
    pub grown: Vec<(i64, NaiveDate)>,
}

/// Folds every committed pending delta into `usage_monthly` (own and subtree) and
/// deletes it, in one statement: the deltas are summed per (tenant, month) first, so
/// each monthly row is written once per fold however many batches reached it, in
/// (tenant, month) order like every writer. Holds the fold lock until the
/// transaction ends, so two folds never take the same delta (the second one's
/// DELETE sees the first one's commit).
pub async fn fold_pending(conn: &mut AsyncPgConnection) -> QueryResult<Folded> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(USAGE_FOLD_LOCK)
        .execute(conn)
        .await?;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        folded: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        tenant_id: Option<i64>,
        #[diesel(sql_type = diesel::sql_types::Nullable<Date>)]
        month: Option<NaiveDate>,
    }
    // A data-modifying CTE runs once whether read or not; the answer is one row
    // with the count, or one per grown tenant-month under a quota.
    // The effective quota: own, else the plan's (`effective_limit!`).
    let rows: Vec<Row> = diesel::sql_query(concat!(
        "WITH taken AS (DELETE FROM usage_pending RETURNING *), \
         summed AS (SELECT tenant_id, month, sum(queries)::bigint AS q, \
                           sum(blocked)::bigint AS b, sum(subtree_queries)::bigint AS sq, \
                           sum(subtree_blocked)::bigint AS sb \
                    FROM taken GROUP BY tenant_id, month), \
         written AS (INSERT INTO usage_monthly AS u \
                         (tenant_id, month, queries, blocked, subtree_queries, subtree_blocked) \
                     SELECT tenant_id, month, q, b, sq, sb FROM summed \
                     ORDER BY tenant_id, month \
                     ON CONFLICT (tenant_id, month) DO UPDATE \
                     SET queries = u.queries + EXCLUDED.queries, \
                         blocked = u.blocked + EXCLUDED.blocked, \
                         subtree_queries = u.subtree_queries + EXCLUDED.subtree_queries, \
                         subtree_blocked = u.subtree_blocked + EXCLUDED.subtree_blocked \
                     RETURNING 1), \
         grown AS (SELECT s.tenant_id, s.month FROM summed s \
                   JOIN tenants t ON t.id = s.tenant_id \
                   WHERE s.q > 0 AND ",
        crate::effective_limit!("t", "monthly_query_quota"),
        " IS NOT NULL) \
         SELECT c.folded, g.tenant_id, g.month \
         FROM (SELECT count(*) AS folded FROM taken) c LEFT JOIN grown g ON true",
    ))
    .load(conn)
    .await?;
    Ok(Folded {
        deltas: rows.as_slice().first().map_or(0, |r| r.folded as usize),
        grown: rows
            .iter()
            .filter_map(|r| Some((r.tenant_id?, r.month?)))
            .collect(),
    })
}

/// Reclaims the space of the deltas folds have deleted, at once: `usage_pending` is
/// a queue (every row lives about one fold interval), and each fold's `DELETE` reads
/// every dead row still in the table, so without a vacuum between folds an idle
/// folder scanned a burst's hundreds of megabytes of dead rows every second
/// (measured: 500 ms a fold after 1.2 million events, with autovacuum off;
/// docs/PERFORMANCE.md). `SKIP_LOCKED`: another process's vacuum of it is as good.
/// `TRUNCATE false`: giving the empty tail back to the file system needs the table
/// alone, which batches appending all the time never leave it, and VACUUM waits up
/// to 5 s for that (measured: every fold 6 s late under load); a queue reuses the
/// space anyway. Not in a transaction (VACUUM cannot be).
pub async fn vacuum_pending(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("VACUUM (SKIP_LOCKED, TRUNCATE false) usage_pending")
        .execute(conn)
        .await
        .map(|_| ())
}

/// A subtree moves: the monthly subtree totals of `moved` leave the ancestors in
/// `leaving` and join those in `joining`, in one statement, rows in (tenant, month)
/// order. A leaving ancestor always has a row for each of those months (the usage
/// was added to it), so the proposed row, non-negative for the CHECKs, only ever
/// inserts for a joining one; the sign is decided on the conflict.
pub async fn shift_subtree_usage(
    conn: &mut AsyncPgConnection,
    moved: i64,
    leaving: &[i64],
    joining: &[i64],
) -> QueryResult<usize> {
    if leaving.is_empty() && joining.is_empty() {
        return Ok(0);
    }
    let all: Vec<i64> = leaving.iter().chain(joining).copied().collect();
    diesel::sql_query(
        "INSERT INTO usage_monthly AS u (tenant_id, month, subtree_queries, subtree_blocked) \
         SELECT a.id, m.month, m.subtree_queries, m.subtree_blocked \
         FROM usage_monthly m CROSS JOIN unnest($2::bigint[]) AS a(id) \
         WHERE m.tenant_id = $1 \
         ORDER BY a.id, m.month \
         ON CONFLICT (tenant_id, month) DO UPDATE SET \
         subtree_queries = u.subtree_queries + CASE WHEN u.tenant_id = ANY($3::bigint[]) \
             THEN -EXCLUDED.subtree_queries ELSE EXCLUDED.subtree_queries END, \
         subtree_blocked = u.subtree_blocked + CASE WHEN u.tenant_id = ANY($3::bigint[]) \
             THEN -EXCLUDED.subtree_blocked ELSE EXCLUDED.subtree_blocked END",
    )
    .bind::<BigInt, _>(moved)
    .bind::<Array<BigInt>, _>(all)
    .bind::<Array<BigInt>, _>(leaving.to_vec())
    .execute(conn)
    .await
}

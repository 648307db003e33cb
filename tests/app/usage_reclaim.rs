//! The folder's queue hygiene: the deltas a fold deletes from `usage_pending` are
//! vacuumed away at once (`services::usage::fold_and_reclaim`, what the folder of
//! `serve` runs), so the queue's table does not grow with every burst whether or not
//! autovacuum runs, and a fold never reads a past burst's dead rows.
//!
//! What is asserted is what the fold and reclaim guarantee themselves, not what any
//! one VACUUM manages to free: the queue is empty after each fold, a VACUUM ran on it
//! after each (the table's `vacuum_count`), none after a plain fold, and the table
//! stays within a bound that holds even if a vacuum could not free a burst's rows.
//! The database has no app on it (no background folder to take a burst, or outbox
//! and migration pollers holding snapshots) and autovacuum is off for the queue, so
//! nothing else vacuums it or holds its lock meanwhile (`VACUUM (SKIP_LOCKED)` would
//! skip then) whatever else runs in the cluster.

use crate::helpers::*;
use chrono::{NaiveDate, Utc};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenantry::db::models::usage::{append_pending, Counts, CountsByKey};
use tenantry::services::usage::{fold, fold_and_reclaim};

const BURST: usize = 4_000;
/// Bursts folded and reclaimed: without the vacuum the table would hold them all.
const BURSTS: usize = 8;

/// One batch's worth of pending deltas: the root, `BURST` different months.
async fn burst(conn: &mut AsyncPgConnection, root: i64) {
    let deltas: CountsByKey = (0..BURST as i32)
        .map(|i| {
            let month = NaiveDate::from_ymd_opt(2000 + i / 12, (i % 12) as u32 + 1, 1).unwrap();
            (
                (root, month),
                Counts {
                    queries: 1,
                    blocked: 0,
                },
            )
        })
        .collect();
    append_pending(conn, &deltas, &deltas).await.unwrap();
}

/// The one number `sql` answers (as `n`).
async fn number(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<Row>(conn)
        .await
        .unwrap()
        .n
}

/// The deltas still pending.
async fn pending_rows(conn: &mut AsyncPgConnection) -> i64 {
    number(conn, "SELECT count(*) AS n FROM usage_pending").await
}

/// The pages `usage_pending` takes on disk.
async fn pages(conn: &mut AsyncPgConnection) -> i64 {
    number(
        conn,
        "SELECT pg_relation_size('usage_pending') / current_setting('block_size')::bigint AS n",
    )
    .await
}

/// How many times `usage_pending` has been vacuumed by a `VACUUM` command (what
/// the folder runs; autovacuum counts apart). Each statement reads fresh statistics
/// (it is its own transaction); this backend's pending ones are flushed first.
async fn vacuums(conn: &mut AsyncPgConnection) -> i64 {
    diesel::sql_query("SELECT pg_stat_force_next_flush()")
        .execute(conn)
        .await
        .unwrap();
    number(
        conn,
        "SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = 'usage_pending'",
    )
    .await
}

#[tokio::test]
async fn every_fold_of_the_folder_vacuums_the_queue_it_emptied_and_a_plain_fold_does_not() {
    let (pool, root, _guard) = bare_database().await;
    let mut conn = pool.get().await.unwrap();
    diesel::sql_query("ALTER TABLE usage_pending SET (autovacuum_enabled = false)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let now = Utc::now();

    // Nothing pending: nothing folded, nothing to vacuum.
    let start = vacuums(&mut conn).await;
    assert_eq!(fold_and_reclaim(&mut conn, now).await.unwrap().deltas, 0);
    assert_eq!(vacuums(&mut conn).await, start);

    let mut one_burst = 0;
    for i in 0..BURSTS {
        let before = vacuums(&mut conn).await;
        burst(&mut conn, root.id).await;
        let done = fold_and_reclaim(&mut conn, now).await.unwrap();
        assert_eq!(done.deltas, BURST, "burst {i}: folded whole");
        assert_eq!(pending_rows(&mut conn).await, 0, "burst {i}");
        assert_eq!(
            vacuums(&mut conn).await,
            before + 1,
            "burst {i}: the fold's dead rows were vacuumed at once"
        );
        if i == 0 {
            one_burst = pages(&mut conn).await.max(1);
        }
    }
    // Each burst reuses the space the vacuum after the previous one freed. A vacuum
    // that could not free a burst's rows (a snapshot held meanwhile) leaves one more
    // burst's pages, and even two such in a row three bursts' worth: never the
    // eight that keeping every burst takes.
    let reclaimed = pages(&mut conn).await;
    assert!(
        reclaimed <= 3 * one_burst,
        "the queue grew from {one_burst} to {reclaimed} pages although every fold was vacuumed"
    );

    // A plain fold (what a move runs inside its transaction) vacuums nothing: the
    // folder's reclaim is what does.
    let before = vacuums(&mut conn).await;
    for i in 0..2 {
        burst(&mut conn, root.id).await;
        assert_eq!(fold(&mut conn, now).await.unwrap().deltas, BURST, "{i}");
        assert_eq!(pending_rows(&mut conn).await, 0);
    }
    assert_eq!(vacuums(&mut conn).await, before);

    // Every delta was counted once either way.
    let sum = number(
        &mut conn,
        &format!(
            "SELECT coalesce(sum(queries), 0)::bigint AS n FROM usage_monthly WHERE tenant_id = {}",
            root.id
        ),
    )
    .await;
    assert_eq!(sum, (BURSTS + 2) as i64 * BURST as i64);
}

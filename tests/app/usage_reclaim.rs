//! The folder's queue hygiene: the deltas a fold deletes from `usage_pending` are
//! vacuumed away at once (`services::usage::fold_and_reclaim`, what the folder of
//! `serve` runs), so the queue's table does not grow with every burst whether or not
//! autovacuum runs, and a fold never reads a past burst's dead rows.

use crate::helpers::*;
use chrono::NaiveDate;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use tenantry::db::models::usage::{append_pending, Counts, CountsByKey};

const BURST: usize = 4_000;

/// One batch's worth of pending deltas: the root, `BURST` different months.
async fn burst(app: &TestApp) {
    let deltas: CountsByKey = (0..BURST as i32)
        .map(|i| {
            let month = NaiveDate::from_ymd_opt(2000 + i / 12, (i % 12) as u32 + 1, 1).unwrap();
            (
                (app.root.id, month),
                Counts {
                    queries: 1,
                    blocked: 0,
                },
            )
        })
        .collect();
    append_pending(&mut *app.conn().await, &deltas, &deltas)
        .await
        .unwrap();
}

/// The deltas still pending.
async fn pending_rows(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM usage_pending")
        .get_result::<Row>(&mut *app.conn().await)
        .await
        .unwrap()
        .n
}

/// The pages `usage_pending` takes on disk.
async fn pages(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        pages: i64,
    }
    diesel::sql_query(
        "SELECT pg_relation_size('usage_pending') / current_setting('block_size')::bigint AS pages",
    )
    .get_result::<Row>(&mut *app.conn().await)
    .await
    .unwrap()
    .pages
}

// Run alone (`cargo test --features failpoints --test app usage_reclaim -- --ignored`):
// in the parallel suite, snapshots held by other tests (CREATE DATABASE from the
// template) keep VACUUM from freeing rows, and the page counts go either way.
#[tokio::test]
#[ignore = "needs a quiet cluster: run alone with --ignored"]
async fn the_folders_runs_leave_no_dead_queue_behind_and_plain_folds_would() {
    let app = spawn_app().await;
    let reclaim = || async {
        tenantry::services::usage::fold_and_reclaim(&mut *app.conn().await, app.clock.now())
            .await
            .expect("fold")
            .deltas
    };
    // The background folder's first run (at start-up, then hourly in tests) may take
    // a burst before `reclaim` does: it runs the same `fold_and_reclaim`.
    burst(&app).await;
    reclaim().await;
    assert_eq!(pending_rows(&app).await, 0);
    let after_one = pages(&app).await;
    for _ in 0..4 {
        burst(&app).await;
        reclaim().await;
        assert_eq!(pending_rows(&app).await, 0);
    }
    let after_five = pages(&app).await;
    // Without the vacuum five bursts take about five times the first one's pages. A
    // snapshot held elsewhere in the cluster (tests creating databases at the same
    // moment) can keep a vacuum from freeing the last bursts' rows, so allow two
    // more bursts' worth, not five.
    assert!(
        after_five <= 3 * after_one.max(1),
        "the queue grew from {after_one} to {after_five} pages although each fold was vacuumed"
    );
    // The same bursts folded without the vacuum: each leaves its pages behind (the
    // first may reuse the space the last vacuum freed).
    for _ in 0..4 {
        burst(&app).await;
        assert_eq!(app.fold_usage().await, BURST);
    }
    let unreclaimed = pages(&app).await;
    assert!(
        unreclaimed >= after_five + 2 * after_one.max(1),
        "without the vacuum the queue should have grown: {after_five} → {unreclaimed} pages"
    );
    // Every delta was counted once either way.
    #[derive(diesel::QueryableByName)]
    struct Sum {
        #[diesel(sql_type = BigInt)]
        q: i64,
    }
    let sum = diesel::sql_query(
        "SELECT coalesce(sum(queries), 0)::bigint AS q FROM usage_monthly WHERE tenant_id = $1",
    )
    .bind::<BigInt, _>(app.root.id)
    .get_result::<Sum>(&mut *app.conn().await)
    .await
    .unwrap();
    assert_eq!(sum.q, 9 * BURST as i64);
}

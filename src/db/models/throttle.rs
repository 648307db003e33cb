//! Failed-login counters with a fixed window, shared by every app process.
//! A counter's window starts at its first counted attempt and lasts `WINDOW_SECS`.

use crate::db::schema::login_throttle;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Length of the counting window in seconds.
pub const WINDOW_SECS: i64 = 15 * 60;

/// Windows that started after this are still running at `now`.
fn window_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::seconds(WINDOW_SECS)
}

/// Failures counted for `key` within the current window.
pub async fn failures(
    conn: &mut AsyncPgConnection,
    key: &str,
    now: DateTime<Utc>,
) -> QueryResult<i32> {
    let since = window_since(now);
    Ok(login_throttle::table
        .filter(login_throttle::key.eq(key))
        .filter(login_throttle::window_start.gt(since))
        .select(login_throttle::failures)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(0))
}

/// Counts one attempt for `key` (a new window when the old one ran out) and returns
/// the count, atomically: concurrent guesses cannot all slip under the limit.
pub async fn count_attempt(
    conn: &mut AsyncPgConnection,
    key: &str,
    now: DateTime<Utc>,
) -> QueryResult<i32> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Integer, Timestamptz};
    // The app's clock rather than the database's, so tests can move the window; the
    // processes' clocks agree to well under a second, the window is 15 minutes.
    let since = window_since(now);
    diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::key.eq(key),
            login_throttle::failures.eq(1),
            login_throttle::window_start.eq(now),
        ))
        .on_conflict(login_throttle::key)
        .do_update()
        .set((
            login_throttle::failures.eq(sql::<Integer>("CASE WHEN login_throttle.window_start > ")
                .bind::<Timestamptz, _>(since)
                .sql(" THEN login_throttle.failures + 1 ELSE 1 END")),
            login_throttle::window_start.eq(sql::<Timestamptz>(
                "CASE WHEN login_throttle.window_start > ",
            )
            .bind::<Timestamptz, _>(since)
            .sql(" THEN login_throttle.window_start ELSE ")
            .bind::<Timestamptz, _>(now)
            .sql(" END")),
        ))
        .returning(login_throttle::failures)
        .get_result(conn)
        .await
}

/// Takes back one counted attempt (it succeeded).
pub async fn forgive(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<usize> {
    diesel::update(login_throttle::table.find(key))
        .set(
            login_throttle::failures.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                "GREATEST(failures - 1, 0)",
            )),
        )
        .execute(conn)
        .await
}

pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<usize> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .await
}

pub async fn delete_stale(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(login_throttle::table.filter(login_throttle::window_start.le(window_since(now))))
        .execute(conn)
        .await
}

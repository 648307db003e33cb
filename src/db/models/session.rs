//! Server-side session rows, shared by every app process.

use crate::db::schema::sessions;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

pub async fn upsert(
    conn: &mut AsyncPgConnection,
    key_hash: &str,
    state: serde_json::Value,
    user_id: Option<i64>,
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::key_hash.eq(key_hash),
            sessions::state.eq(&state),
            sessions::user_id.eq(user_id),
            sessions::expires_at.eq(expires_at),
        ))
        .on_conflict(sessions::key_hash)
        .do_update()
        .set((
            sessions::state.eq(&state),
            sessions::user_id.eq(user_id),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
}

/// How far a session's expiry may lag behind before a request extends it.
pub const TOUCH_SLACK: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Pushes a session's expiry to `expires_at` (sliding expiry, on every request), but
/// only once it has run down by more than `TOUCH_SLACK`: most page views then read
/// the session without writing it.
pub async fn touch(
    conn: &mut AsyncPgConnection,
    key_hash: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(sessions::table.find(key_hash))
        .filter(sessions::expires_at.lt(expires_at - TOUCH_SLACK))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, key_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(key_hash))
        .execute(conn)
        .await
}

pub async fn delete_expired(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now)))
        .execute(conn)
        .await
}

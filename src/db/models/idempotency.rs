//! `Idempotency-Key`s of API POSTs: the first request's response, kept for 24 hours.

use crate::db::schema::idempotency_keys;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// How long a key is remembered.
pub const KEEP_HOURS: i32 = 24;

/// Keys made before this are forgotten at `now`.
fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::hours(i64::from(KEEP_HOURS))
}

/// What the first request with a key left behind.
#[derive(Clone, Debug, Queryable)]
pub struct StoredResponse {
    pub request_hash: String,
    /// `None` while that request has not finished (it failed without an answer).
    pub status: Option<i32>,
    pub body: Option<String>,
    pub location: Option<String>,
}

/// Claims `key` for this request inside the caller's transaction: `None` when it is
/// ours now, or what an earlier request with the same key stored. A concurrent
/// request with the same key waits here until the first one's transaction ends.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<StoredResponse>> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(user_id))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::created_at.lt(cutoff(now))),
    )
    .execute(conn)
    .await?;
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(user_id))
        .filter(idempotency_keys::key.eq(key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response_body,
            idempotency_keys::location,
        ))
        .first(conn)
        .await
        .optional()
}

/// Stores the response of the request that claimed `key`.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    key: &str,
    status: u16,
    body: &str,
    location: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(user_id))
            .filter(idempotency_keys::key.eq(key)),
    )
    .set((
        idempotency_keys::status.eq(Some(i32::from(status))),
        idempotency_keys::response_body.eq(Some(body)),
        idempotency_keys::location.eq(location),
    ))
    .execute(conn)
    .await
}

/// Forgets keys older than 24 hours (periodic cleanup).
pub async fn delete_expired(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff(now))))
        .execute(conn)
        .await
}

//! How changes wait for each other: a bounded lock wait inside a transaction, and
//! which database errors mean "another change got there first, try again".

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// How long a change waits for a lock (`set_lock_timeout`).
pub const LOCK_TIMEOUT: &str = "3s";

/// Bounds every lock wait of the current transaction, so a change that waits on
/// another fails (and can be retried) instead of hanging. (A statement can do it
/// as a side effect instead: `set_config('lock_timeout', LOCK_TIMEOUT, true)`.)
pub async fn set_lock_timeout(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query(format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Did the statement fail only because another change held the same rows (a lock
/// wait ran out, a deadlock, a serialization failure)? Nothing was changed then.
pub fn is_busy(e: &Error) -> bool {
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        // PostgreSQL's lock_not_available and deadlock_detected have no kind of their own.
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            info.message().contains("lock timeout") || info.message().contains("deadlock detected")
        }
        _ => false,
    }
}

/// Runs `body` in a transaction (a savepoint when one is open): committed when it
/// returns `Ok`, rolled back otherwise. Unlike `AsyncConnection::transaction` it does
/// not need a `Send` closure, so handlers can pass closures over request data.
pub async fn in_transaction<T, E, F>(conn: &mut AsyncPgConnection, body: F) -> Result<T, E>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel_async::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::begin_transaction(conn).await?;
    match body(conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(conn).await?;
            Err(e)
        }
    }
}

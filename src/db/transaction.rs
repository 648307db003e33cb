//! How changes wait for each other: a bounded lock wait inside a transaction, and
//! which database errors mean "another change got there first, try again".

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Bounds every lock wait of the current transaction, so a change that waits on
/// another fails (and can be retried) instead of hanging.
pub async fn set_lock_timeout(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SET LOCAL lock_timeout = '3s'")
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

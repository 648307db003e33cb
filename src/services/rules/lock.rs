//! The one guard of a tenant's rule configuration. Every writing transaction of
//! rules, applications, domains and credential-stuffing settings calls [`begin`]
//! first: it locks the tenant's `rule_sets` row FOR UPDATE, then refuses (423,
//! `AppError::Locked`) while a `rule_locks` row exists. A migration (part B) locks
//! the same row before inserting its lock row, so a write and a migration never
//! interleave: either the write commits first and the migration copies it, or the
//! migration's lock is committed and the write sees it. Reads call [`check`].

use crate::db::models::rule_migration::RuleMigration;
use crate::db::models::rules::{lock_head, RuleLock};
use crate::db::set_lock_timeout;
use crate::domain::rules::LockNotice;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel_async::AsyncPgConnection;

/// Inside a transaction: locks the tenant's rule-set head and returns its current
/// version, or `AppError::Locked` while the tenant is locked.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    set_lock_timeout(conn).await?;
    let version = lock_head(conn, tenant_id, now).await?;
    check(conn, tenant_id).await?;
    Ok(version)
}

/// `AppError::Locked` while the tenant's rule configuration is locked (reads: the
/// pages and the ruleset API answer 423 with who holds it).
pub async fn check(conn: &mut AsyncPgConnection, tenant_id: i64) -> Result<(), AppError> {
    match RuleLock::find(conn, tenant_id).await? {
        None => Ok(()),
        Some((lock, login)) => {
            // The locked page shows the holding migration's progress (a plain read:
            // it never waits on the runner's row locks).
            let progress = match lock.migration_id {
                Some(id) => RuleMigration::find(conn, id)
                    .await
                    .optional()?
                    .map(|m| m.progress()),
                None => None,
            };
            Err(AppError::Locked(Box::new(LockNotice {
                tenant_id,
                migration_id: lock.migration_id,
                locked_by: login,
                since: lock.since,
                description: lock.description,
                progress,
            })))
        }
    }
}

//! The one guard of a tenant's rule configuration. Every writing transaction of
//! rules, applications, domains and credential-stuffing settings calls [`begin`]
//! first: it locks the tenant's `rule_sets` row FOR UPDATE, then refuses (423,
//! `AppError::Locked`) while a `rule_locks` row exists. A migration (part B) locks
//! the same row before inserting its lock row, so a write and a migration never
//! interleave: either the write commits first and the migration copies it, or the
//! migration's lock is committed and the write sees it. Reads call [`check`].

use crate::auth::{authz, Principal};
use crate::db::models::rule_migration::RuleMigration;
use crate::db::models::rules::{lock_head, RuleLock};
use crate::db::models::Tenant;
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
    p: &Principal,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    set_lock_timeout(conn).await?;
    let version = lock_head(conn, tenant_id, now).await?;
    check(conn, p, tenant_id).await?;
    Ok(version)
}

/// `AppError::Locked` while the tenant's rule configuration is locked (reads: the
/// pages and the ruleset API answer 423 with who holds it, named as `p` may see:
/// the other tenant of a migration only when `p` may see it, else "a tenant you
/// cannot see"; the starter as `authz::actor_for` names them).
pub async fn check(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant_id: i64,
) -> Result<(), AppError> {
    let Some((lock, holder)) = RuleLock::find(conn, tenant_id).await? else {
        return Ok(());
    };
    let locked_by = match holder {
        Some((login, home)) => {
            let home = Tenant::find(conn, home).await.optional()?;
            Some(authz::actor_for(p, lock.locked_by, home.as_ref(), &login))
        }
        None => None,
    };
    // The locked page shows the holding migration's progress (a plain read: it
    // never waits on the runner's row locks).
    let migration = match lock.migration_id {
        Some(id) => RuleMigration::find(conn, id).await.optional()?,
        None => None,
    };
    let (description, linked, may_resolve) = match &migration {
        // Rebuilt per reader: the stored text may name a tenant the reader cannot see.
        Some(m) => {
            let source = tenant(conn, m.source_tenant_id).await?;
            let target = tenant(conn, m.target_tenant_id).await?;
            let name = |t: &Option<Tenant>| {
                t.as_ref().map_or_else(
                    || authz::UNSEEN_TENANT.to_string(),
                    |t| authz::name_for(p, t),
                )
            };
            (
                format!(
                    "Migration #{} of the rules from {} to {}",
                    m.id,
                    name(&source),
                    name(&target)
                ),
                authz::can_see_migration(p, source.as_ref(), target.as_ref()),
                target
                    .as_ref()
                    .is_some_and(|t| authz::can_roll_back_migration(p, source.as_ref(), t)),
            )
        }
        None => (lock.description, false, false),
    };
    let source_deleted = migration
        .as_ref()
        .is_some_and(|m| m.source_tenant_id.is_none());
    Err(AppError::Locked(Box::new(LockNotice {
        tenant_id,
        migration_id: lock.migration_id,
        locked_by,
        since: lock.since,
        description,
        progress: migration.map(|m| m.progress()),
        linked,
        may_resolve,
        source_deleted,
    })))
}

/// A migration's tenant (`None`: deleted since).
async fn tenant(conn: &mut AsyncPgConnection, id: Option<i64>) -> Result<Option<Tenant>, AppError> {
    Ok(match id {
        Some(id) => Tenant::find(conn, id).await.optional()?,
        None => None,
    })
}

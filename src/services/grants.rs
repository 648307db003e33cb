//! Giving and revoking tenant-management grants, audited, guarding the last root Owner.

use super::Actor;
use crate::db::models::grant::GrantRow;
use crate::db::models::{Grant, Tenant, User};
use crate::domain::{GrantRole, Scope};
use crate::error::AppError;
use diesel_async::{AsyncConnection, AsyncPgConnection};

const LAST_OWNER: &str =
    "This is the last Owner of the root tenant; give the Owner role to someone else first.";

/// Would removing or weakening `user_id`'s grant on `tenant` leave the root without
/// an enabled Owner of its whole tree? Decided on the same locked list of root Owners
/// as disabling or deleting users (read after the locks, not from the grant the
/// caller loaded), so two administrators acting at once cannot remove the last two
/// Owners between them. Owners "of this tenant only" do not count.
async fn is_last_root_owner(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    user_id: i64,
) -> Result<bool, AppError> {
    if !tenant.is_root() {
        return Ok(false);
    }
    let owners = User::root_owners_locked(conn).await?;
    let is_owner = owners.iter().any(|(id, _)| *id == user_id);
    let another = owners
        .iter()
        .any(|(id, enabled)| *id != user_id && *enabled);
    Ok(is_owner && !another)
}

/// Gives (or changes) `user_id`'s grant on `tenant`.
pub async fn give(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    tenant: &Tenant,
    user_id: i64,
    role: GrantRole,
    scope: Scope,
    manage: bool,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        let before = Grant::existing(conn, user_id, tenant.id).await?;
        if let Some(old) = &before {
            // The last root Owner keeps an Owner grant over the whole tree.
            let weakened = role != GrantRole::Owner || scope != Scope::Subtree;
            if weakened && is_last_root_owner(conn, tenant, old.user_id).await? {
                return Err(AppError::Conflict(LAST_OWNER.into()));
            }
        }
        Grant::insert(conn, user_id, tenant.id, role, scope, manage).await?;
        let mut event = actor.event("grant.give", Some(tenant.id));
        event.before = before.map(|g| serde_json::json!({"user_id": g.user_id, "role": g.role.as_str(), "scope": g.scope.as_str(), "manage_subtenants": g.manage_subtenants}));
        event.after = Some(serde_json::json!({"user_id": user_id, "role": role.as_str(), "scope": scope.as_str(), "manage_subtenants": manage}));
        event.record(conn).await?;
        Ok(())
    })
    .await
}

pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    tenant: &Tenant,
    grant: &GrantRow,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        if is_last_root_owner(conn, tenant, grant.user_id).await? {
            return Err(AppError::Conflict(LAST_OWNER.into()));
        }
        Grant::delete(conn, grant.id).await?;
        let mut event = actor.event("grant.revoke", Some(tenant.id));
        event.before = Some(serde_json::json!({"user_id": grant.user_id, "role": grant.role.as_str(), "scope": grant.scope.as_str(), "manage_subtenants": grant.manage_subtenants}));
        event.record(conn).await?;
        Ok(())
    })
    .await
}

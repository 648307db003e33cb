//! Giving and revoking tenant-management grants, audited, guarding the last root Owner.
//! Both take the acting [`Principal`] and decide its rights with `authz`; the caller
//! has read the tenant with `authz::visible_tenant` (404).

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::grant::GrantRow;
use crate::db::models::{Grant, Tenant, User};
use crate::domain::{Feature, GrantRole, Level, Scope};
use crate::error::AppError;
use crate::services::tenants::Parsed;
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// The field error for a user the granter may not pick (unknown or not visible).
pub const CHOOSE_USER: &str = "Choose a user from the list.";
/// The field error for a grant stronger than the granter's own.
pub const STRONGER: &str =
    "You cannot give a grant stronger than your own (role, scope or “may manage sub-tenants”).";

/// A grant's terms: role, scope and "may manage sub-tenants".
pub type Terms = (GrantRole, Scope, bool);

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

/// Gives (or changes) the grant of the user `user_id` names on `tenant` as `p`, and
/// returns that user. It takes Users Full there and a grant role `p` may give at
/// all (403); the user must be one `p` can see (else the field error on `user_id`,
/// whether or not they exist), and with the input's field errors reported at once.
/// Replacing a grant `p` could not revoke is 403; a grant stronger than `p`'s own
/// is a field error on `role`.
pub async fn give(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    user_id: Option<i64>,
    terms: Parsed<Terms>,
) -> Result<Principal, AppError> {
    authz::require(p, tenant, Feature::Users, Level::Full)?;
    if authz::grantable_roles(p, tenant).is_empty() {
        return Err(AppError::Forbidden);
    }
    let subject = match user_id {
        Some(id) => Principal::load(conn, id)
            .await?
            .filter(|s| authz::can_see(p, &s.home)),
        None => None,
    };
    let mut errors = terms.as_ref().err().cloned().unwrap_or_default();
    if subject.is_none() {
        errors.insert("user_id", CHOOSE_USER.into());
    }
    let (Some(subject), Ok((role, scope, manage))) = (subject, terms) else {
        return Err(AppError::Validation(errors));
    };
    let old = Grant::existing(conn, subject.user.id, tenant.id)
        .await?
        .map(|g| (g.role, g.scope, g.manage_subtenants));
    if !authz::can_replace_grant(p, tenant, old) {
        return Err(AppError::Forbidden);
    }
    if !authz::can_give_grant(p, tenant, role, scope, manage) {
        return Err(AppError::field("role", STRONGER));
    }
    store(conn, actor, tenant, subject.user.id, (role, scope, manage)).await?;
    Ok(subject)
}

async fn store(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    tenant: &Tenant,
    user_id: i64,
    (role, scope, manage): Terms,
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

/// 403 unless `p` may revoke `grant` on `tenant` (what [`revoke`] checks first, also
/// asked before its confirmation is shown).
pub fn require_revocable(p: &Principal, tenant: &Tenant, grant: &GrantRow) -> Result<(), AppError> {
    if authz::can_revoke_grant(
        p,
        tenant,
        (grant.role, grant.scope, grant.manage_subtenants),
    ) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Revokes `grant`, one on `tenant`, as `p`: only a grant `p` could give (403).
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    grant: &GrantRow,
) -> Result<(), AppError> {
    require_revocable(p, tenant, grant)?;
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

//! The one place that decides what a user may see and do.
//!
//! Every decision derives from the user's home tenant and grants (loaded once per
//! request) and the target tenant's `path`: "is A above B" is a lookup in B's path,
//! never a walk up the tree. Handlers call these functions; none decides on its own.

use super::CurrentUser;
use crate::db::models::{Tenant, Visibility};
use crate::domain::{Feature, GrantRole, Level, Scope};
use crate::error::AppError;
use diesel_async::AsyncPgConnection;

/// The strongest grant role the user holds over this tenant, if any.
pub fn grant_role(user: &CurrentUser, tenant: &Tenant) -> Option<GrantRole> {
    user.grants
        .iter()
        .filter(|g| g.covers(tenant.id, &tenant.path))
        .map(|g| g.role)
        .max()
}

/// May the user see this tenant at all? Unseen tenants answer 404.
pub fn can_see(user: &CurrentUser, tenant: &Tenant) -> bool {
    tenant.id == user.home.id || grant_role(user, tenant).is_some()
}

/// The effective level of (user, tenant, feature).
///
/// A grant over the tenant gives Full (Owner, Administrator) or Read (Viewer); a
/// user in their home tenant without a grant reads it. Everything is capped by the
/// tenant's role (all tenants have the full-access role until tenant roles land).
pub fn effective_level(user: &CurrentUser, tenant: &Tenant, _feature: Feature) -> Level {
    match grant_role(user, tenant) {
        Some(role) => role.level(),
        None if tenant.id == user.home.id => Level::Read,
        None => Level::None,
    }
}

/// The tenants the user may see, as a database filter.
pub fn visibility(user: &CurrentUser) -> Visibility {
    let mut subtree_roots = Vec::new();
    let mut tenants = vec![user.home.id];
    for g in &user.grants {
        match g.scope {
            Scope::Subtree => subtree_roots.push(g.tenant_id),
            Scope::Tenant => tenants.push(g.tenant_id),
        }
    }
    // A subtree grant on the root sees everything: no filter at all.
    if user.home.is_root() && subtree_roots.contains(&user.home.id) {
        return Visibility::All;
    }
    Visibility::Within {
        subtree_roots,
        tenants,
    }
}

/// Loads a tenant the user may see, or 404 — the same answer as for a missing id.
pub async fn visible_tenant(
    user: &CurrentUser,
    id: i64,
    conn: &mut AsyncPgConnection,
) -> Result<Tenant, AppError> {
    let tenant = Tenant::find(conn, id).await?;
    if can_see(user, &tenant) {
        Ok(tenant)
    } else {
        Err(AppError::NotFound)
    }
}

/// 403 unless the user holds at least `level` on `feature` in `tenant`.
pub fn require(
    user: &CurrentUser,
    tenant: &Tenant,
    feature: Feature,
    level: Level,
) -> Result<(), AppError> {
    if effective_level(user, tenant, feature) >= level {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// May the user create, edit or disable children of `parent`? It takes an Owner or
/// Administrator grant over the parent that carries "may manage sub-tenants".
pub fn can_manage_children(user: &CurrentUser, parent: &Tenant) -> bool {
    manage_role(user, parent).is_some_and(|r| r >= GrantRole::Administrator)
}

/// May the user delete children of `parent`? Only an Owner that manages sub-tenants.
pub fn can_delete_children(user: &CurrentUser, parent: &Tenant) -> bool {
    manage_role(user, parent) == Some(GrantRole::Owner)
}

fn manage_role(user: &CurrentUser, parent: &Tenant) -> Option<GrantRole> {
    if effective_level(user, parent, Feature::Tenants) < Level::Full {
        return None;
    }
    user.grants
        .iter()
        .filter(|g| g.manage_subtenants && g.covers(parent.id, &parent.path))
        .map(|g| g.role)
        .max()
}

/// May the user edit this tenant's own settings? Children are edited by whoever
/// manages their parent; the root by its Owners and Administrators.
pub fn can_edit(user: &CurrentUser, tenant: &Tenant, parent: Option<&Tenant>) -> bool {
    match parent {
        Some(p) => can_manage_children(user, p),
        None => grant_role(user, tenant).is_some_and(|r| r >= GrantRole::Administrator),
    }
}

pub fn require_edit(
    user: &CurrentUser,
    tenant: &Tenant,
    parent: Option<&Tenant>,
) -> Result<(), AppError> {
    if can_edit(user, tenant, parent) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// May the user delete this tenant? Never the root; otherwise an Owner over its parent.
pub fn can_delete(user: &CurrentUser, tenant: &Tenant, parent: Option<&Tenant>) -> bool {
    match parent {
        Some(p) if !tenant.is_root() => can_delete_children(user, p),
        _ => false,
    }
}

/// Index in `path` from which the user may see tenant names (breadcrumbs, paths):
/// their home tenant or the highest tenant they hold a grant on.
pub fn visible_path_start(user: &CurrentUser, path: &[i64]) -> usize {
    path.iter()
        .position(|id| *id == user.home.id || user.grants.iter().any(|g| g.tenant_id == *id))
        .unwrap_or(path.len().saturating_sub(1))
}

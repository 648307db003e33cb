//! User roles, multi-tenant templates and tenant roles: create, edit, delete, audited.
//! Each takes the acting [`Principal`] and decides its rights with `authz`: the right
//! to edit the roles (403), templates for root administrators only, and no role with
//! more rights than the principal holds itself (a field error on `permissions`).
//! The caller has read the tenant with `authz::visible_tenant` (404).

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::role::{TenantRole, UserRole};
use crate::db::models::Tenant;
use crate::domain::activity::{changed_only, Action};
use crate::domain::{Feature, Permissions, RoleName};
use crate::error::AppError;
use crate::services::tenants::Parsed;
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// A role's name and permissions, converted (or their field errors).
pub type RoleFields = Parsed<(RoleName, Permissions)>;

/// The field error for a template asked for where `p` may not define one.
pub const TEMPLATES_IN_ROOT: &str =
    "Multi-tenant roles are defined in the root tenant by its administrators.";

/// The field error for rights the editor does not hold.
pub fn escalation_error(features: &[Feature]) -> String {
    let names: Vec<&str> = features.iter().map(|f| f.label()).collect();
    format!(
        "You cannot give more rights than you hold yourself ({}).",
        names.join(", ")
    )
}

/// A field error on `permissions` if they give more than `p` holds in `tenant`.
fn within_own(p: &Principal, tenant: &Tenant, permissions: &Permissions) -> Result<(), AppError> {
    let too_much = authz::exceeds_own(p, tenant, permissions);
    match too_much.is_empty() {
        true => Ok(()),
        false => Err(AppError::field("permissions", escalation_error(&too_much))),
    }
}

/// A tenant role's fields as `p` may set them: only root administrators define
/// tenant roles (403), and none with more rights than `p` holds at home.
fn tenant_role_fields(
    p: &Principal,
    fields: RoleFields,
) -> Result<(RoleName, Permissions), AppError> {
    require(authz::can_manage_tenant_roles(p))?;
    let (name, permissions) = fields.map_err(AppError::Validation)?;
    within_own(p, &p.home, &permissions)?;
    Ok((name, permissions))
}

/// 403 unless `allowed`.
fn require(allowed: bool) -> Result<(), AppError> {
    allowed.then_some(()).ok_or(AppError::Forbidden)
}

fn snapshot(name: &str, permissions: &Permissions) -> serde_json::Value {
    serde_json::json!({ "name": name, "permissions": permissions.to_json() })
}

/// Creates a role in `tenant` as `p` (Roles Full there, else 403). A template (root
/// administrators only, else a field error on `multi_tenant`) is copied into every
/// tenant.
pub async fn create_user_role(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    fields: RoleFields,
    multi_tenant: bool,
) -> Result<UserRole, AppError> {
    require(authz::can_edit_roles(p, tenant))?;
    let (name, permissions) = &fields.map_err(AppError::Validation)?;
    if multi_tenant && !authz::can_define_templates(p, tenant) {
        return Err(AppError::field("multi_tenant", TEMPLATES_IN_ROOT));
    }
    within_own(p, tenant, permissions)?;
    if UserRole::name_taken(conn, tenant.id, name.as_str(), None).await? {
        return Err(AppError::field(
            "name",
            "A role with this name exists in this tenant.",
        ));
    }
    conn.transaction(async |conn| {
        let role =
            UserRole::insert(conn, tenant.id, name.as_str(), permissions, multi_tenant).await?;
        let copies = if multi_tenant {
            UserRole::copy_template_everywhere(conn, &role).await?
        } else {
            0
        };
        let mut event = actor.event(
            if multi_tenant {
                Action::RoleTemplateCreate
            } else {
                Action::RoleCreate
            },
            Some(tenant.id),
        );
        event.after = Some(
            serde_json::json!({ "role": snapshot(&role.name, permissions), "copies": copies }),
        );
        event.record(conn).await?;
        Ok(role)
    })
    .await
}

/// Saves `role`, one of `tenant`'s, as `p` (`authz::can_change_role`, else 403:
/// Roles Full, and a role giving no more than `p` holds). A
/// template pushes its permissions to linked copies; a copy edited in its tenant is
/// detached for good.
pub async fn update_user_role(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    role: &UserRole,
    fields: RoleFields,
) -> Result<(UserRole, usize), AppError> {
    require(authz::can_change_role(
        p,
        tenant,
        role.multi_tenant,
        &role.permissions,
    ))?;
    let (name, permissions) = &fields.map_err(AppError::Validation)?;
    within_own(p, tenant, permissions)?;
    if UserRole::name_taken(conn, role.tenant_id, name.as_str(), Some(role.id)).await? {
        return Err(AppError::field(
            "name",
            "A role with this name exists in this tenant.",
        ));
    }
    let before = snapshot(&role.name, &role.permissions);
    conn.transaction(async |conn| {
        let (saved, copies) = if role.multi_tenant {
            UserRole::update_template(conn, role.id, name.as_str(), permissions).await?
        } else {
            (UserRole::update(conn, role.id, name.as_str(), permissions).await?, 0)
        };
        let action = if role.multi_tenant {
            Action::RoleTemplateUpdate
        } else {
            Action::RoleUpdate
        };
        let mut event = actor.event(action, Some(role.tenant_id));
        event.before = Some(before);
        event.after = Some(serde_json::json!({
            "role": snapshot(&saved.name, &saved.permissions), "customised": saved.customised, "copies_updated": copies,
        }));
        event.record(conn).await?;
        Ok((saved, copies))
    })
    .await
}

/// Deletes `role`, one of `tenant`'s, as `p` (`authz::can_change_role`, else 403),
/// if nobody holds it. Deleting a template leaves its copies in place.
pub async fn delete_user_role(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    role: &UserRole,
) -> Result<(), AppError> {
    require(authz::can_change_role(
        p,
        tenant,
        role.multi_tenant,
        &role.permissions,
    ))?;
    conn.transaction(async |conn| {
        let holders = UserRole::users_with_role(conn, role.id).await?;
        if holders > 0 {
            return Err(AppError::Conflict(format!(
                "{} user(s) hold the role {}; give them another role first.",
                holders, role.name
            )));
        }
        let mut event = actor.event(
            if role.multi_tenant {
                Action::RoleTemplateDelete
            } else {
                Action::RoleDelete
            },
            Some(role.tenant_id),
        );
        event.before = Some(snapshot(&role.name, &role.permissions));
        event.record(conn).await?;
        UserRole::delete(conn, role.id).await?;
        Ok(())
    })
    .await
}

/// Creates a tenant role as `p` (root administrators only, else 403), with no more
/// rights than `p` holds at home.
pub async fn create_tenant_role(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    fields: RoleFields,
    public_clouds: Option<bool>,
) -> Result<TenantRole, AppError> {
    let (name, permissions) = &tenant_role_fields(p, fields)?;
    conn.transaction(async |conn| {
        let role = TenantRole::insert(conn, name.as_str(), permissions)
            .await
            .map_err(name_taken)?;
        if let Some(public) = public_clouds {
            TenantRole::set_public_clouds(conn, role.id, public).await?;
        }
        let mut event = actor.event(Action::TenantRoleCreate, about_root(p));
        event.after = Some(tenant_role_snapshot(conn, &role).await?);
        event.record(conn).await?;
        Ok(role)
    })
    .await
}

/// Saves a tenant role as `p` (root administrators only, else 403, with no more
/// rights than `p` holds at home); lowered rights apply to every user of its tenants
/// on their next request. Lowering a cap that tenants use is for root Owners; the
/// role is locked first, so no tenant takes it on between the check and the change.
pub async fn update_tenant_role(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    role: &TenantRole,
    fields: RoleFields,
    public_clouds: Option<bool>,
) -> Result<TenantRole, AppError> {
    let (name, permissions) = &tenant_role_fields(p, fields)?;
    conn.transaction(async |conn| {
        let current = TenantRole::lock(conn, role.id, true).await?;
        let was = tenant_role_snapshot(conn, &current).await?;
        let in_use = TenantRole::tenants_using(conn, role.id).await?;
        if let Err(message) = authz::tenant_role_edit(p, &current.permissions, permissions, in_use)
        {
            return Err(AppError::field("permissions", message));
        }
        let saved = TenantRole::update(conn, role.id, name.as_str(), permissions)
            .await
            .map_err(name_taken)?;
        if let Some(public) = public_clouds {
            let was = TenantRole::public_clouds(conn, role.id).await?;
            if let Err(message) = authz::public_clouds_edit(p, was, public, in_use) {
                return Err(AppError::field("public_clouds", message));
            }
            TenantRole::set_public_clouds(conn, role.id, public).await?;
        }
        // What changed (each cap a field of `permissions`), and which role.
        let is = tenant_role_snapshot(conn, &saved).await?;
        if let Some((was, is)) = changed_only(&was, &is, &["tenant_role_id", "name"]) {
            let mut event = actor.event(Action::TenantRoleUpdate, about_root(p));
            event.before = Some(was);
            event.after = Some(is);
            event.record(conn).await?;
        }
        Ok(saved)
    })
    .await
}

/// Deletes a tenant role no tenant has, as `p` (root administrators only, else 403).
pub async fn delete_tenant_role(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    role: &TenantRole,
) -> Result<(), AppError> {
    require(authz::can_manage_tenant_roles(p))?;
    conn.transaction(async |conn| {
        let used = TenantRole::tenants_using(conn, role.id).await?;
        if used > 0 {
            return Err(AppError::Conflict(format!(
                "{used} tenant(s) have the tenant role {}; assign them another one first.",
                role.name
            )));
        }
        let mut event = actor.event(Action::TenantRoleDelete, about_root(p));
        event.before = Some(tenant_role_snapshot(conn, role).await?);
        event.record(conn).await?;
        TenantRole::delete(conn, role.id).await?;
        Ok(())
    })
    .await
}

/// Tenant roles are the root's: their events are about it, so its activity shows
/// them (`p` manages tenant roles, so is homed in the root).
fn about_root(p: &Principal) -> Option<i64> {
    p.home.path.first().copied()
}

/// A tenant role as its events record it: which role, its name, whether its tenants
/// see the root's public clouds, and its cap on each feature.
async fn tenant_role_snapshot(
    conn: &mut AsyncPgConnection,
    role: &TenantRole,
) -> Result<serde_json::Value, AppError> {
    let public_clouds = TenantRole::public_clouds(conn, role.id).await?;
    Ok(serde_json::json!({
        "tenant_role_id": role.id, "name": role.name, "public_clouds": public_clouds,
        "permissions": role.permissions.to_json(),
    }))
}

fn name_taken(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AppError::field("name", "A tenant role with this name exists.")
        }
        _ => e.into(),
    }
}

//! User roles, multi-tenant templates and tenant roles: create, edit, delete, audited.

use super::Actor;
use crate::db::models::role::{TenantRole, UserRole};
use crate::db::models::Tenant;
use crate::domain::{Permissions, RoleName};
use crate::error::AppError;
use diesel_async::{AsyncConnection, AsyncPgConnection};

fn snapshot(name: &str, permissions: &Permissions) -> serde_json::Value {
    serde_json::json!({ "name": name, "permissions": permissions.to_json() })
}

/// Creates a role in `tenant`. A template (root only) is copied into every tenant.
pub async fn create_user_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    tenant: &Tenant,
    name: &RoleName,
    permissions: &Permissions,
    multi_tenant: bool,
) -> Result<UserRole, AppError> {
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
                "role.template.create"
            } else {
                "role.create"
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

/// Saves a role. A template pushes its permissions to linked copies; a copy edited
/// in its tenant is detached for good.
pub async fn update_user_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    role: &UserRole,
    name: &RoleName,
    permissions: &Permissions,
) -> Result<(UserRole, usize), AppError> {
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
        let action = if role.multi_tenant { "role.template.update" } else { "role.update" };
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

/// Deletes a role nobody holds. Deleting a template leaves its copies in place.
pub async fn delete_user_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    role: &UserRole,
) -> Result<(), AppError> {
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
                "role.template.delete"
            } else {
                "role.delete"
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

pub async fn create_tenant_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    name: &RoleName,
    permissions: &Permissions,
) -> Result<TenantRole, AppError> {
    conn.transaction(async |conn| {
        let role = TenantRole::insert(conn, name.as_str(), permissions)
            .await
            .map_err(name_taken)?;
        let mut event = actor.event("tenant_role.create", None);
        event.after = Some(snapshot(&role.name, &role.permissions));
        event.record(conn).await?;
        Ok(role)
    })
    .await
}

/// Saves a tenant role; lowered rights apply to every user of its tenants on their next request.
/// Saves a tenant role. Lowering a cap that tenants use is for root Owners; the role
/// is locked first, so no tenant takes it on between the check and the change.
pub async fn update_tenant_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    principal: &crate::auth::Principal,
    role: &TenantRole,
    name: &RoleName,
    permissions: &Permissions,
) -> Result<TenantRole, AppError> {
    conn.transaction(async |conn| {
        let current = TenantRole::lock(conn, role.id, true).await?;
        let in_use = TenantRole::tenants_using(conn, role.id).await?;
        if let Err(message) = crate::auth::authz::tenant_role_edit(
            principal,
            &current.permissions,
            permissions,
            in_use,
        ) {
            return Err(AppError::field("permissions", message));
        }
        let saved = TenantRole::update(conn, role.id, name.as_str(), permissions)
            .await
            .map_err(name_taken)?;
        let mut event = actor.event("tenant_role.update", None);
        event.before = Some(snapshot(&role.name, &role.permissions));
        event.after = Some(snapshot(&saved.name, &saved.permissions));
        event.record(conn).await?;
        Ok(saved)
    })
    .await
}

pub async fn delete_tenant_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    role: &TenantRole,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        let used = TenantRole::tenants_using(conn, role.id).await?;
        if used > 0 {
            return Err(AppError::Conflict(format!(
                "{used} tenant(s) have the tenant role {}; assign them another one first.",
                role.name
            )));
        }
        let mut event = actor.event("tenant_role.delete", None);
        event.before = Some(snapshot(&role.name, &role.permissions));
        event.record(conn).await?;
        TenantRole::delete(conn, role.id).await?;
        Ok(())
    })
    .await
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

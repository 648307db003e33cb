//! Creating, editing, enabling/disabling and deleting tenants, each in one transaction.

use super::Actor;
use crate::db::models::role::UserRole;
use crate::db::models::tenant::TenantFields;
use crate::db::models::Tenant;
use crate::domain::domain_name::parse_custom_domain;
use crate::domain::{Description, Subdomain, TenantName};
use crate::error::{AppError, FieldErrors};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// Raw form input for a tenant, before validation.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TenantInput {
    pub name: String,
    pub subdomain: String,
    pub description: String,
    pub custom_domain: String,
    pub parent_id: String,
    pub tenant_role_id: String,
    pub can_have_subtenants: Option<String>,
    pub enabled: Option<String>,
}

fn checked(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("true" | "on" | "1" | "yes"))
}

impl TenantInput {
    /// Parses the fields into valid values, or every field error at once.
    pub fn validate(
        &self,
        enabled_default: bool,
        base_domain: &str,
    ) -> Result<TenantFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = TenantName::parse(&self.name)
            .map_err(|e| errors.insert("name", e))
            .ok();
        let subdomain = Subdomain::parse(&self.subdomain)
            .map_err(|e| errors.insert("subdomain", e))
            .ok();
        let description = Description::parse(&self.description)
            .map_err(|e| errors.insert("description", e))
            .ok();
        let custom_domain = parse_custom_domain(&self.custom_domain, base_domain)
            .map_err(|e| errors.insert("custom_domain", e))
            .ok();
        match (name, subdomain, description, custom_domain) {
            (Some(name), Some(subdomain), Some(description), Some(custom_domain))
                if errors.is_empty() =>
            {
                Ok(TenantFields {
                    name: name.into_inner(),
                    subdomain: subdomain.into_inner(),
                    description: description.into_inner(),
                    custom_domain,
                    tenant_role_id: None,
                    can_have_subtenants: checked(&self.can_have_subtenants),
                    enabled: if self.enabled.is_some() {
                        checked(&self.enabled)
                    } else {
                        enabled_default
                    },
                })
            }
            _ => Err(errors),
        }
    }

    pub fn subtenants_checked(&self) -> bool {
        checked(&self.can_have_subtenants)
    }

    pub fn enabled_checked(&self) -> bool {
        checked(&self.enabled)
    }

    pub fn from_tenant(t: &Tenant) -> Self {
        Self {
            name: t.name.clone(),
            subdomain: t.subdomain.clone(),
            description: t.description.clone(),
            custom_domain: t.custom_domain.clone().unwrap_or_default(),
            tenant_role_id: t.tenant_role_id.to_string(),
            parent_id: t.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            can_have_subtenants: t.can_have_subtenants.then(|| "true".into()),
            enabled: t.enabled.then(|| "true".into()),
        }
    }
}

/// A taken subdomain or domain is a field error, whichever request won the race.
fn subdomain_taken(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            match info.constraint_name() {
                Some("tenants_subdomain") => {
                    AppError::field("subdomain", "This subdomain is already taken.")
                }
                Some("tenants_custom_domain") => {
                    AppError::field("custom_domain", "Another tenant already uses this domain.")
                }
                _ => e.into(),
            }
        }
        _ => e.into(),
    }
}

fn snapshot(t: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "name": t.name, "subdomain": t.subdomain, "description": t.description, "custom_domain": t.custom_domain,
        "enabled": t.enabled, "can_have_subtenants": t.can_have_subtenants, "parent_id": t.parent_id, "tenant_role_id": t.tenant_role_id,
    })
}

/// Creates a sub-tenant of `parent`, inheriting its tenant role.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    parent: &Tenant,
    fields: TenantFields,
) -> Result<Tenant, AppError> {
    let parent_id = parent.id;
    let role_id = fields.tenant_role_id.unwrap_or(parent.tenant_role_id);
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let parent = Tenant::lock_shared(conn, parent_id).await?;
        if !parent.can_have_subtenants {
            return Err(AppError::field(
                "parent_id",
                "This tenant may not have sub-tenants.",
            ));
        }
        let tenant = Tenant::insert_child(conn, &parent, role_id, &fields)
            .await
            .map_err(subdomain_taken)?;
        // Every multi-tenant role of the root arrives as a linked copy.
        UserRole::copy_templates_into(conn, parent.path[0], tenant.id).await?;
        let mut event = actor.event("tenant.create", Some(tenant.id));
        event.after = Some(snapshot(&tenant));
        event.record(conn).await?;
        Ok(tenant)
    })
    .await
}

/// Saves edited fields of a tenant. The root always stays enabled.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    mut fields: TenantFields,
) -> Result<Tenant, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let before = Tenant::lock(conn, id).await?;
        if before.is_root() {
            fields.enabled = true;
        }
        let after = Tenant::update_fields(conn, id, &fields)
            .await
            .map_err(subdomain_taken)?;
        let mut event = actor.event("tenant.update", Some(id));
        event.before = Some(snapshot(&before));
        event.after = Some(snapshot(&after));
        event.record(conn).await?;
        Ok(after)
    })
    .await
}

/// Enables or disables a tenant. Disabling ends its users' sessions on their next request.
pub async fn set_enabled(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<Tenant, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let before = Tenant::lock(conn, id).await?;
        if before.is_root() && !enabled {
            return Err(AppError::BadRequest(
                "The root tenant cannot be disabled.".into(),
            ));
        }
        let after = Tenant::set_enabled(conn, id, enabled).await?;
        let mut event = actor.event(
            if enabled {
                "tenant.enable"
            } else {
                "tenant.disable"
            },
            Some(id),
        );
        event.before = Some(snapshot(&before));
        event.after = Some(snapshot(&after));
        event.record(conn).await?;
        Ok(after)
    })
    .await
}

/// Deletes a tenant without sub-tenants. Locking the row first makes a concurrent
/// child insert (which holds FOR SHARE on its parent) either finish before us —
/// and then we see the child — or wait and fail on the missing parent.
pub async fn delete_leaf(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let tenant = Tenant::lock(conn, id).await?;
        if tenant.is_root() {
            return Err(AppError::BadRequest(
                "The root tenant cannot be deleted.".into(),
            ));
        }
        if Tenant::has_children(conn, id).await? {
            return Err(AppError::Conflict(
                "This tenant still has sub-tenants. Delete or move them first.".into(),
            ));
        }
        let mut event = actor.event("tenant.delete", Some(id));
        event.before = Some(snapshot(&tenant));
        event.record(conn).await?;
        Tenant::delete(conn, id).await?;
        Ok(())
    })
    .await
}

/// A change that waits on another for more than this fails with "try again" instead of hanging.
async fn set_lock_timeout(conn: &mut AsyncPgConnection) -> Result<(), AppError> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SET LOCAL lock_timeout = '3s'")
        .execute(conn)
        .await?;
    Ok(())
}

//! First start: the root tenant and the first administrator (a global administrator).

use super::Actor;
use crate::db::models::role::UserRole;
use crate::db::models::{user::NewUser, Grant, Tenant};
use crate::domain::activity::Action;
use crate::domain::{GrantRole, Level, Permissions, Scope, Subdomain, Username};
use diesel_async::{AsyncConnection, AsyncPgConnection};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created { tenant_id: i64, user_id: i64 },
    AlreadyBootstrapped,
}

pub const MIN_ADMIN_PASSWORD: usize = 10;

/// Creates the root tenant and its Owner (sub-tenant scope, may manage sub-tenants),
/// unless a root exists. Safe to run from several processes at once: the database
/// allows exactly one root.
pub async fn run(
    conn: &mut AsyncPgConnection,
    root_subdomain: &str,
    admin_username: &str,
    password_hash: &str,
) -> anyhow::Result<Outcome> {
    let subdomain = Subdomain::parse(root_subdomain)
        .map_err(|e| anyhow::anyhow!("TENANTRY_ROOT_SUBDOMAIN: {e}"))?;
    let username = Username::parse(admin_username)
        .map_err(|e| anyhow::anyhow!("TENANTRY_ADMIN_USERNAME: {e}"))?;
    if Tenant::root(conn).await?.is_some() {
        return Ok(Outcome::AlreadyBootstrapped);
    }
    let result = conn
        .transaction(async |conn| -> Result<Outcome, diesel::result::Error> {
            let root = Tenant::insert_root(conn, "Root", subdomain.as_str()).await?;
            let user = NewUser {
                tenant_id: root.id,
                username: username.as_str(),
                email: "",
                first_name: "",
                last_name: "",
                password_hash,
            }
            .insert(conn)
            .await?;
            Grant::insert(
                conn,
                user.id,
                root.id,
                GrantRole::Owner,
                Scope::Subtree,
                true,
            )
            .await?;
            let admin_role = UserRole::insert(
                conn,
                root.id,
                "Administrator",
                &Permissions::all(Level::Full),
                false,
            )
            .await?;
            UserRole::assign(conn, user.id, admin_role.id).await?;
            // Default templates, so every new tenant has roles for its users from the start.
            for (name, level) in [
                ("Tenant administrator", Level::Full),
                ("Read only", Level::Read),
            ] {
                UserRole::insert(conn, root.id, name, &Permissions::all(level), true).await?;
            }
            let mut event =
                Actor::system("bootstrap").event(Action::TenantBootstrap, Some(root.id));
            event.after = Some(serde_json::json!({"root": root.subdomain, "admin": user.username}));
            event.record(conn).await?;
            Ok(Outcome::Created {
                tenant_id: root.id,
                user_id: user.id,
            })
        })
        .await;
    match result {
        Ok(o) => Ok(o),
        // Another process created the root first.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(Outcome::AlreadyBootstrapped),
        Err(e) => Err(e.into()),
    }
}

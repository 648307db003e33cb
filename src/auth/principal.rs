//! A user as authorization sees them: home tenant, home role, grants, and the
//! tenant roles (caps) in force — everything a decision needs besides the target tenant.

use crate::db::models::role::{TenantRole, UserRole};
use crate::db::models::{Grant, Tenant, User};
use crate::db::schema::{user_roles, users};
use crate::domain::Permissions;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    pub home: Tenant,
    /// The user's role in their home tenant, if any.
    pub role: Option<UserRole>,
    pub grants: Vec<Grant>,
    /// Tenant roles by id: the caps of every tenant.
    pub caps: HashMap<i64, TenantRole>,
}

impl Principal {
    /// Loads a user for authorization: three indexed queries (user with home tenant and
    /// role, grants, tenant roles), once per request.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Option<Principal>> {
        let row: Option<(User, Tenant, Option<crate::db::models::role::UserRoleRow>)> =
            users::table
                .inner_join(crate::db::models::tenant::with_path())
                .left_join(user_roles::table)
                .filter(users::id.eq(user_id))
                .select((
                    User::as_select(),
                    Tenant::as_select(),
                    Option::<crate::db::models::role::UserRoleRow>::as_select(),
                ))
                .first(conn)
                .await
                .optional()?;
        let Some((user, home, role)) = row else {
            return Ok(None);
        };
        let grants = Grant::for_user(conn, user.id).await?;
        let caps = TenantRole::all(conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        Ok(Some(Principal {
            user,
            home,
            role: role.map(Into::into),
            grants,
            caps,
        }))
    }

    /// The cap of a tenant: its tenant role's permissions (none if the role is unknown).
    /// The root is never capped: a cap there could lock every Owner out of the page
    /// that would undo it.
    pub fn cap(&self, tenant: &Tenant) -> Permissions {
        if tenant.is_root() {
            return Permissions::all(crate::domain::Level::Full);
        }
        self.caps
            .get(&tenant.tenant_role_id)
            .map_or_else(Permissions::none, |r| r.permissions.clone())
    }

    pub fn cap_name(&self, tenant: &Tenant) -> String {
        if tenant.is_root() {
            return "not capped (root)".into();
        }
        self.caps
            .get(&tenant.tenant_role_id)
            .map_or_else(|| "(unknown)".into(), |r| r.name.clone())
    }

    pub fn login(&self) -> String {
        format!("{}\\{}", self.home.subdomain, self.user.username)
    }
}

//! A user as authorization sees them: home tenant, home role, grants, and the
//! tenant roles (caps) in force — everything a decision needs besides the target tenant.

use crate::db::models::principal::{self, PrincipalRow};
use crate::db::models::role::{TenantRole, UserRole};
use crate::db::models::{Grant, Tenant, User};
use crate::domain::Permissions;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
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

impl From<PrincipalRow> for Principal {
    fn from(row: PrincipalRow) -> Self {
        Principal {
            user: row.user,
            home: row.home,
            role: row.role.map(Into::into),
            grants: row.grants.into_iter().map(Grant::from).collect(),
            caps: row
                .tenant_roles
                .into_iter()
                .map(|r| (r.id, TenantRole::from(r)))
                .collect(),
        }
    }
}

impl Principal {
    /// Loads a user for authorization: one statement (user with home tenant and role,
    /// grants, tenant roles), once per request.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Option<Principal>> {
        Ok(principal::by_user(conn, user_id).await?.map(Into::into))
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
        crate::domain::login_name(&self.home.subdomain, &self.user.username)
    }
}

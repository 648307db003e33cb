//! Users: each belongs to one home tenant; usernames are unique per tenant.

use super::lower;
use crate::db::models::Tenant;
use crate::db::schema::{tenants, users};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub struct User {
    pub id: i64,
    pub tenant_id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: String,
    pub enabled: bool,
    pub source: String,
    pub session_epoch: i32,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    pub tenant_id: i64,
    pub username: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub password_hash: &'a str,
}

impl User {
    /// The user and home tenant behind a login name, in one query.
    pub async fn find_for_login(
        conn: &mut AsyncPgConnection,
        subdomain: &str,
        username: &str,
    ) -> QueryResult<Option<(User, Tenant)>> {
        users::table
            .inner_join(tenants::table)
            .filter(tenants::subdomain.eq(subdomain.to_ascii_lowercase()))
            .filter(lower(users::username).eq(username.to_lowercase()))
            .select((User::as_select(), Tenant::as_select()))
            .first(conn)
            .await
            .optional()
    }

    /// The user and home tenant for a session, in one query.
    pub async fn find_with_tenant(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Option<(User, Tenant)>> {
        users::table
            .inner_join(tenants::table)
            .filter(users::id.eq(id))
            .select((User::as_select(), Tenant::as_select()))
            .first(conn)
            .await
            .optional()
    }

    pub async fn record_login(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::last_login_at.eq(diesel::dsl::now))
            .execute(conn)
            .await
    }

    /// Ends every open session of this user (password change, disable).
    pub async fn end_sessions(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::session_epoch.eq(users::session_epoch + 1))
            .execute(conn)
            .await
    }

    pub async fn set_password(
        conn: &mut AsyncPgConnection,
        id: i64,
        password_hash: &str,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(password_hash),
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
    }

    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name, self.last_name);
        let full = full.trim();
        if full.is_empty() {
            self.username.clone()
        } else {
            full.to_string()
        }
    }
}

impl NewUser<'_> {
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values((
                users::tenant_id.eq(self.tenant_id),
                users::username.eq(self.username),
                users::email.eq(self.email),
                users::first_name.eq(self.first_name),
                users::last_name.eq(self.last_name),
                users::password_hash.eq(self.password_hash),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }
}

//! Users: each belongs to one home tenant; usernames are unique per tenant.

use super::lower;
use crate::db::models::Tenant;
use crate::db::schema::{tenants, users};
use crate::domain::UserSource;
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
    pub source: UserSource,
    pub session_epoch: i32,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub role_id: Option<i64>,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
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
    /// What the instances the user `id` owns use: storage and memory, in GB.
    pub async fn owned_sizes(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<(i64, i64)> {
        use crate::db::schema::instances;
        let (storage, memory): (Option<i64>, Option<i64>) = instances::table
            .filter(instances::owner_id.eq(id))
            .select((
                diesel::dsl::sum(instances::storage_gb),
                diesel::dsl::sum(instances::memory_gb),
            ))
            .get_result(conn)
            .await?;
        Ok((storage.unwrap_or(0), memory.unwrap_or(0)))
    }
    /// The user and home tenant behind a login name, in one query.
    pub async fn find_for_login(
        conn: &mut AsyncPgConnection,
        subdomain: &str,
        username: &str,
    ) -> QueryResult<Option<(User, Tenant)>> {
        users::table
            .inner_join(super::tenant::with_path())
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
            .inner_join(super::tenant::with_path())
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

    /// Ends the sessions of every user whose home is this tenant (a disable), so that
    /// re-enabling the tenant does not revive idle sessions.
    pub async fn end_sessions_in_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<usize> {
        diesel::update(users::table.filter(users::tenant_id.eq(tenant_id)))
            .set(users::session_epoch.eq(users::session_epoch + 1))
            .execute(conn)
            .await
    }

    /// [`User::end_sessions_in_tenant`] for many tenants, in one statement.
    pub async fn end_sessions_in_tenants(
        conn: &mut AsyncPgConnection,
        tenant_ids: &[i64],
    ) -> QueryResult<usize> {
        diesel::update(users::table.filter(users::tenant_id.eq_any(tenant_ids.to_vec())))
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

    /// Whether mail can reach the user: an email address is optional for accounts
    /// made before it was required (the bootstrap `admin`, for one).
    pub fn has_email(&self) -> bool {
        !self.email.trim().is_empty()
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

/// The fields the Users pages set on a user (validated by `services::users`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFields {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// A role of the user's own tenant; `None`: no rights there (visibility only).
    pub role_id: Option<i64>,
    pub enabled: bool,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
}

impl UserFields {
    /// The fields as they are stored now.
    pub fn of(user: &User) -> Self {
        Self {
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role_id: user.role_id,
            enabled: user.enabled,
            storage_limit_gb: user.storage_limit_gb,
            memory_limit_gb: user.memory_limit_gb,
        }
    }
}

/// "Username, email, first or last name or both names contain `pattern`" (a LIKE
/// pattern), as a filter on `users`.
macro_rules! name_matches {
    ($pattern:expr) => {{
        let pattern: String = $pattern;
        users::username
            .ilike(pattern.clone())
            .or(users::email.ilike(pattern.clone()))
            .or(users::first_name.ilike(pattern.clone()))
            .or(users::last_name.ilike(pattern.clone()))
            .or(users::first_name
                .concat(" ")
                .concat(users::last_name)
                .ilike(pattern))
    }};
}

pub(crate) use name_matches;

/// One found person: the user and their home tenant.
#[derive(Clone, Debug)]
pub struct PersonRow {
    pub user: User,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub tenant_subdomain: String,
}

impl PersonRow {
    /// The name they log in with (`subdomain\username`).
    pub fn login(&self) -> String {
        crate::domain::login_name(&self.tenant_subdomain, &self.user.username)
    }
}

/// Where people may be found: the visible tenants, and of those only the root and
/// tenants under these caps (`authz::people_scope`).
pub struct PeopleWhere<'a> {
    pub visibility: &'a super::Visibility,
    pub readable_caps: &'a [i64],
    /// Only the people homed in this tenant or below it.
    pub within: Option<i64>,
}

type PeopleQuery<'a> =
    diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<users::table, tenants::table>, Pg>;

impl PeopleWhere<'_> {
    /// The people in this scope (their rows joined with their home tenants').
    fn people(&self) -> PeopleQuery<'static> {
        use crate::db::schema::tenant_paths;
        let mut q = users::table
            .inner_join(tenants::table)
            .filter(
                tenants::parent_id
                    .is_null()
                    .or(tenants::tenant_role_id.eq_any(self.readable_caps.to_vec())),
            )
            .into_boxed();
        if let Some(visible) = super::tenant::visible_filter(self.visibility) {
            q = q.filter(visible);
        }
        if let Some(within) = self.within {
            q = q.filter(
                tenants::id.eq_any(
                    tenant_paths::table
                        .filter(tenant_paths::path.contains(vec![within]))
                        .select(tenant_paths::tenant_id),
                ),
            );
        }
        q
    }
}

/// One row of a tenant's Users page: the user and the name of their role.
#[derive(Clone, Debug)]
pub struct UserListRow {
    pub user: User,
    pub role_name: Option<String>,
}

impl User {
    /// Provisioned by an identity source (SCIM, a directory): names, username, email
    /// and password are managed there.
    pub fn is_managed(&self) -> bool {
        self.source != UserSource::Local
    }

    /// A user of this tenant; a user of another tenant is "not found".
    pub async fn find_in_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::id.eq(id))
            .filter(users::tenant_id.eq(tenant_id))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Locks the row for an update or delete in the current transaction.
    /// The id of the user's home tenant.
    pub async fn home_of(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i64> {
        users::table
            .find(id)
            .select(users::tenant_id)
            .first(conn)
            .await
    }

    pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<User> {
        users::table
            .find(id)
            .select(User::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// Is this username (case-insensitively) used by another user of the tenant?
    pub async fn username_taken(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        username: &str,
        except: Option<i64>,
    ) -> QueryResult<bool> {
        let mut q = users::table
            .filter(users::tenant_id.eq(tenant_id))
            .filter(lower(users::username).eq(username.to_lowercase()))
            .into_boxed();
        if let Some(id) = except {
            q = q.filter(users::id.ne(id));
        }
        diesel::select(diesel::dsl::exists(q))
            .get_result(conn)
            .await
    }

    /// One page of a tenant's users by username, filtered on username, name or
    /// email, with the total number of matches.
    pub async fn list_in_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        filter: Option<&str>,
        page: i64,
        per_page: i64,
    ) -> QueryResult<(Vec<UserListRow>, i64)> {
        use crate::db::schema::user_roles;
        let filtered = || {
            let mut q = users::table
                .filter(users::tenant_id.eq(tenant_id))
                .into_boxed();
            if let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) {
                q = q.filter(name_matches!(super::like_pattern(f)));
            }
            q
        };
        let total: i64 = filtered().count().get_result(conn).await?;
        let rows: Vec<(User, Option<String>)> = filtered()
            .left_join(user_roles::table)
            .order((lower(users::username).asc(), users::id.asc()))
            .limit(per_page)
            .offset((page - 1).max(0) * per_page)
            .select((User::as_select(), user_roles::name.nullable()))
            .load(conn)
            .await?;
        Ok((
            rows.into_iter()
                .map(|(user, role_name)| UserListRow { user, role_name })
                .collect(),
            total,
        ))
    }

    /// One page of the people matching `filter` (everyone when empty) where
    /// `scope` allows, by username, with the total; `exact` matches the username only,
    /// whole (case-insensitive), for resolving a typed name.
    pub async fn search_people(
        conn: &mut AsyncPgConnection,
        scope: &PeopleWhere<'_>,
        filter: &str,
        subdomain: Option<&str>,
        exact: bool,
        page: i64,
        per_page: i64,
    ) -> QueryResult<(Vec<PersonRow>, i64)> {
        let filter = filter.trim();
        // Subdomains are stored lower case: the unique btree answers this.
        let subdomain = subdomain.map(str::to_lowercase);
        let filtered = || {
            let mut q = scope.people();
            if let Some(s) = &subdomain {
                q = q.filter(tenants::subdomain.eq(s.clone()));
            }
            if exact {
                q = q.filter(lower(users::username).eq(filter.to_lowercase()));
            } else if !filter.is_empty() {
                q = q.filter(name_matches!(super::like_pattern(filter)));
            }
            q
        };
        let total: i64 = filtered().count().get_result(conn).await?;
        let rows: Vec<(User, i64, String, String)> = filtered()
            .order((
                lower(users::username).asc(),
                tenants::subdomain.asc(),
                users::id.asc(),
            ))
            .limit(per_page)
            .offset((page - 1).max(0) * per_page)
            .select((
                User::as_select(),
                tenants::id,
                tenants::name,
                tenants::subdomain,
            ))
            .load(conn)
            .await?;
        Ok((
            rows.into_iter()
                .map(
                    |(user, tenant_id, tenant_name, tenant_subdomain)| PersonRow {
                        user,
                        tenant_id,
                        tenant_name,
                        tenant_subdomain,
                    },
                )
                .collect(),
            total,
        ))
    }

    /// How many people `scope` finds, with no search text (the dashboard's Users
    /// card, where the tenants' maintained counts would say more).
    pub async fn count_people(
        conn: &mut AsyncPgConnection,
        scope: &PeopleWhere<'_>,
    ) -> QueryResult<i64> {
        scope.people().count().get_result(conn).await
    }

    /// Creates a local user with every field of the Users form.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        fields: &UserFields,
        password_hash: &str,
    ) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values((
                users::tenant_id.eq(tenant_id),
                users::username.eq(&fields.username),
                users::email.eq(&fields.email),
                users::first_name.eq(&fields.first_name),
                users::last_name.eq(&fields.last_name),
                users::password_hash.eq(password_hash),
                users::role_id.eq(fields.role_id),
                users::enabled.eq(fields.enabled),
                users::storage_limit_gb.eq(fields.storage_limit_gb),
                users::memory_limit_gb.eq(fields.memory_limit_gb),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    /// Saves the fields of the Users form (not the password, not the source).
    pub async fn update_fields(
        conn: &mut AsyncPgConnection,
        id: i64,
        fields: &UserFields,
    ) -> QueryResult<User> {
        diesel::update(users::table.find(id))
            .set((
                users::username.eq(&fields.username),
                users::email.eq(&fields.email),
                users::first_name.eq(&fields.first_name),
                users::last_name.eq(&fields.last_name),
                users::role_id.eq(fields.role_id),
                users::enabled.eq(fields.enabled),
                users::storage_limit_gb.eq(fields.storage_limit_gb),
                users::memory_limit_gb.eq(fields.memory_limit_gb),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    /// Enables or disables a user; disabling also ends their sessions.
    pub async fn set_enabled(
        conn: &mut AsyncPgConnection,
        id: i64,
        enabled: bool,
    ) -> QueryResult<User> {
        let bump = i32::from(!enabled);
        diesel::update(users::table.find(id))
            .set((
                users::enabled.eq(enabled),
                users::session_epoch.eq(users::session_epoch + bump),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes a user; their grants and sessions go with them.
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(users::table.find(id)).execute(conn).await
    }

    /// The current session epoch (after `set_password`, to keep the caller's session).
    pub async fn session_epoch(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i32> {
        users::table
            .find(id)
            .select(users::session_epoch)
            .first(conn)
            .await
    }

    /// Users holding Owner with sub-tenant scope on the root tenant (an Owner "of this
    /// tenant only" does not keep the root administrable), with their enabled flag.
    /// Their grants and then the users are locked until the end of the transaction, so
    /// that two administrators cannot revoke, narrow, disable or delete the last two
    /// Owners at once: whoever comes second waits, then reads what the first left.
    pub async fn root_owners_locked(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(i64, bool)>> {
        Ok(Self::root_owner_homes_locked(conn)
            .await?
            .into_iter()
            .map(|o| (o.user_id, o.can_log_in))
            .collect())
    }

    /// The root's Owners over the whole tree with their home tenants, locked like
    /// `root_owners_locked`. Homes are read after the locks, so two changes that
    /// each remove one of the last two Owners see each other's result.
    pub async fn root_owner_homes_locked(
        conn: &mut AsyncPgConnection,
    ) -> QueryResult<Vec<RootOwner>> {
        use crate::db::schema::{grants, tenant_paths};
        let root = tenants::table
            .filter(tenants::parent_id.is_null())
            .select(tenants::id);
        let ids: Vec<i64> = grants::table
            .filter(grants::tenant_id.eq_any(root))
            .filter(grants::role.eq(crate::domain::GrantRole::Owner))
            .filter(grants::scope.eq(crate::domain::Scope::Subtree))
            .order(grants::id.asc())
            .select(grants::user_id)
            .for_update()
            .load(conn)
            .await?;
        let locked: Vec<i64> = users::table
            .filter(users::id.eq_any(&ids))
            .order(users::id.asc())
            .select(users::id)
            .for_update()
            .load(conn)
            .await?;
        let rows: Vec<(i64, bool, bool, Vec<i64>)> = users::table
            .inner_join(tenants::table.on(tenants::id.eq(users::tenant_id)))
            .inner_join(tenant_paths::table.on(tenant_paths::tenant_id.eq(users::tenant_id)))
            .filter(users::id.eq_any(locked))
            .order(users::id.asc())
            .select((
                users::id,
                users::enabled,
                tenants::enabled,
                tenant_paths::path,
            ))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, enabled, home_enabled, home_path)| RootOwner {
                user_id,
                can_log_in: enabled && home_enabled,
                home_path,
            })
            .collect())
    }
}

/// An Owner of the root over the whole tree, as the last-Owner guards see them.
#[derive(Clone, Debug)]
pub struct RootOwner {
    pub user_id: i64,
    /// Enabled, at home in an enabled tenant: they can log in.
    pub can_log_in: bool,
    /// The path of their home tenant, root first.
    pub home_path: Vec<i64>,
}

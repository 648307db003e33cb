//! Tenant-management grants: Owner / Administrator / Viewer on a tenant.

use crate::db::models::user::PersonRow;
use crate::db::models::User;
use crate::db::schema::grants;
use crate::domain::{GrantRole, Scope};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = grants, check_for_backend(Pg))]
pub struct GrantRow {
    pub id: i64,
    pub user_id: i64,
    pub tenant_id: i64,
    pub role: GrantRole,
    pub scope: Scope,
    pub manage_subtenants: bool,
}

impl From<GrantRow> for Grant {
    fn from(r: GrantRow) -> Self {
        Grant {
            id: r.id,
            tenant_id: r.tenant_id,
            role: r.role,
            scope: r.scope,
            manage_subtenants: r.manage_subtenants,
        }
    }
}

/// A grant with its role and scope parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub id: i64,
    pub tenant_id: i64,
    pub role: GrantRole,
    pub scope: Scope,
    pub manage_subtenants: bool,
}

impl Grant {
    pub async fn for_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<Grant>> {
        let rows: Vec<GrantRow> = grants::table
            .filter(grants::user_id.eq(user_id))
            .select(GrantRow::as_select())
            .load(conn)
            .await?;
        Ok(rows.into_iter().map(Grant::from).collect())
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        tenant_id: i64,
        role: GrantRole,
        scope: Scope,
        manage_subtenants: bool,
    ) -> QueryResult<usize> {
        diesel::insert_into(grants::table)
            .values((
                grants::user_id.eq(user_id),
                grants::tenant_id.eq(tenant_id),
                grants::role.eq(role),
                grants::scope.eq(scope),
                grants::manage_subtenants.eq(manage_subtenants),
            ))
            .on_conflict((grants::user_id, grants::tenant_id))
            .do_update()
            .set((
                grants::role.eq(role),
                grants::scope.eq(scope),
                grants::manage_subtenants.eq(manage_subtenants),
            ))
            .execute(conn)
            .await
    }

    /// Does this grant reach the tenant with this path?
    pub fn covers(&self, tenant_id: i64, path: &[i64]) -> bool {
        self.tenant_id == tenant_id
            || (self.scope == Scope::Subtree && path.contains(&self.tenant_id))
    }
}

/// A grant as the Access page lists it.
#[derive(Clone, Debug, Queryable)]
pub struct GrantListRow {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub role: GrantRole,
    pub scope: Scope,
    pub manage_subtenants: bool,
    pub user_id: i64,
    pub username: String,
    pub user_subdomain: String,
}

impl GrantListRow {
    /// The holder's login (`subdomain\username`).
    pub fn login(&self) -> String {
        crate::domain::login_name(&self.user_subdomain, &self.username)
    }
}

/// Which of the grant candidates a typed reference to a user picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserMatch<'a> {
    /// Every candidate.
    Any,
    /// The login `subdomain\username`, whole (any case).
    Login {
        subdomain: &'a str,
        username: &'a str,
    },
    /// A username or an email, whole (any case).
    Exact(&'a str),
    /// Part of a username, email or name, and of the subdomain when one is typed
    /// before a backslash (`acme\al`): the search as one types.
    Containing {
        subdomain: Option<&'a str>,
        text: &'a str,
    },
}

impl<'a> UserMatch<'a> {
    /// What `typed` names exactly: a login when it has a backslash, else a username
    /// or an email.
    pub fn exactly(typed: &'a str) -> Self {
        match typed.split_once('\\') {
            Some((subdomain, username)) => Self::Login {
                subdomain,
                username,
            },
            None => Self::Exact(typed),
        }
    }

    /// Everyone whose details contain `typed` (a subdomain part before a backslash).
    pub fn containing(typed: &'a str) -> Self {
        match typed.split_once('\\') {
            Some((subdomain, text)) => Self::Containing {
                subdomain: Some(subdomain),
                text,
            },
            None => Self::Containing {
                subdomain: None,
                text: typed,
            },
        }
    }
}

impl Grant {
    /// Grants that reach `tenant`: on it, or with sub-tenant scope on an ancestor.
    pub async fn reaching(
        conn: &mut AsyncPgConnection,
        tenant: &crate::db::models::Tenant,
    ) -> QueryResult<Vec<GrantListRow>> {
        use crate::db::schema::{tenants, users};
        let (granted, home) = diesel::alias!(tenants as granted, tenants as home);
        grants::table
            .inner_join(users::table)
            .inner_join(granted.on(granted.field(tenants::id).eq(grants::tenant_id)))
            .inner_join(home.on(home.field(tenants::id).eq(users::tenant_id)))
            .filter(
                grants::tenant_id.eq(tenant.id).or(grants::tenant_id
                    .eq_any(tenant.path.clone())
                    .and(grants::scope.eq(Scope::Subtree))),
            )
            .order((grants::tenant_id.asc(), users::username.asc()))
            .select((
                grants::id,
                grants::tenant_id,
                granted.field(tenants::name),
                grants::role,
                grants::scope,
                grants::manage_subtenants,
                users::id,
                users::username,
                home.field(tenants::subdomain),
            ))
            .load(conn)
            .await
    }

    pub async fn find_on_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Option<GrantRow>> {
        grants::table
            .filter(grants::id.eq(id))
            .filter(grants::tenant_id.eq(tenant_id))
            .select(GrantRow::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn existing(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        tenant_id: i64,
    ) -> QueryResult<Option<GrantRow>> {
        grants::table
            .filter(grants::user_id.eq(user_id))
            .filter(grants::tenant_id.eq(tenant_id))
            .select(GrantRow::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(grants::table.find(id)).execute(conn).await
    }

    /// Users the granter may pick for `tenant`: the grant candidates (users of the
    /// tenant, of its ancestors and of its sub-tenants) whom the granter may find
    /// (`people`, the scope of `/users`; `authz::may_pick_grantee`); of those, the ones `matching` picks (and only the user `only`, when
    /// given), by login, up to `limit`, with the total.
    pub async fn candidates(
        conn: &mut AsyncPgConnection,
        tenant: &crate::db::models::Tenant,
        people: &crate::db::models::user::PeopleWhere<'_>,
        matching: UserMatch<'_>,
        only: Option<i64>,
        limit: i64,
    ) -> QueryResult<(Vec<PersonRow>, i64)> {
        use crate::db::models::user::name_matches;
        use crate::db::models::{like_pattern, lower, Visibility};
        use crate::db::schema::{tenant_paths, tenants, users};
        let filtered = || {
            let mut q = users::table
                .inner_join(crate::db::models::tenant::with_path())
                .filter(
                    tenant_paths::path
                        .contains(vec![tenant.id])
                        .or(tenants::id.eq_any(tenant.path.clone())),
                )
                .into_boxed();
            if let Visibility::Within {
                subtree_roots,
                tenants: singles,
            } = people.visibility
            {
                q = q.filter(
                    tenant_paths::path
                        .overlaps_with(subtree_roots.clone())
                        .or(tenants::id.eq_any(singles.clone())),
                );
            }
            q = q.filter(
                tenants::parent_id
                    .is_null()
                    .or(tenants::tenant_role_id.eq_any(people.readable_caps.to_vec())),
            );
            match matching {
                UserMatch::Any => {}
                UserMatch::Login {
                    subdomain,
                    username,
                } => {
                    q = q
                        .filter(lower(tenants::subdomain).eq(subdomain.to_lowercase()))
                        .filter(lower(users::username).eq(username.to_lowercase()));
                }
                UserMatch::Exact(text) => {
                    let text = text.to_lowercase();
                    q = q.filter(
                        lower(users::username)
                            .eq(text.clone())
                            .or(lower(users::email).eq(text)),
                    );
                }
                UserMatch::Containing { subdomain, text } => {
                    if let Some(subdomain) = subdomain.filter(|s| !s.is_empty()) {
                        q = q.filter(tenants::subdomain.ilike(like_pattern(subdomain)));
                    }
                    if !text.is_empty() {
                        q = q.filter(name_matches!(like_pattern(text)));
                    }
                }
            }
            if let Some(id) = only {
                q = q.filter(users::id.eq(id));
            }
            q
        };
        let total: i64 = filtered().count().get_result(conn).await?;
        let rows: Vec<(User, i64, String, String)> = filtered()
            .order((
                tenants::subdomain.asc(),
                lower(users::username).asc(),
                users::id.asc(),
            ))
            .limit(limit)
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
}

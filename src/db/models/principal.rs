//! Who is asking, in one statement: the user with home tenant and role, their grants
//! and every tenant role (the caps) — by user id, or by session key together with
//! the session itself, which is what every logged-in page starts with.
//!
//! The grants and the caps come as arrays of rows in the same result row; those two
//! subqueries are written out in SQL (the DSL has no `ARRAY(SELECT …)`), as
//! expressions that keep the statement cacheable as a prepared statement. With the
//! session come the tenant it acts in (switched into) and the names on the acting
//! and home tenants' paths (the breadcrumb), and the acting tenant's effective
//! branding (the header, title and theme), so that no page looks them up again.

use super::grant::GrantRow;
use super::role::{TenantRoleRow, UserRoleRow};
use super::tenant::{with_path, WithPath};
use super::{Tenant, User};
use crate::db::schema::{api_tokens, sessions, tenants, user_roles, users};
use chrono::{DateTime, Utc};
use diesel::dsl::{AsSelect, InnerJoin, LeftJoin};
use diesel::expression::{is_aggregate, AppearsOnTable, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Jsonb, Nullable, Record, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A user as authorization needs them, straight from the database.
#[derive(Clone, Debug)]
pub struct PrincipalRow {
    pub user: User,
    pub home: Tenant,
    pub role: Option<UserRoleRow>,
    pub grants: Vec<GrantRow>,
    pub tenant_roles: Vec<TenantRoleRow>,
}

/// A live session (not expired) and, when it names an existing user, that user.
#[derive(Clone, Debug)]
pub struct SessionWithPrincipal {
    pub state: serde_json::Value,
    pub expires_at: DateTime<Utc>,
    pub principal: Option<SessionPrincipal>,
}

/// The user a session names, with what every page of theirs shows.
#[derive(Clone, Debug)]
pub struct SessionPrincipal {
    pub row: PrincipalRow,
    /// The tenant the session's state says the user acts in, if it exists (checked
    /// for visibility by the caller).
    pub acting: Option<Tenant>,
    /// Id and name of every tenant on the home and the acting tenant's paths.
    pub path_names: Vec<(i64, String)>,
    /// Id and name of every tenant on the path of the page's tenant, root first
    /// (empty when the page names none or it does not exist).
    pub page_path: Vec<(i64, String)>,
    /// The effective branding of the tenant the session acts in (else the home),
    /// with that tenant's id.
    pub brand: Option<(i64, crate::db::models::branding::Brand)>,
    /// For the same tenant: the name of its plan when that lacks sub-tenants.
    pub plan_without_subtenants: Option<String>,
}

type GrantRecord = (
    i64,
    i64,
    i64,
    crate::domain::GrantRole,
    crate::domain::Scope,
    bool,
);
type TenantRoleRecord = (i64, String, serde_json::Value);

/// Defines a column expression whose SQL is fixed text: a correlated subquery the
/// DSL cannot write. Plain text and no binds, so the statement stays cacheable.
macro_rules! sql_column {
    ($(#[$doc:meta])* $name:ident: $sql_type:ty = $sql:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, QueryId)]
        struct $name;

        impl Expression for $name {
            type SqlType = $sql_type;
        }

        impl QueryFragment<Pg> for $name {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }

        impl<QS> AppearsOnTable<QS> for $name {}
        impl<QS> SelectableExpression<QS> for $name {}
        impl<GB> ValidGrouping<GB> for $name {
            type IsAggregate = is_aggregate::Never;
        }
    };
}

sql_column! {
    /// The grants of the user in the same row (none without one).
    GrantsOfUser: Array<Record<(BigInt, BigInt, BigInt, Text, Text, Bool)>> =
        "ARRAY(SELECT ROW(g.id, g.user_id, g.tenant_id, g.role, g.scope, g.manage_subtenants) \
         FROM grants g WHERE g.user_id = users.id ORDER BY g.id)"
}

sql_column! {
    /// Every tenant role: a handful of rows, each tenant's cap.
    AllTenantRoles: Array<Record<(BigInt, Text, Jsonb)>> =
        "ARRAY(SELECT ROW(r.id, r.name, r.permissions) FROM tenant_roles r ORDER BY r.id)"
}

/// The acting tenant id in the session's state (`auth::session_keys::ACTING_TENANT`,
/// kept as the JSON text of a number), `NULL` when absent; the pattern keeps a
/// malformed value from failing the cast.
macro_rules! acting_id_sql {
    () => {
        "(CASE WHEN sessions.state->>'acting' ~ '^[0-9]{1,18}$' \
         THEN (sessions.state->>'acting')::bigint END)"
    };
}

sql_column! {
    /// The acting tenant's columns in `Tenant`'s order, but the domain claim (a record
    /// holds at most 16): one row, or none when the state names no existing tenant.
    ActingTenant: Array<Record<(
        BigInt,
        Nullable<BigInt>,
        Array<BigInt>,
        Text,
        Text,
        Text,
        Nullable<Text>,
        Bool,
        Bool,
        BigInt,
        Integer,
        Integer,
        Timestamptz,
        Timestamptz,
    )>> = concat!(
        "ARRAY(SELECT ROW(a.id, a.parent_id, ap.path, a.name, a.description, a.subdomain, \
         a.custom_domain, a.enabled, a.can_have_subtenants, a.tenant_role_id, a.user_count, \
         a.instance_count, a.created_at, a.updated_at) \
         FROM tenants a JOIN tenant_paths ap ON ap.tenant_id = a.id WHERE a.id = ",
        acting_id_sql!(),
        ")"
    )
}

sql_column! {
    /// The acting tenant's domain claim and quota, beside `ActingTenant`.
    ActingClaim: Array<Record<(Nullable<Text>, Nullable<Text>, Nullable<Timestamptz>, Nullable<BigInt>, Nullable<BigInt>, Nullable<BigInt>, Nullable<BigInt>, Nullable<BigInt>)>> = concat!(
        "ARRAY(SELECT ROW(a.custom_domain_status, a.custom_domain_token, \
         a.custom_domain_verified_at, a.monthly_query_quota, a.storage_limit_gb, \
         a.memory_limit_gb, a.max_instances, a.plan_id) FROM tenants a WHERE a.id = ",
        acting_id_sql!(),
        ")"
    )
}

sql_column! {
    /// Names on the home and the acting tenant's paths (the breadcrumb), by primary
    /// key; without an acting tenant the concatenated `NULL` adds nothing.
    PathNames: Array<Record<(BigInt, Text)>> = concat!(
        "ARRAY(SELECT ROW(n.id, n.name) FROM tenants n WHERE n.id = ANY(tenant_paths.path || \
         (SELECT ap.path FROM tenant_paths ap WHERE ap.tenant_id = ",
        acting_id_sql!(),
        ")))"
    )
}

sql_column! {
    /// The effective branding of the tenant the session acts in (else the user's
    /// home): the page frame's product name, colour, support contact and logo.
    ActingBranding: Array<Record<(
        Nullable<BigInt>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<BigInt>,
        Nullable<Text>,
    )>> = crate::db::models::branding::frame_branding_sql!(concat!(
        "COALESCE(",
        acting_id_sql!(),
        ", users.tenant_id)"
    ))
}

sql_column! {
    /// The name of the plan governing the tenant the session acts in (else the
    /// home) when that plan lacks the `sub_tenants` option, else `NULL`: the "New
    /// sub-tenant" button of the acting tenant says why it is disabled without a
    /// statement of its own.
    ActingPlanWithoutSubtenants: Nullable<Text> = concat!(
        "(SELECT pl.name FROM tenants at JOIN plans pl ON pl.id = ",
        crate::governing_plan_id!("at"),
        " WHERE NOT pl.sub_tenants AND at.id = COALESCE(",
        acting_id_sql!(),
        ", users.tenant_id))"
    )
}

/// Id and name of every tenant on the path of the tenant a page is about (its
/// `/tenants/{id}` segment), root first: the breadcrumb of a page about a tenant the
/// user does not act in, in the same statement. The id is a bind, the text fixed, so
/// the statement stays cacheable.
#[derive(Debug, Clone, Copy)]
struct PagePathNames(Option<i64>);

impl QueryId for PagePathNames {
    type QueryId = PagePathNames;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Expression for PagePathNames {
    type SqlType = Array<Record<(BigInt, Text)>>;
}

impl QueryFragment<Pg> for PagePathNames {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "ARRAY(SELECT ROW(n.id, n.name) FROM tenant_paths pp, \
             unnest(pp.path) WITH ORDINALITY AS u(id, ord) JOIN tenants n ON n.id = u.id \
             WHERE pp.tenant_id = ",
        );
        out.push_bind_param::<Nullable<BigInt>, _>(&self.0)?;
        out.push_sql(" ORDER BY u.ord)");
        Ok(())
    }
}

impl<QS> AppearsOnTable<QS> for PagePathNames {}
impl<QS> SelectableExpression<QS> for PagePathNames {}
impl<GB> ValidGrouping<GB> for PagePathNames {
    type IsAggregate = is_aggregate::Never;
}

type ActingRecord = (
    i64,
    Option<i64>,
    Vec<i64>,
    String,
    String,
    String,
    Option<String>,
    bool,
    bool,
    i64,
    i32,
    i32,
    DateTime<Utc>,
    DateTime<Utc>,
);
type ClaimRecord = (
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn acting_tenant(tenant: Vec<ActingRecord>, claim: Vec<ClaimRecord>) -> Option<Tenant> {
    // The record's fields in `ActingTenant`'s order.
    let t = tenant.into_iter().next()?;
    let (status, token, verified_at, monthly_query_quota, storage, memory, max_instances, plan_id) =
        claim.into_iter().next()?;
    Some(Tenant {
        id: t.0,
        parent_id: t.1,
        path: t.2,
        name: t.3,
        description: t.4,
        subdomain: t.5,
        custom_domain: t.6,
        enabled: t.7,
        can_have_subtenants: t.8,
        tenant_role_id: t.9,
        user_count: t.10,
        instance_count: t.11,
        created_at: t.12,
        updated_at: t.13,
        domain_claim: super::tenant::DomainClaim {
            status,
            token,
            verified_at,
        },
        monthly_query_quota,
        limits: crate::db::models::instance::TenantLimits {
            storage_limit_gb: storage,
            memory_limit_gb: memory,
            max_instances,
        },
        plan_id,
    })
}

/// The user, home tenant and role (all `None` without a user), grants and caps.
type WhoRow = (
    Option<User>,
    Option<Tenant>,
    Option<UserRoleRow>,
    Vec<GrantRecord>,
    Vec<TenantRoleRecord>,
);

type WhoColumns = (
    AsSelect<Option<User>, Pg>,
    AsSelect<Option<Tenant>, Pg>,
    AsSelect<Option<UserRoleRow>, Pg>,
    GrantsOfUser,
    AllTenantRoles,
);

fn who_columns() -> WhoColumns {
    (
        Option::<User>::as_select(),
        Option::<Tenant>::as_select(),
        Option::<UserRoleRow>::as_select(),
        GrantsOfUser,
        AllTenantRoles,
    )
}

type UsersWithHome = LeftJoin<InnerJoin<users::table, WithPath>, user_roles::table>;

fn users_with_home() -> UsersWithHome {
    users::table
        .inner_join(with_path())
        .left_join(user_roles::table)
}

fn principal_row((user, home, role, grants, tenant_roles): WhoRow) -> Option<PrincipalRow> {
    Some(PrincipalRow {
        user: user?,
        home: home?,
        role,
        grants: grants
            .into_iter()
            .map(
                |(id, user_id, tenant_id, role, scope, manage_subtenants)| GrantRow {
                    id,
                    user_id,
                    tenant_id,
                    role,
                    scope,
                    manage_subtenants,
                },
            )
            .collect(),
        tenant_roles: tenant_roles
            .into_iter()
            .map(|(id, name, permissions)| TenantRoleRow {
                id,
                name,
                permissions,
            })
            .collect(),
    })
}

/// Loads a user for authorization in one statement.
pub async fn by_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Option<PrincipalRow>> {
    let row: Option<WhoRow> = users_with_home()
        .filter(users::id.eq(user_id))
        .select(who_columns())
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(principal_row))
}

sql_column! {
    /// The name of the plan governing the user's home tenant when that plan lacks
    /// the `api_access` option, else `NULL` (issue #16: such users may not use the API).
    HomePlanWithoutApi: Nullable<Text> = concat!(
        "(SELECT pl.name FROM tenants ht JOIN plans pl ON pl.id = ",
        crate::governing_plan_id!("ht"),
        " WHERE NOT pl.api_access AND ht.id = users.tenant_id)"
    )
}

/// A usable API token (`ApiToken::usable`'s rules) and its user as authorization
/// needs them, with what API access needs of the home tenant's plan.
#[derive(Clone, Debug)]
pub struct TokenWithPrincipal {
    pub token_id: i64,
    pub read_only: bool,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The governing plan's name when it lacks API access.
    pub plan_without_api: Option<String>,
    pub principal: PrincipalRow,
}

/// Loads the token with this hash if it may be used now (not revoked, not expired,
/// its user and the user's home tenant enabled) and its user, in one statement.
pub async fn by_token(
    conn: &mut AsyncPgConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<TokenWithPrincipal>> {
    type Row = (i64, bool, Option<DateTime<Utc>>, Option<String>, WhoRow);
    let row: Option<Row> = api_tokens::table
        .inner_join(users_with_home())
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        )
        .filter(users::enabled.eq(true))
        .filter(tenants::enabled.eq(true))
        .select((
            api_tokens::id,
            api_tokens::read_only,
            api_tokens::last_used_at,
            HomePlanWithoutApi,
            // Last, as in `by_session`.
            who_columns(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(
        |(token_id, read_only, last_used_at, plan_without_api, who)| {
            Some(TokenWithPrincipal {
                token_id,
                read_only,
                last_used_at,
                plan_without_api,
                principal: principal_row(who)?,
            })
        },
    ))
}

/// Loads a live session and the user it names in one statement, with the path of
/// `page_tenant` (the tenant the requested page is about) for its breadcrumb.
pub async fn by_session(
    conn: &mut AsyncPgConnection,
    key_hash: &str,
    now: DateTime<Utc>,
    page_tenant: Option<i64>,
) -> QueryResult<Option<SessionWithPrincipal>> {
    type Row = (
        serde_json::Value,
        DateTime<Utc>,
        Vec<ActingRecord>,
        Vec<ClaimRecord>,
        Vec<(i64, String)>,
        Vec<(i64, String)>,
        Vec<crate::db::models::branding::FrameRecord>,
        Option<String>,
        WhoRow,
    );
    let row: Option<Row> = sessions::table
        .left_join(users_with_home())
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::expires_at.gt(now))
        .select((
            sessions::state,
            sessions::expires_at,
            ActingTenant,
            ActingClaim,
            PathNames,
            PagePathNames(page_tenant),
            ActingBranding,
            ActingPlanWithoutSubtenants,
            // Last: with the selections of `who_columns` earlier, diesel finds no way to read the row.
            who_columns(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(
        |(state, expires_at, acting, claim, path_names, page_path, brand, no_sub, who)| {
            SessionWithPrincipal {
                state,
                expires_at,
                principal: principal_row(who).map(|row| SessionPrincipal {
                    row,
                    acting: acting_tenant(acting, claim),
                    path_names,
                    page_path,
                    brand: brand
                        .into_iter()
                        .next()
                        .and_then(crate::db::models::branding::Brand::from_record),
                    plan_without_subtenants: no_sub,
                }),
            }
        },
    ))
}

/// The users at home in tenant `id` (with `subtree`, in it or below it), as
/// authorization needs them to judge a change of their tenants, in two statements
/// and without the caps (every row's are the same: the caller has them). Every
/// user who holds a grant comes with their grants; of those who hold none, whose
/// rights are their home role alone, one user per (home tenant, role), the lowest id.
pub async fn homed_in(
    conn: &mut AsyncPgConnection,
    id: i64,
    subtree: bool,
) -> QueryResult<Vec<PrincipalRow>> {
    use crate::db::schema::{grants, tenant_paths};
    use diesel::dsl::{exists, not};
    use diesel::IntoSql;
    let holds_grant = || exists(grants::table.filter(grants::user_id.eq(users::id)));
    let in_scope = || {
        tenant_paths::path
            .contains(vec![id])
            .and(users::tenant_id.eq(id).or(subtree.into_sql::<Bool>()))
    };
    let with_grants: Vec<(User, Tenant, Option<UserRoleRow>, Vec<GrantRecord>)> = users_with_home()
        .filter(in_scope())
        .filter(holds_grant())
        .order(users::id.asc())
        .select((
            User::as_select(),
            Tenant::as_select(),
            Option::<UserRoleRow>::as_select(),
            GrantsOfUser,
        ))
        .load(conn)
        .await?;
    let without: Vec<(User, Tenant, Option<UserRoleRow>)> = users_with_home()
        .filter(in_scope())
        .filter(not(holds_grant()))
        .distinct_on((users::tenant_id, users::role_id))
        .order((users::tenant_id, users::role_id, users::id.asc()))
        .select((
            User::as_select(),
            Tenant::as_select(),
            Option::<UserRoleRow>::as_select(),
        ))
        .load(conn)
        .await?;
    Ok(with_grants
        .into_iter()
        .filter_map(|(user, home, role, grants)| {
            principal_row((Some(user), Some(home), role, grants, Vec::new()))
        })
        .chain(without.into_iter().filter_map(|(user, home, role)| {
            principal_row((Some(user), Some(home), role, Vec::new(), Vec::new()))
        }))
        .collect())
}

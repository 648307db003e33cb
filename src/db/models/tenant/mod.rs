//! Tenants: the tree. Every tenant's path from the root lives in `tenant_paths`
//! (a narrow table, so that moving a subtree rewrites little); queries that need
//! it read `tenants` joined with it (`with_path`).

mod edit;
mod labels;
mod list;
mod subtree;
mod tree;
/// The visibility filters, for every query that lists what a user may see.
pub(crate) mod visibility;

pub use edit::{NewChild, TenantFields};
pub use list::{
    ApiListQuery, ListPage, ListQuery, MatchQuery, MatchScope, SortKey, TenantFilter,
    TenantListRow, COUNT_CAP,
};
pub use subtree::{SubtreeCounts, SubtreeTotals, DELETE_GUARD};
pub use tree::{Depth, TreeLevel, TreeNode};
pub use visibility::Visibility;

pub(crate) use visibility::visible_filter;

use super::instance::TenantUsage;
use super::lower;
use crate::db::schema::{tenant_paths, tenant_roles, tenants};
use crate::domain::domain_name::{DomainStatus, TenantAddress};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = tenants, check_for_backend(Pg))]
pub struct Tenant {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// Ids from the root down to and including this tenant.
    #[diesel(select_expression = tenant_paths::path)]
    pub path: Vec<i64>,
    pub name: String,
    pub description: String,
    pub subdomain: String,
    pub custom_domain: Option<String>,
    pub enabled: bool,
    pub can_have_subtenants: bool,
    pub tenant_role_id: i64,
    pub user_count: i32,
    pub instance_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where the custom domain stands (all `None` without one).
    #[diesel(embed)]
    pub domain_claim: DomainClaim,
    /// The queries per month its own usage is measured against (`None`: no quota).
    pub monthly_query_quota: Option<i64>,
    /// Its limits on its whole subtree's instances (issue #14).
    #[diesel(embed)]
    pub limits: crate::db::models::instance::TenantLimits,
    /// Its plan (`None`: every option, only its own limits).
    pub plan_id: Option<i64>,
}

/// The proof of a tenant's custom domain: its state and the token its DNS TXT record
/// must hold. Set with the domain, reset whenever the domain changes.
#[derive(Clone, Debug, Default, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = tenants, check_for_backend(Pg))]
pub struct DomainClaim {
    #[diesel(column_name = custom_domain_status)]
    pub status: Option<String>,
    #[diesel(column_name = custom_domain_token)]
    pub token: Option<String>,
    /// Since when a verified or approved domain serves.
    #[diesel(column_name = custom_domain_verified_at)]
    pub verified_at: Option<DateTime<Utc>>,
}

impl DomainClaim {
    /// The state, while a custom domain is set.
    pub fn status(&self) -> Option<DomainStatus> {
        self.status.as_deref().and_then(|s| s.parse().ok())
    }

    /// Does the custom domain serve (login page, bare usernames on its host)?
    pub fn serves(&self) -> bool {
        self.status().is_some_and(DomainStatus::serves)
    }
}

/// The custom domain states that serve (verified, approved), as stored.
fn serving() -> Vec<&'static str> {
    DomainStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.serves())
        .map(DomainStatus::as_str)
        .collect()
}

/// What [`Tenant::addresses`] reads of a tenant: id, subdomain, parent, custom
/// domain and its state, and whether its governing plan has custom domains.
type AddressRow = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<bool>,
);

/// Tenants with their paths: what `Tenant::as_select()` reads from.
pub type WithPath = diesel::dsl::InnerJoin<tenants::table, tenant_paths::table>;

pub fn with_path() -> WithPath {
    tenants::table.inner_join(tenant_paths::table)
}

impl Tenant {
    /// Its own limits, with its user limit (read apart: `user_limit::limits_of`).
    pub fn own_limits(&self, max_users: Option<i32>) -> crate::domain::plan::PlanLimits {
        crate::domain::plan::PlanLimits {
            monthly_query_quota: self.monthly_query_quota,
            max_users,
            max_instances: self.limits.max_instances,
            storage_limit_gb: self.limits.storage_limit_gb,
            memory_limit_gb: self.limits.memory_limit_gb,
        }
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Tenant> {
        with_path()
            .filter(tenants::id.eq(id))
            .select(Tenant::as_select())
            .first(conn)
            .await
    }

    pub async fn root(conn: &mut AsyncPgConnection) -> QueryResult<Option<Tenant>> {
        with_path()
            .filter(tenants::parent_id.is_null())
            .select(Tenant::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn by_subdomain(
        conn: &mut AsyncPgConnection,
        subdomain: &str,
    ) -> QueryResult<Option<Tenant>> {
        with_path()
            .filter(tenants::subdomain.eq(subdomain.to_ascii_lowercase()))
            .select(Tenant::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The tenant whose custom domain is `host`, if that domain serves (verified or
    /// approved): a pending claim never shows its tenant on that host.
    pub async fn by_serving_custom_domain(
        conn: &mut AsyncPgConnection,
        host: &str,
    ) -> QueryResult<Option<Tenant>> {
        with_path()
            .filter(lower(tenants::custom_domain.assume_not_null()).eq(host.to_ascii_lowercase()))
            .filter(tenants::custom_domain.is_not_null())
            .filter(tenants::custom_domain_status.eq_any(serving()))
            .select(Tenant::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The addresses of these tenants for links in mail (`ConsoleUrls::tenant_url`):
    /// subdomain, whether it is the root, and its custom domain where it serves (as
    /// `by_serving_custom_domain` finds it) while its governing plan includes custom
    /// domains (a dormant one is not served, as the login's `host_tenant` says).
    /// Tenants that do not exist are left out.
    pub async fn addresses(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, TenantAddress>> {
        use diesel::sql_types::Nullable;
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let serving = serving();
        let plan_allows = diesel::dsl::sql::<Nullable<diesel::sql_types::Bool>>(
            crate::governing_plan_column!("tenants", "custom_domain"),
        );
        let rows: Vec<AddressRow> = tenants::table
            .filter(tenants::id.eq_any(ids.to_vec()))
            .select((
                tenants::id,
                tenants::subdomain,
                tenants::parent_id,
                tenants::custom_domain,
                tenants::custom_domain_status,
                plan_allows,
            ))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, subdomain, parent_id, domain, status, allowed)| {
                let serves = status.is_some_and(|s| serving.contains(&s.as_str()));
                // No plan anywhere on its path: every option.
                let custom_domain = domain.filter(|_| serves && allowed.unwrap_or(true));
                let address = TenantAddress {
                    subdomain,
                    custom_domain,
                    is_root: parent_id.is_none(),
                };
                (id, address)
            })
            .collect())
    }

    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }

    /// True when `ancestor_id` is this tenant or above it: one array lookup, no walk.
    pub fn is_within(&self, ancestor_id: i64) -> bool {
        self.path.contains(&ancestor_id)
    }

    /// The tenants on the path from the root to this one, root first.
    pub async fn path_tenants(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> QueryResult<Vec<(i64, String)>> {
        let mut rows: Vec<(i64, String)> = tenants::table
            .filter(tenants::id.eq_any(self.path.clone()))
            .select((tenants::id, tenants::name))
            .load(conn)
            .await?;
        rows.sort_by_key(|(id, _)| self.path.iter().position(|p| p == id));
        Ok(rows)
    }

    /// Tenant `id`'s path from the root as (id, name) pairs, root first, in one
    /// statement (a page's breadcrumb); empty when there is no such tenant.
    pub async fn path_of(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<(i64, String)>> {
        let on_path = tenant_paths::table
            .filter(tenant_paths::tenant_id.eq(id))
            .select(super::unnest(tenant_paths::path));
        let rows: Vec<(i64, String, Option<i64>)> = tenants::table
            .filter(tenants::id.eq_any(on_path))
            .select((tenants::id, tenants::name, tenants::parent_id))
            .load(conn)
            .await?;
        // Root first: each next tenant is the child of the one before.
        let mut ordered = Vec::with_capacity(rows.len());
        let mut parent = None;
        while let Some(next) = rows.iter().find(|r| r.2 == parent) {
            ordered.push((next.0, next.1.clone()));
            parent = Some(next.0);
        }
        Ok(ordered)
    }

    /// Names of every tenant on these paths, for breadcrumbs of many results at once.
    pub async fn names(
        conn: &mut AsyncPgConnection,
        ids: Vec<i64>,
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = tenants::table
            .filter(tenants::id.eq_any(ids))
            .select((tenants::id, tenants::name))
            .load(conn)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Name of the tenant role that caps this tenant.
    pub async fn role_name(conn: &mut AsyncPgConnection, role_id: i64) -> QueryResult<String> {
        tenant_roles::table
            .find(role_id)
            .select(tenant_roles::name)
            .first(conn)
            .await
    }

    /// Totals for the dashboard under `within`: sub-tenants, disabled sub-tenants,
    /// users and instances (the tenant itself counted for users and instances), of
    /// what `visibility` (already narrowed to what lies below `within`) lets the user
    /// see, and how many sub-tenants they may not see. From the maintained subtree
    /// totals: one row when the user sees the whole subtree, else one per visible
    /// subtree or single tenant below `within`, and `within`'s own (in the same
    /// statement: the dashboard is benchmarked at three).
    pub async fn totals(
        conn: &mut AsyncPgConnection,
        within: &Tenant,
        visibility: &Visibility,
    ) -> QueryResult<Totals> {
        use crate::db::models::instance::{limit_columns, LimitValues};
        use crate::db::schema::tenant_subtree_totals;
        let ancestors = within.path[..within.path.len().saturating_sub(1)].to_vec();
        // A row of the path (its limits and its subtree's use) as the bars take it.
        let on_path = |id, name, limits: LimitValues, t: &SubtreeTotals| {
            TenantUsage::from_columns(id, name, limits, t)
        };
        // The path's rows top-down.
        let top_down = |rows: &mut Vec<TenantUsage>| {
            rows.sort_by_key(|r| within.path.iter().position(|id| *id == r.tenant_id));
        };
        let (subtree_roots, singles) = match visibility {
            Visibility::All => {
                // `within` and its ancestors (for the limits set above it): one statement.
                let rows: Vec<(i64, String, LimitValues, SubtreeTotals)> = tenants::table
                    .inner_join(
                        tenant_subtree_totals::table
                            .on(tenant_subtree_totals::tenant_id.eq(tenants::id)),
                    )
                    .filter(tenants::id.eq_any(within.path.clone()))
                    .select((
                        tenants::id,
                        tenants::name,
                        limit_columns(),
                        SubtreeTotals::as_select(),
                    ))
                    .load(conn)
                    .await?;
                let Some(t) = rows.iter().find(|r| r.0 == within.id).map(|r| r.3) else {
                    return Err(diesel::result::Error::NotFound);
                };
                let mut path: Vec<TenantUsage> = rows
                    .into_iter()
                    .map(|(id, name, l, t)| on_path(id, name, l, &t))
                    .collect();
                top_down(&mut path);
                return Ok(Totals {
                    subtenants: t.tenants - 1,
                    disabled: t.disabled - i64::from(!within.enabled),
                    users: t.users,
                    instances: t.instances,
                    hidden: 0,
                    usage: t,
                    path,
                });
            }
            Visibility::Within {
                subtree_roots,
                tenants,
            } => (subtree_roots, tenants),
        };
        let seen = |id: &i64| subtree_roots.contains(id) || singles.contains(id);
        // `within` itself too, for its subtree's whole count.
        let ids: Vec<i64> = subtree_roots
            .iter()
            .chain(singles)
            .chain([&within.id])
            .copied()
            .collect();
        // The visible subtrees and single tenants at or below `within`, each with its
        // totals and its own counts.
        // With `within`'s ancestors, for the limits set above it (in the same statement).
        type Row = (
            i64,
            Vec<i64>,
            bool,
            i32,
            i32,
            SubtreeTotals,
            String,
            LimitValues,
        );
        let (rows, ancestor_rows): (Vec<Row>, Vec<Row>) = with_path()
            .inner_join(
                tenant_subtree_totals::table.on(tenant_subtree_totals::tenant_id.eq(tenants::id)),
            )
            .filter(
                tenants::id
                    .eq_any(ids)
                    .and(tenant_paths::path.contains(vec![within.id]))
                    .or(tenants::id.eq_any(ancestors)),
            )
            .select((
                tenants::id,
                tenant_paths::path,
                tenants::enabled,
                tenants::user_count,
                tenants::instance_count,
                SubtreeTotals::as_select(),
                tenants::name,
                limit_columns(),
            ))
            .load::<Row>(conn)
            .await?
            .into_iter()
            .partition(|r| r.1.contains(&within.id));
        // The path: the ancestors' rows and `within`'s own.
        let mut path: Vec<TenantUsage> = ancestor_rows
            .into_iter()
            .chain(rows.iter().filter(|r| r.0 == within.id).cloned())
            .map(|(id, _, _, _, _, t, name, l)| on_path(id, name, l, &t))
            .collect();
        top_down(&mut path);
        let rows: Vec<(i64, Vec<i64>, bool, i32, i32, SubtreeTotals)> = rows
            .into_iter()
            .map(|(id, path, enabled, users, instances, totals, _, _)| {
                (id, path, enabled, users, instances, totals)
            })
            .collect();
        let roots: Vec<i64> = rows
            .iter()
            .filter(|r| subtree_roots.contains(&r.0))
            .map(|r| r.0)
            .collect();
        let mut sum = Totals {
            subtenants: 0,
            disabled: 0,
            users: 0,
            instances: 0,
            hidden: 0,
            usage: SubtreeTotals::default(),
            path,
        };
        let mut below = 0;
        for (id, path, enabled, users, instances, totals) in rows {
            if id == within.id {
                below = totals.tenants - 1;
                sum.usage = totals;
                if !seen(&id) {
                    continue;
                }
            }
            // Inside a visible subtree counted whole already.
            if path[..path.len() - 1].iter().any(|a| roots.contains(a)) {
                continue;
            }
            let own = if roots.contains(&id) {
                totals
            } else {
                SubtreeTotals {
                    tenants: 1,
                    disabled: i64::from(!enabled),
                    users: users.into(),
                    instances: instances.into(),
                    ..SubtreeTotals::default()
                }
            };
            // `within` itself counts for users and instances, not as a sub-tenant.
            let is_within = i64::from(id == within.id);
            sum.subtenants += own.tenants - is_within;
            sum.disabled += own.disabled - is_within * i64::from(!enabled);
            sum.users += own.users;
            sum.instances += own.instances;
        }
        sum.hidden = below - sum.subtenants;
        Ok(sum)
    }
}

/// Dashboard totals.
#[derive(Debug, Clone)]
pub struct Totals {
    pub subtenants: i64,
    pub disabled: i64,
    pub users: i64,
    pub instances: i64,
    /// Sub-tenants the user may not see (a count only).
    pub hidden: i64,
    /// `within`'s whole subtree, seen or not: what its limits are checked against
    /// (the dashboard's usage bars).
    pub usage: SubtreeTotals,
    /// `within` and the tenants above it, top-down, each with its limits (the
    /// effective ones, where they come from) and its whole subtree's use: what the
    /// limit checks read (the usage bars, `services::instances::usage_bars`).
    pub path: Vec<TenantUsage>,
}

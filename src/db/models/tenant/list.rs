//! The Tenants page and the API's tenant listing: filtered, sorted, paged.

use super::tree::HiddenBelow;
use super::visibility::{in_subtrees, visible, visible_filter};
use super::{with_path, Tenant, Visibility};
use crate::db::models::{like_pattern, lower};
use crate::db::schema::{
    tenant_labels, tenant_paths, tenant_roles, tenant_subtree_totals, tenants,
};
use chrono::{DateTime, Utc};
use diesel::expression::{is_aggregate, AppearsOnTable, TypedExpressionType, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, SqlType, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::marker::PhantomData;

/// The Tenants page counts matches exactly up to this many, then says "more than".
pub const COUNT_CAP: i64 = 10_000;

/// One row of the Tenants page.
#[derive(Clone, Debug, Queryable)]
pub struct TenantListRow {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
    pub enabled: bool,
    pub can_have_subtenants: bool,
    pub role_name: String,
    pub instance_count: i32,
    pub user_count: i32,
    pub created_at: DateTime<Utc>,
    /// Ids from the root down to and including this tenant.
    pub path: Vec<i64>,
    pub parent_id: Option<i64>,
    /// `None` for the root.
    pub parent_name: Option<String>,
    /// The parent's tenant role (its cap); `None` for the root. With the path it is
    /// all a right over the parent needs (`TenantListRow::parent`).
    pub parent_role_id: Option<i64>,
    pub labels: Vec<String>,
    /// Users in the whole subtree (the tenant's own for a customer, or where the
    /// viewer does not see the whole subtree).
    pub subtree_users: i64,
    /// Instances in the whole subtree, likewise.
    pub subtree_instances: i64,
}

/// Which tenants a filter selects, besides visibility and the subtree listed: what
/// the Tenants page's and the API's query parameters ask for, and what a later bulk
/// action on "all tenants matching this filter" selects. Every part is optional; the
/// parts combine (AND).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantFilter {
    /// Name or subdomain contains this (case-insensitive).
    pub name: Option<String>,
    /// Enabled (`Some(true)`) or disabled.
    pub enabled: Option<bool>,
    /// Resellers (may have sub-tenants, `Some(true)`) or customers.
    pub reseller: Option<bool>,
    /// Direct children of this tenant.
    pub parent: Option<i64>,
    /// Has every one of these labels.
    pub labels: Vec<String>,
}

/// `query` (boxed, over `tenants` alone or joined) narrowed by a `TenantFilter`.
macro_rules! filtered_by {
    ($query:expr, $filter:expr) => {{
        let f: &TenantFilter = $filter;
        let mut query = $query;
        if let Some(n) = f.name.as_deref().filter(|n| !n.is_empty()) {
            let pattern = like_pattern(n);
            // lower(): the form of the subdomain's trigram index (migration 000006), so
            // the OR stays two index scans rather than a scan of every tenant.
            query = query.filter(
                tenants::name
                    .ilike(pattern.clone())
                    .or(lower(tenants::subdomain).ilike(pattern)),
            );
        }
        if let Some(enabled) = f.enabled {
            query = query.filter(tenants::enabled.eq(enabled));
        }
        if let Some(reseller) = f.reseller {
            query = query.filter(tenants::can_have_subtenants.eq(reseller));
        }
        if let Some(parent) = f.parent {
            query = query.filter(tenants::parent_id.eq(parent));
        }
        for label in &f.labels {
            query = query.filter(
                tenants::id.eq_any(
                    tenant_labels::table
                        .filter(tenant_labels::label.eq(label.clone()))
                        .select(tenant_labels::tenant_id),
                ),
            );
        }
        query
    }};
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Role,
    Instances,
    Users,
    Created,
}

impl SortKey {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("role") => SortKey::Role,
            Some("instances") => SortKey::Instances,
            Some("users") => SortKey::Users,
            Some("created") => SortKey::Created,
            _ => SortKey::Name,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Role => "role",
            SortKey::Instances => "instances",
            SortKey::Users => "users",
            SortKey::Created => "created",
        }
    }
}

/// What the Tenants page asks for.
#[derive(Clone, Debug)]
pub struct ListQuery {
    /// List the descendants of this tenant (not the tenant itself).
    pub within: Tenant,
    pub visibility: Visibility,
    pub filter: TenantFilter,
    pub sort: SortKey,
    pub descending: bool,
    pub page: i64,
    pub per_page: i64,
}

/// `ORDER BY` of the Tenants page on any query over `tenants` joined with
/// `tenant_roles`: the sort key, then the id, so that every order is total. With
/// `$by_total`, the users and instances columns order by the subtree totals the rows
/// show (`TotalKey`: the same order from `tenant_subtree_totals` alone).
macro_rules! sorted {
    ($query:expr, $q:expr, $by_total:expr) => {
        match ($q.sort, $q.descending) {
            (SortKey::Instances, false) if $by_total => $query.order((
                fixed::<BigInt>(Piece::TotalInstances).asc(),
                tenants::id.asc(),
            )),
            (SortKey::Instances, true) if $by_total => $query.order((
                fixed::<BigInt>(Piece::TotalInstances).desc(),
                tenants::id.desc(),
            )),
            (SortKey::Users, false) if $by_total => {
                $query.order((fixed::<BigInt>(Piece::TotalUsers).asc(), tenants::id.asc()))
            }
            (SortKey::Users, true) if $by_total => $query.order((
                fixed::<BigInt>(Piece::TotalUsers).desc(),
                tenants::id.desc(),
            )),
            (SortKey::Name, false) => $query.order((lower(tenants::name).asc(), tenants::id.asc())),
            (SortKey::Name, true) => {
                $query.order((lower(tenants::name).desc(), tenants::id.desc()))
            }
            (SortKey::Role, false) => $query.order((
                lower(tenant_roles::name).asc(),
                lower(tenants::name).asc(),
                tenants::id.asc(),
            )),
            (SortKey::Role, true) => $query.order((
                lower(tenant_roles::name).desc(),
                lower(tenants::name).asc(),
                tenants::id.asc(),
            )),
            (SortKey::Instances, false) => {
                $query.order((tenants::instance_count.asc(), tenants::id.asc()))
            }
            (SortKey::Instances, true) => {
                $query.order((tenants::instance_count.desc(), tenants::id.desc()))
            }
            (SortKey::Users, false) => $query.order((tenants::user_count.asc(), tenants::id.asc())),
            (SortKey::Users, true) => {
                $query.order((tenants::user_count.desc(), tenants::id.desc()))
            }
            (SortKey::Created, false) => {
                $query.order((tenants::created_at.asc(), tenants::id.asc()))
            }
            (SortKey::Created, true) => {
                $query.order((tenants::created_at.desc(), tenants::id.desc()))
            }
        }
    };
}

/// Which subtree total the users or instances column orders by, where the rows show
/// subtree totals (a leaf's total is its own count: every tenant has its row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TotalKey {
    Users,
    Instances,
}

/// `ORDER BY` a subtree total, then the id, on a query that has `tenant_subtree_totals`
/// (alone, or joined): the order `sorted!` gives with its `$by_total`, and the order of
/// the totals' indexes (migration 2026-12-06-000300), so that past the cap PostgreSQL
/// walks an index instead of sorting every match.
macro_rules! by_total {
    ($query:expr, $key:expr, $descending:expr) => {
        match ($key, $descending) {
            (TotalKey::Users, false) => $query.order((
                tenant_subtree_totals::user_count.asc(),
                tenant_subtree_totals::tenant_id.asc(),
            )),
            (TotalKey::Users, true) => $query.order((
                tenant_subtree_totals::user_count.desc(),
                tenant_subtree_totals::tenant_id.desc(),
            )),
            (TotalKey::Instances, false) => $query.order((
                tenant_subtree_totals::instance_count.asc(),
                tenant_subtree_totals::tenant_id.asc(),
            )),
            (TotalKey::Instances, true) => $query.order((
                tenant_subtree_totals::instance_count.desc(),
                tenant_subtree_totals::tenant_id.desc(),
            )),
        }
    };
}

/// The columns of a `TenantListRow`, on `tenants` joined with roles and paths.
macro_rules! list_columns {
    ($subtree:expr) => {
        (
            tenants::id,
            tenants::name,
            tenants::subdomain,
            tenants::enabled,
            tenants::can_have_subtenants,
            tenant_roles::name,
            tenants::instance_count,
            tenants::user_count,
            tenants::created_at,
            tenant_paths::path,
            tenants::parent_id,
            fixed::<Nullable<Text>>(Piece::ParentName),
            fixed::<Nullable<BigInt>>(Piece::ParentRole),
            fixed::<Array<Text>>(Piece::Labels),
            fixed::<BigInt>($subtree.users()),
            fixed::<BigInt>($subtree.instances()),
        )
    };
}

/// The fixed pieces of SQL text in `CountedPage`'s branches, which name its CTEs.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// `tenants.id` is among the capped ids.
    InCapped,
    /// `tenants.id` is on the page.
    OnPage,
    /// `tenant_subtree_totals.tenant_id` is among the capped ids.
    TotalsInCapped,
    /// The subtree's users (a sort key, as the rows show it: see `TotalKey`).
    TotalUsers,
    /// The subtree's instances (a sort key).
    TotalInstances,
    /// The capped ids are all the matches.
    WithinCap,
    /// There are more matches than the cap.
    PastCap,
    /// The number of capped ids.
    Count,
    /// The count past the cap: one more than it.
    CapPlusOne,
    /// The parent's name.
    ParentName,
    /// The parent's tenant role.
    ParentRole,
    /// The tenant's labels, sorted.
    Labels,
    /// Users of the tenant's whole subtree (its own for a customer).
    SubtreeUsers,
    /// Instances of the tenant's whole subtree (its own for a customer).
    SubtreeInstances,
    /// The tenant's own users, as a bigint.
    OwnUsers,
    /// The tenant's own instances, as a bigint.
    OwnInstances,
}

/// Whether the rows carry subtree totals (the viewer sees every subtree listed
/// whole) or only their own counts (the totals would count tenants they may not see).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Totals {
    Subtree,
    Own,
}

impl Totals {
    fn users(self) -> Piece {
        match self {
            Totals::Subtree => Piece::SubtreeUsers,
            Totals::Own => Piece::OwnUsers,
        }
    }

    fn instances(self) -> Piece {
        match self {
            Totals::Subtree => Piece::SubtreeInstances,
            Totals::Own => Piece::OwnInstances,
        }
    }
}

/// The subtree total of `column` (maintained in `tenant_subtree_totals`) for a
/// reseller, one lookup by key; a customer has no subtree: its own count.
fn subtree_total(column: &str) -> String {
    format!(
        "(CASE WHEN tenants.can_have_subtenants THEN (SELECT s.{column} \
         FROM tenant_subtree_totals s WHERE s.tenant_id = tenants.id) \
         ELSE tenants.{column} END)::int8"
    )
}

/// A `Piece` as an expression of type `ST`. Plain text and no binds, and unlike
/// `diesel::dsl::sql` it does not mark the statement uncacheable: the list stays a
/// prepared, cached statement.
#[derive(Clone, Copy, Debug)]
struct Fixed<ST> {
    piece: Piece,
    sql_type: PhantomData<ST>,
}

fn fixed<ST>(piece: Piece) -> Fixed<ST> {
    Fixed {
        piece,
        sql_type: PhantomData,
    }
}

impl<ST> QueryId for Fixed<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: SqlType + TypedExpressionType> Expression for Fixed<ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<Pg> for Fixed<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        const COUNT: &str = "(SELECT n FROM capped)";
        match self.piece {
            Piece::InCapped => out.push_sql("tenants.id = ANY((SELECT ids FROM capped)::int8[])"),
            Piece::OnPage => out.push_sql("tenants.id = ANY((SELECT ids FROM page_ids)::int8[])"),
            Piece::TotalsInCapped => out.push_sql(
                "tenant_subtree_totals.tenant_id = ANY((SELECT ids FROM capped)::int8[])",
            ),
            Piece::TotalUsers => out.push_sql(
                "(SELECT s.user_count FROM tenant_subtree_totals s WHERE s.tenant_id = tenants.id)",
            ),
            Piece::TotalInstances => out.push_sql(
                "(SELECT s.instance_count FROM tenant_subtree_totals s WHERE s.tenant_id = tenants.id)",
            ),
            Piece::WithinCap => out.push_sql(&format!("{COUNT} <= {COUNT_CAP}")),
            Piece::PastCap => out.push_sql(&format!("{COUNT} > {COUNT_CAP}")),
            Piece::Count => out.push_sql(&format!("{COUNT}::int8")),
            Piece::CapPlusOne => out.push_sql(&format!("{}::int8", COUNT_CAP + 1)),
            Piece::ParentName => out
                .push_sql("(SELECT parent.name FROM tenants parent WHERE parent.id = tenants.parent_id)"),
            Piece::ParentRole => out.push_sql(
                "(SELECT parent.tenant_role_id FROM tenants parent WHERE parent.id = tenants.parent_id)",
            ),
            Piece::Labels => out.push_sql(
                "ARRAY(SELECT l.label FROM tenant_labels l WHERE l.tenant_id = tenants.id ORDER BY l.label)",
            ),
            Piece::SubtreeUsers => out.push_sql(&subtree_total("user_count")),
            Piece::SubtreeInstances => out.push_sql(&subtree_total("instance_count")),
            Piece::OwnUsers => out.push_sql("tenants.user_count::int8"),
            Piece::OwnInstances => out.push_sql("tenants.instance_count::int8"),
        }
        Ok(())
    }
}

impl<ST, QS> AppearsOnTable<QS> for Fixed<ST> where Fixed<ST>: Expression {}
impl<ST, QS> SelectableExpression<QS> for Fixed<ST> where Fixed<ST>: Expression {}
impl<ST, GB> ValidGrouping<GB> for Fixed<ST> {
    type IsAggregate = is_aggregate::Never;
}

/// What the subtree totals count of a list's matches: every tenant below, or the
/// disabled or the enabled ones.
#[derive(Clone, Copy, Debug)]
enum Counted {
    All,
    Disabled,
    Enabled,
}

/// The number of matches read from `within`'s subtree totals (one row by key)
/// instead of counted, less `within` itself where it would match (the list shows
/// what is below it). Exact wherever the viewer sees the subtree whole and the filter
/// is at most a status.
struct KnownCount {
    within: i64,
    counted: Counted,
    less: i64,
}

impl QueryFragment<Pg> for KnownCount {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(match self.counted {
            Counted::All => "(SELECT s.tenant_count",
            Counted::Disabled => "(SELECT s.disabled_count",
            Counted::Enabled => "(SELECT s.tenant_count - s.disabled_count",
        });
        out.push_sql(" FROM tenant_subtree_totals s WHERE s.tenant_id = ");
        out.push_bind_param::<BigInt, _>(&self.within)?;
        out.push_sql(") - ");
        out.push_bind_param::<BigInt, _>(&self.less)?;
        Ok(())
    }
}

/// The disabled tenants of a subtree, one page of them by name, walked from the
/// partial index on the disabled tenants' names (`tenants_disabled_name`, migration
/// 2026-12-05-001400), each tested against its path by key — instead of first
/// collecting the subtree's matching ids, which reads every path of the subtree
/// (250–500 ms for the 1,759 disabled of a 101,909-tenant reseller at 1,000,000
/// tenants; the walk: 3 ms). The scalar subquery keeps the test per row (as a join,
/// the planner hashed the whole subtree's paths again), and it is a boolean so that
/// the planner estimates half the rows pass, not 0.5 % as for `(subquery) @> …`: that
/// estimate priced the walk over the JIT threshold (+15 ms per call).
struct DisabledWalk {
    within: i64,
    descending: bool,
    limit: i64,
    offset: i64,
}

impl QueryFragment<Pg> for DisabledWalk {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT tenants.id FROM tenants WHERE NOT tenants.enabled AND tenants.id <> ");
        out.push_bind_param::<BigInt, _>(&self.within)?;
        out.push_sql(" AND (SELECT p.path @> ARRAY[");
        out.push_bind_param::<BigInt, _>(&self.within)?;
        out.push_sql(if self.descending {
            "]::int8[] FROM tenant_paths p WHERE p.tenant_id = tenants.id) \
             ORDER BY lower(tenants.name) DESC, tenants.id DESC LIMIT "
        } else {
            "]::int8[] FROM tenant_paths p WHERE p.tenant_id = tenants.id) \
             ORDER BY lower(tenants.name), tenants.id LIMIT "
        });
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(" OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.offset)?;
        Ok(())
    }
}

/// Whether `DisabledWalk` is the cheaper way to the page, from the totals (two rows by
/// key): walking the disabled tenants by name meets about `all disabled / subtree's
/// disabled` of them per match, so reaching the page's last row tests `(offset + per
/// page) × D / d` paths by key, where collecting the ids reads the subtree's `T` paths
/// (a path by key counted as four of those). So: walk when `4 (offset + per page) D <
/// d T`. For the reseller above, page 1: 200 × 17,376 < 1,759 × 101,909.
struct WalkIsCheaper {
    within: i64,
    /// `4 (offset + per page)`.
    budget: i64,
}

impl QueryFragment<Pg> for WalkIsCheaper {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "coalesce((SELECT s.disabled_count * s.tenant_count FROM tenant_subtree_totals s WHERE s.tenant_id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.within)?;
        out.push_sql(") > ");
        out.push_bind_param::<BigInt, _>(&self.budget)?;
        out.push_sql(
            "::int8 * (SELECT s.disabled_count FROM tenant_subtree_totals s \
             JOIN tenants r ON r.id = s.tenant_id WHERE r.parent_id IS NULL), false)",
        );
        Ok(())
    }
}

/// The page's ids from a `DisabledWalk` where the totals say it is cheaper.
struct Walk {
    walk: DisabledWalk,
    cheaper: WalkIsCheaper,
}

/// The Tenants page in one statement (see `Tenant::list`):
///
/// ```sql
/// WITH capped AS MATERIALIZED (SELECT ids, cardinality(ids) AS n
///                              FROM (SELECT ARRAY(<matching ids, up to the cap + 1>) AS ids) c),
///      page_ids AS MATERIALIZED (SELECT ARRAY(<the page's ids, sorted, among them>) AS ids)
/// (<the page's rows by those ids, with the count> WHERE <count ≤ cap>)
/// UNION ALL
/// (<the page's rows through the filters, with cap + 1> WHERE <count > cap>)
/// ```
///
/// The count tests are constant for the statement (InitPlans on `capped`), so
/// PostgreSQL runs one branch and skips the other (`One-Time Filter`). Where the
/// subtree totals know the count (`KnownCount`), `capped` is `SELECT k.n, CASE WHEN
/// k.n > cap THEN '{}' ELSE ARRAY(<matching ids>) END …`: the ids are an InitPlan
/// that runs only when needed, so past the cap nothing is counted at all. With a
/// `Walk` (a subtree's disabled tenants by name), `k.walk` says from the totals
/// whether the page's ids come from `DisabledWalk` instead (`page_ids` is then `CASE
/// WHEN walk THEN ARRAY(<walk>) ELSE ARRAY(<among the capped ids>) END`, and the
/// capped ids are not collected). The text is the
/// same for every call with the same filters and sort, so the statement is prepared
/// once per connection and cached like any typed query.
struct CountedPage<'a, ST> {
    known: Option<KnownCount>,
    /// With `known`: the page's ids may come from a walk instead of the capped ids.
    walk: Option<Walk>,
    capped_ids: Box<dyn QueryFragment<Pg> + Send + 'a>,
    page_ids: Box<dyn QueryFragment<Pg> + Send + 'a>,
    from_ids: Box<dyn QueryFragment<Pg> + Send + 'a>,
    past_cap: Box<dyn QueryFragment<Pg> + Send + 'a>,
    sql_type: PhantomData<ST>,
}

impl<'a, ST> CountedPage<'a, ST> {
    /// The statement from its parts; both branches select the same columns.
    fn new<F, P>(
        known: Option<KnownCount>,
        walk: Option<Walk>,
        capped_ids: Box<dyn QueryFragment<Pg> + Send + 'a>,
        page_ids: impl QueryFragment<Pg> + Send + 'a,
        from_ids: F,
        past_cap: P,
    ) -> Self
    where
        F: Query<SqlType = ST> + QueryFragment<Pg> + Send + 'a,
        P: Query<SqlType = ST> + QueryFragment<Pg> + Send + 'a,
    {
        CountedPage {
            known,
            walk,
            capped_ids,
            page_ids: Box::new(page_ids),
            from_ids: Box::new(from_ids),
            past_cap: Box::new(past_cap),
            sql_type: PhantomData,
        }
    }
}

impl<ST> QueryId for CountedPage<'_, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: 'static> Query for CountedPage<'_, ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<Pg> for CountedPage<'_, ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match &self.known {
            None => {
                out.push_sql("WITH capped AS MATERIALIZED (SELECT ids, cardinality(ids) AS n FROM (SELECT ARRAY(");
                self.capped_ids.walk_ast(out.reborrow())?;
                out.push_sql(") AS ids) c)");
            }
            Some(known) => {
                // `k.walk`: the page's ids come from the walk; no ids are collected.
                out.push_sql(&format!(
                    "WITH capped AS MATERIALIZED (SELECT k.n, k.walk, CASE WHEN k.n > {COUNT_CAP} OR k.walk THEN '{{}}'::int8[] ELSE ARRAY("
                ));
                self.capped_ids.walk_ast(out.reborrow())?;
                out.push_sql(") END AS ids FROM (SELECT (");
                known.walk_ast(out.reborrow())?;
                out.push_sql(")::int8 AS n, ");
                match &self.walk {
                    Some(w) => w.cheaper.walk_ast(out.reborrow())?,
                    None => out.push_sql("false"),
                }
                out.push_sql(" AS walk) k)");
            }
        }
        out.push_sql(", page_ids AS MATERIALIZED (SELECT ");
        match &self.walk {
            Some(w) => {
                out.push_sql("CASE WHEN (SELECT walk FROM capped) THEN ARRAY(");
                w.walk.walk_ast(out.reborrow())?;
                out.push_sql(") ELSE ARRAY(");
                self.page_ids.walk_ast(out.reborrow())?;
                out.push_sql(") END");
            }
            None => {
                out.push_sql("ARRAY(");
                self.page_ids.walk_ast(out.reborrow())?;
                out.push_sql(")");
            }
        }
        out.push_sql(" AS ids) (");
        self.from_ids.walk_ast(out.reborrow())?;
        out.push_sql(") UNION ALL (");
        self.past_cap.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

/// One page of the Tenants list (`Tenant::list_counting_hidden`).
#[derive(Clone, Debug)]
pub struct ListPage {
    pub rows: Vec<TenantListRow>,
    /// How many tenants match.
    pub total: i64,
    /// How many tenants below the list's tenant the viewer may not see, when asked
    /// for (else 0).
    pub hidden: i64,
}

impl Tenant {
    /// The Tenants page: one page of visible descendants plus the total count, in one
    /// statement (a second one only when the page comes back empty).
    pub async fn list(
        conn: &mut AsyncPgConnection,
        q: &ListQuery,
    ) -> QueryResult<(Vec<TenantListRow>, i64)> {
        let page = Self::list_counting_hidden(conn, q, false).await?;
        Ok((page.rows, page.total))
    }

    /// `Tenant::list`, and with `count_hidden` how many tenants below `q.within` the
    /// viewer may not see (`Tenant::hidden_below` over the subtree), in the same
    /// statement: the page's rows carry it as a column (its own statement only when
    /// the page comes back empty).
    pub async fn list_counting_hidden(
        conn: &mut AsyncPgConnection,
        q: &ListQuery,
        count_hidden: bool,
    ) -> QueryResult<ListPage> {
        let below = q.visibility.below(&q.within);
        // On `tenants` alone (paths only in semi-joins), so that counting never joins.
        let filtered = || {
            let mut query = tenants::table
                .filter(tenants::id.ne(q.within.id))
                .into_boxed();
            // Below the root every tenant matches: skip the subtree test.
            if !q.within.is_root() {
                query = query.filter(in_subtrees(vec![q.within.id]));
            }
            if let Some(filter) = visible_filter(&below) {
                query = query.filter(filter);
            }
            filtered_by!(query, &q.filter)
        };
        // Subtree totals only where every subtree listed is visible whole.
        let totals = if below == Visibility::All {
            Totals::Subtree
        } else {
            Totals::Own
        };
        // The users and instances columns order by what they show: the subtree totals
        // where the rows carry them.
        let by_total = match (q.sort, totals) {
            (SortKey::Users, Totals::Subtree) => Some(TotalKey::Users),
            (SortKey::Instances, Totals::Subtree) => Some(TotalKey::Instances),
            _ => None,
        };
        let hidden = if count_hidden {
            HiddenBelow::new(q.within.id, &below)
        } else {
            HiddenBelow::none()
        };
        // Counting 100k rows costs more than the page itself: count up to a cap.
        let capped_ids = || filtered().select(tenants::id).limit(COUNT_CAP + 1);
        let f = &q.filter;
        let at_most_status = f.name.as_deref().is_none_or(str::is_empty)
            && f.reseller.is_none()
            && f.parent.is_none()
            && f.labels.is_empty();
        // Where the viewer sees the subtree whole and the filter is at most a status,
        // the totals know the count: past the cap nothing needs counting.
        let known = (below == Visibility::All && at_most_status).then(|| {
            let (counted, itself) = match f.enabled {
                None => (Counted::All, true),
                Some(false) => (Counted::Disabled, !q.within.enabled),
                Some(true) => (Counted::Enabled, q.within.enabled),
            };
            KnownCount {
                within: q.within.id,
                counted,
                less: i64::from(itself),
            }
        });
        // The matching ids from one index where one holds them all, without `tenants`:
        // a subtree unfiltered from the path index, a single label below the root from
        // the label index.
        let capped: Box<dyn QueryFragment<Pg> + Send> = match f.labels.as_slice() {
            _ if below != Visibility::All => Box::new(capped_ids()),
            [] if at_most_status && f.enabled.is_none() && !q.within.is_root() => Box::new(
                tenant_paths::table
                    .filter(tenant_paths::path.contains(vec![q.within.id]))
                    .filter(tenant_paths::tenant_id.ne(q.within.id))
                    .select(tenant_paths::tenant_id)
                    .limit(COUNT_CAP + 1),
            ),
            [label]
                if q.within.is_root()
                    && f.name.as_deref().is_none_or(str::is_empty)
                    && f.enabled.is_none()
                    && f.reseller.is_none()
                    && f.parent.is_none() =>
            {
                Box::new(
                    tenant_labels::table
                        .filter(tenant_labels::label.eq(label.clone()))
                        .filter(tenant_labels::tenant_id.ne(q.within.id))
                        .select(tenant_labels::tenant_id)
                        .limit(COUNT_CAP + 1),
                )
            }
            _ => Box::new(capped_ids()),
        };
        let offset = (q.page - 1).max(0) * q.per_page;
        // Up to the cap, the page picks from the ids just read: sorting a few thousand
        // rows fetched by key beats walking the name index past everything the filters
        // reject, which is what the planner picks for a small subtree of a big tree.
        // The sort and the page run on `tenants` (and the roles, for their order)
        // alone; only the page's rows join their paths.
        // By a subtree total, the page's ids come from the totals alone, by key.
        let page_ids: Box<dyn QueryFragment<Pg> + Send> = match by_total {
            None => Box::new(
                sorted!(
                    tenants::table
                        .inner_join(tenant_roles::table)
                        .filter(fixed::<Bool>(Piece::InCapped))
                        .select(tenants::id)
                        .into_boxed(),
                    q,
                    false
                )
                .limit(q.per_page)
                .offset(offset),
            ),
            Some(key) => Box::new(
                by_total!(
                    tenant_subtree_totals::table
                        .filter(fixed::<Bool>(Piece::TotalsInCapped))
                        .select(tenant_subtree_totals::tenant_id)
                        .into_boxed(),
                    key,
                    q.descending
                )
                .limit(q.per_page)
                .offset(offset),
            ),
        };
        let from_ids = sorted!(
            tenants::table
                .inner_join(tenant_roles::table)
                .inner_join(tenant_paths::table)
                .filter(fixed::<Bool>(Piece::WithinCap))
                .filter(fixed::<Bool>(Piece::OnPage))
                .select((
                    list_columns!(totals),
                    fixed::<BigInt>(Piece::Count),
                    hidden.clone(),
                ))
                .into_boxed(),
            q,
            by_total.is_some()
        );
        // Past the cap those ids are an arbitrary part of the matches: page through all.
        let past_cap = || {
            filtered()
                .filter(fixed::<Bool>(Piece::PastCap))
                .inner_join(tenant_roles::table)
                .inner_join(tenant_paths::table)
        };
        let columns = || {
            (
                list_columns!(totals),
                fixed::<BigInt>(Piece::CapPlusOne),
                hidden.clone(),
            )
        };
        // A subtree's disabled tenants by name: the page may come from walking them.
        let walk = (known.is_some()
            && f.enabled == Some(false)
            && q.sort == SortKey::Name
            && !q.within.is_root())
        .then(|| Walk {
            walk: DisabledWalk {
                within: q.within.id,
                descending: q.descending,
                limit: q.per_page,
                offset,
            },
            cheaper: WalkIsCheaper {
                within: q.within.id,
                budget: 4 * (offset + q.per_page),
            },
        });
        let statement = match by_total {
            None => CountedPage::new(
                known,
                walk,
                capped,
                page_ids,
                from_ids,
                sorted!(past_cap().select(columns()), q, false)
                    .limit(q.per_page)
                    .offset(offset),
            ),
            // Joined, so that the totals' index gives the order (no sort of every match).
            Some(key) => CountedPage::new(
                known,
                walk,
                capped,
                page_ids,
                from_ids,
                by_total!(
                    past_cap()
                        .inner_join(tenant_subtree_totals::table)
                        .select(columns()),
                    key,
                    q.descending
                )
                .limit(q.per_page)
                .offset(offset),
            ),
        };
        let counted: Vec<(TenantListRow, i64, i64)> = statement.load(conn).await?;
        let (total, hidden) = match <[_]>::first(&counted) {
            Some((_, total, hidden)) => (*total, *hidden),
            // No matches, or a page past the end: no row carried the counts.
            None => (
                capped_ids().load::<i64>(conn).await?.len() as i64,
                if hidden.counts() {
                    diesel::select(hidden).get_result(conn).await?
                } else {
                    0
                },
            ),
        };
        Ok(ListPage {
            rows: counted.into_iter().map(|(row, _, _)| row).collect(),
            total,
            hidden,
        })
    }
}

/// What `GET /api/v1/tenants` asks for: visible tenants, filtered, by id after a cursor.
#[derive(Clone, Debug)]
pub struct ApiListQuery {
    pub visibility: Visibility,
    pub filter: TenantFilter,
    /// This tenant and its descendants.
    pub subtree: Option<i64>,
    /// The descendants of this tenant (not itself).
    pub within: Option<i64>,
    pub after: Option<i64>,
    pub limit: i64,
}

impl Tenant {
    pub async fn api_page(
        conn: &mut AsyncPgConnection,
        q: &ApiListQuery,
    ) -> QueryResult<Vec<Tenant>> {
        let mut query = visible(with_path().into_boxed(), &q.visibility);
        query = filtered_by!(query, &q.filter);
        if let Some(s) = q.subtree {
            query = query.filter(tenant_paths::path.contains(vec![s]));
        }
        if let Some(w) = q.within {
            query = query
                .filter(tenant_paths::path.contains(vec![w]))
                .filter(tenants::id.ne(w));
        }
        if let Some(after) = q.after {
            query = query.filter(tenants::id.gt(after));
        }
        query
            .order(tenants::id.asc())
            .limit(q.limit)
            .select(Tenant::as_select())
            .load(conn)
            .await
    }
}

/// Where "every tenant matching this filter" (a bulk action's selection) is looked
/// for: exactly where one of the two lists looks, so the selection is what it shows.
#[derive(Clone, Debug)]
pub enum MatchScope {
    /// As the Tenants page lists them: the descendants of this tenant (not itself),
    /// in the page's default order (name, then id).
    Below(Box<Tenant>),
    /// As `GET /api/v1/tenants` lists them: every visible tenant (with `within`, the
    /// descendants of that one), by id.
    Visible { within: Option<i64> },
}

/// Every tenant a filter selects, up to `limit` ids.
#[derive(Clone, Debug)]
pub struct MatchQuery {
    pub visibility: Visibility,
    pub filter: TenantFilter,
    pub scope: MatchScope,
    /// Only these tenants (a previewed selection checked again), or all.
    pub among: Option<Vec<i64>>,
    pub limit: i64,
}

impl Tenant {
    /// The ids of the tenants `q` selects, in its list's order, at most `q.limit`.
    pub async fn matching_ids(
        conn: &mut AsyncPgConnection,
        q: &MatchQuery,
    ) -> QueryResult<Vec<i64>> {
        match &q.scope {
            MatchScope::Below(within) => {
                // `Tenant::list`'s filters, without its page and counts.
                let below = q.visibility.below(within);
                let mut query = tenants::table
                    .filter(tenants::id.ne(within.id))
                    .into_boxed();
                if !within.is_root() {
                    query = query.filter(in_subtrees(vec![within.id]));
                }
                if let Some(filter) = visible_filter(&below) {
                    query = query.filter(filter);
                }
                if let Some(among) = &q.among {
                    query = query.filter(tenants::id.eq_any(among.clone()));
                }
                filtered_by!(query, &q.filter)
                    .order((lower(tenants::name).asc(), tenants::id.asc()))
                    .select(tenants::id)
                    .limit(q.limit)
                    .load(conn)
                    .await
            }
            MatchScope::Visible { within } => {
                // `Tenant::api_page`'s filters, without its cursor.
                let mut query = visible(with_path().into_boxed(), &q.visibility);
                query = filtered_by!(query, &q.filter);
                if let Some(w) = within {
                    query = query
                        .filter(tenant_paths::path.contains(vec![*w]))
                        .filter(tenants::id.ne(*w));
                }
                if let Some(among) = &q.among {
                    query = query.filter(tenants::id.eq_any(among.clone()));
                }
                query
                    .order(tenants::id.asc())
                    .limit(q.limit)
                    .select(tenants::id)
                    .load(conn)
                    .await
            }
        }
    }
}

//! Plans (migration `plans`): their rows, the tenants on each with their quota use,
//! and [`effective_limit!`], the one SQL fragment every reader of a tenant's limit
//! uses (the lower of its own and its plan's).

use super::lower;
use super::tenant::visibility::visible_filter;
use super::Visibility;
use crate::db::schema::{plans, tenants, usage_monthly};
use crate::domain::plan::{PlanLimits, PlanOptions, SourcedLimit};
use crate::domain::sorting::{Order, PlanTenantSort};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

/// The id of the plan that governs the tenant row named `$t` in the statement: its
/// own plan, else that of its nearest ancestor with one (`NULL`: no plan anywhere on
/// its path, every option and only its own limits). The one rule (issue #16): a
/// tenant without its own plan is under the plan of its nearest ancestor that has
/// one. [`effective_limit!`] and [`Plan::governing`] both read it from here.
#[macro_export]
macro_rules! governing_plan_id {
    ($t:literal) => {
        $crate::governing_plan_holder!($t, "plan_id")
    };
}
pub use governing_plan_id;

/// The column `$col` of the tenant whose plan governs the tenant row named `$t`
/// ([`governing_plan_id!`]): itself or its nearest ancestor with a plan.
#[macro_export]
macro_rules! governing_plan_holder {
    ($t:literal, $col:literal) => {
        concat!(
            "(SELECT gt.",
            $col,
            " FROM tenant_paths gp \
             CROSS JOIN LATERAL unnest(gp.path) WITH ORDINALITY AS ga(id, n) \
             JOIN tenants gt ON gt.id = ga.id \
             WHERE gp.tenant_id = ",
            $t,
            ".id AND gt.plan_id IS NOT NULL ORDER BY ga.n DESC LIMIT 1)"
        )
    };
}
pub use governing_plan_holder;

/// The column `$col` of the plan governing the tenant row named `$t`
/// ([`governing_plan_id!`]; `NULL` under no plan): a correlated subquery.
#[macro_export]
macro_rules! governing_plan_column {
    ($t:literal, $col:literal) => {
        concat!(
            "(SELECT pl.",
            $col,
            " FROM plans pl WHERE pl.id = ",
            $crate::governing_plan_id!($t),
            ")"
        )
    };
}
pub use governing_plan_column;

/// A tenant's effective limit `$col` (a column of both `tenants` and `plans`) for the
/// tenant row named `$t` in the statement: the lower of its own and its governing
/// plan's ([`governing_plan_id!`]), either where the other is unset (`LEAST` skips
/// `NULL`s; `NULL`, unlimited, when neither is set). A tenant's own limit may only be
/// lower than its plan's (its edit and the plan's change refuse otherwise), so this
/// is its own where set; the lower one holds even where a row says otherwise. A
/// literal, so it joins `concat!`ed statements. A correlated subquery rather than a
/// join, so that a statement locking `$t`'s row (`FOR NO KEY UPDATE`) locks nothing
/// else.
#[macro_export]
macro_rules! effective_limit {
    ($t:literal, $col:literal) => {
        concat!(
            "LEAST(",
            $t,
            ".",
            $col,
            ", ",
            $crate::governing_plan_column!($t, $col),
            ")"
        )
    };
}
pub use effective_limit;

/// A plan as stored.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = plans, check_for_backend(Pg))]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub monthly_query_quota: Option<i64>,
    pub max_users: Option<i32>,
    pub max_instances: Option<i64>,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
    pub custom_branding: bool,
    pub custom_domain: bool,
    pub sub_tenants: bool,
    pub api_access: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Plan {
    pub fn limits(&self) -> PlanLimits {
        PlanLimits {
            monthly_query_quota: self.monthly_query_quota,
            max_users: self.max_users,
            max_instances: self.max_instances,
            storage_limit_gb: self.storage_limit_gb,
            memory_limit_gb: self.memory_limit_gb,
        }
    }

    /// The limits in effect for a tenant with the own limits `own` under `plan` (the
    /// plan governing it), each with where it comes from.
    pub fn sourced(own: &PlanLimits, plan: Option<&Plan>) -> [SourcedLimit; 5] {
        let limits = plan.map(Plan::limits);
        own.sourced(plan.map(|p| p.name.as_str()).zip(limits.as_ref()))
    }

    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            custom_branding: self.custom_branding,
            custom_domain: self.custom_domain,
            sub_tenants: self.sub_tenants,
            api_access: self.api_access,
        }
    }
}

/// A plan's fields as written.
#[derive(Clone, Debug, AsChangeset, Insertable)]
#[diesel(table_name = plans, treat_none_as_null = true)]
pub struct PlanRow<'a> {
    pub name: &'a str,
    pub monthly_query_quota: Option<i64>,
    pub max_users: Option<i32>,
    pub max_instances: Option<i64>,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
    pub custom_branding: bool,
    pub custom_domain: bool,
    pub sub_tenants: bool,
    pub api_access: bool,
    pub updated_at: DateTime<Utc>,
}

impl<'a> PlanRow<'a> {
    pub fn new(name: &'a str, l: PlanLimits, o: PlanOptions, now: DateTime<Utc>) -> Self {
        PlanRow {
            name,
            monthly_query_quota: l.monthly_query_quota,
            max_users: l.max_users,
            max_instances: l.max_instances,
            storage_limit_gb: l.storage_limit_gb,
            memory_limit_gb: l.memory_limit_gb,
            custom_branding: o.custom_branding,
            custom_domain: o.custom_domain,
            sub_tenants: o.sub_tenants,
            api_access: o.api_access,
            updated_at: now,
        }
    }
}

/// Id, name, subdomain, enabled, own quota, queries, and the ancestor it follows
/// the plan through, as `tenants_page` reads them.
type PlanTenantRow = (
    i64,
    String,
    String,
    bool,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// A tenant under a plan — on it, or following it through an ancestor — with its
/// quota and its use this month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanTenant {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
    pub enabled: bool,
    /// Its own quota (`None`: the plan's).
    pub own_quota: Option<i64>,
    /// Its queries in the month asked for (0 without usage).
    pub queries: i64,
    /// The ancestor (id, name) whose plan it follows, having none of its own
    /// (`None`: it is on the plan itself).
    pub via: Option<(i64, String)>,
}

/// How a plan's page lists its tenants ([`Plan::tenants_page`]).
#[derive(Clone, Copy, Debug)]
pub struct PlanTenantQuery {
    pub order: Order<PlanTenantSort>,
    /// Only tenants at 80 % of their quota or more (`domain::stats::quota_level`).
    pub near_only: bool,
    pub offset: i64,
    pub limit: i64,
}

/// A scalar over the `tenants` row and its `usage_monthly` row of the month (left
/// joined) that reads `q`, its quota in effect (its own, else the plan's
/// `plan_quota`, the lower of the two), and `qs`, its queries: `$expr` over them.
fn over_quota<ST: diesel::sql_types::SingleValue + Send + 'static>(
    plan_quota: Option<i64>,
    expr: &'static str,
) -> diesel::expression::SqlLiteral<
    ST,
    impl diesel::query_builder::QueryFragment<Pg> + Send + 'static,
> {
    use diesel::sql_types::{BigInt, Nullable};
    diesel::dsl::sql::<ST>("(SELECT ")
        .sql(expr)
        .sql(" FROM (SELECT LEAST(tenants.monthly_query_quota, ")
        .bind::<Nullable<BigInt>, _>(plan_quota)
        .sql(") AS q, COALESCE(usage_monthly.queries, 0) AS qs) quota_of)")
}

/// A tenant's quota use as a ratio (`NULL` without a quota; a quota of 0 used at
/// all is infinitely used), for ordering.
fn quota_use(
    plan_quota: Option<i64>,
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Nullable<diesel::sql_types::Double>,
    impl diesel::query_builder::QueryFragment<Pg> + Send + 'static,
> {
    over_quota::<diesel::sql_types::Nullable<diesel::sql_types::Double>>(
        plan_quota,
        "CASE WHEN q IS NULL THEN NULL WHEN q = 0 THEN \
         (CASE WHEN qs > 0 THEN 'Infinity'::float8 ELSE 0 END) ELSE qs::float8 / q END",
    )
}

/// Whether a tenant is near its quota or over it: at 80 % or more, as
/// `domain::stats::quota_level` judges it (not `Normal`).
fn near_quota(
    plan_quota: Option<i64>,
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    impl diesel::query_builder::QueryFragment<Pg> + Send + 'static,
> {
    over_quota::<diesel::sql_types::Bool>(
        plan_quota,
        "q IS NOT NULL AND (qs > q OR (q > 0 AND qs::numeric * 100 >= q::numeric * 80))",
    )
}

/// The tenants row (`tenants`) the plan bound as `$1`… governs: those on it and
/// those below them that follow it (no plan of their own, none closer). The
/// subtrees of the plan's tenants first (by the paths' index), then the rule.
fn governed_by<QS>(
    id: i64,
) -> impl diesel::expression::NonAggregate
       + diesel::query_builder::QueryFragment<Pg>
       + diesel::AppearsOnTable<QS, SqlType = diesel::sql_types::Bool>
       + Send
       + 'static {
    use diesel::sql_types::{BigInt, Bool};
    diesel::dsl::sql::<Bool>(
        "(tenants.id IN (SELECT sp.tenant_id FROM tenant_paths sp \
         WHERE sp.path && ARRAY(SELECT h.id FROM tenants h WHERE h.plan_id = ",
    )
    .bind::<BigInt, _>(id)
    .sql(")) AND ")
    .sql(crate::governing_plan_id!("tenants"))
    .sql(" = ")
    .bind::<BigInt, _>(id)
    .sql(")")
}

impl Plan {
    /// Every plan, by name.
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Plan>> {
        plans::table
            .order((lower(plans::name), plans::id))
            .select(Plan::as_select())
            .load(conn)
            .await
    }

    /// Plans by id after `after`, at most `limit` (the API's pages).
    pub async fn page(
        conn: &mut AsyncPgConnection,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<Plan>> {
        plans::table
            .filter(plans::id.gt(after.unwrap_or(0)))
            .order(plans::id)
            .limit(limit)
            .select(Plan::as_select())
            .load(conn)
            .await
    }

    /// The plan governing each of these tenants ([`governing_plan_id!`]: its own,
    /// else its nearest ancestor's), by tenant id; tenants under no plan left out.
    pub async fn governing(
        conn: &mut AsyncPgConnection,
        tenant_ids: &[i64],
    ) -> QueryResult<HashMap<i64, Plan>> {
        use diesel::sql_types::{Array, BigInt, Nullable};
        #[derive(QueryableByName)]
        struct Governed {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Nullable<BigInt>)]
            plan_id: Option<i64>,
        }
        if tenant_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<Governed> = diesel::sql_query(concat!(
            "SELECT t.id, ",
            crate::governing_plan_id!("t"),
            " AS plan_id FROM tenants t WHERE t.id = ANY($1)"
        ))
        .bind::<Array<BigInt>, _>(tenant_ids)
        .load(conn)
        .await?;
        let ids: Vec<i64> = rows.iter().filter_map(|r| r.plan_id).collect();
        let plans = plans_of(conn, &ids).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r.id, plans.get(&r.plan_id?)?.clone())))
            .collect())
    }

    /// The tenant whose plan governs tenant `tenant_id` ([`governing_plan_holder!`]:
    /// itself or its nearest ancestor with a plan), id and name; `None` when no
    /// tenant on its path is on a plan.
    pub async fn holder(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Option<(i64, String)>> {
        use diesel::sql_types::{BigInt, Nullable, Text};
        #[derive(QueryableByName)]
        struct Holder {
            #[diesel(sql_type = Nullable<BigInt>)]
            id: Option<i64>,
            #[diesel(sql_type = Nullable<Text>)]
            name: Option<String>,
        }
        let row: Option<Holder> = diesel::sql_query(concat!(
            "SELECT ",
            crate::governing_plan_holder!("t", "id"),
            " AS id, ",
            crate::governing_plan_holder!("t", "name"),
            " AS name FROM tenants t WHERE t.id = $1"
        ))
        .bind::<BigInt, _>(tenant_id)
        .get_result(conn)
        .await
        .optional()?;
        Ok(row.and_then(|r| r.id.zip(r.name)))
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Plan> {
        plans::table
            .find(id)
            .select(Plan::as_select())
            .first(conn)
            .await
    }

    /// The plan locked until the transaction ends: `FOR UPDATE` to change or delete
    /// it, `FOR SHARE` to check a tenant's limits against it (so neither changes
    /// between the other's check and its commit).
    pub async fn lock(
        conn: &mut AsyncPgConnection,
        id: i64,
        for_update: bool,
    ) -> QueryResult<Plan> {
        let q = plans::table.find(id).select(Plan::as_select());
        if for_update {
            q.for_update().first(conn).await
        } else {
            q.for_share().first(conn).await
        }
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        row: &PlanRow<'_>,
        now: DateTime<Utc>,
    ) -> QueryResult<Plan> {
        diesel::insert_into(plans::table)
            .values((row, plans::created_at.eq(now)))
            .returning(Plan::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        row: &PlanRow<'_>,
    ) -> QueryResult<Plan> {
        diesel::update(plans::table.find(id))
            .set(row)
            .returning(Plan::as_returning())
            .get_result(conn)
            .await
    }

    /// Puts these tenants on the plan (the demo data; the console and the API go
    /// through `services::tenants`, which checks limits and options).
    pub async fn assign(
        conn: &mut AsyncPgConnection,
        id: i64,
        tenant_ids: &[i64],
    ) -> QueryResult<usize> {
        diesel::update(tenants::table.filter(tenants::id.eq_any(tenant_ids.to_vec())))
            .set(tenants::plan_id.eq(Some(id)))
            .execute(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(plans::table.find(id)).execute(conn).await
    }

    /// Whether another plan (not `except`) has this name, in any case.
    pub async fn name_taken(
        conn: &mut AsyncPgConnection,
        name: &str,
        except: Option<i64>,
    ) -> QueryResult<bool> {
        let n: i64 = plans::table
            .filter(lower(plans::name).eq(name.to_lowercase()))
            .filter(plans::id.ne(except.unwrap_or(0)))
            .count()
            .get_result(conn)
            .await?;
        Ok(n > 0)
    }

    /// Each plan's tenants — on it or following it through an ancestor — counted,
    /// with their queries in `month` together (plans without any left out).
    pub async fn tenants_and_queries(
        conn: &mut AsyncPgConnection,
        month: NaiveDate,
    ) -> QueryResult<HashMap<i64, (i64, i64)>> {
        use diesel::sql_types::{BigInt, Date};
        #[derive(QueryableByName)]
        struct Sum {
            #[diesel(sql_type = BigInt)]
            plan_id: i64,
            #[diesel(sql_type = BigInt)]
            tenants: i64,
            #[diesel(sql_type = BigInt)]
            queries: i64,
        }
        let rows: Vec<Sum> = diesel::sql_query(concat!(
            "SELECT g.plan_id, count(*) AS tenants, COALESCE(SUM(u.queries), 0)::bigint AS queries \
             FROM (SELECT t.id, ",
            crate::governing_plan_id!("t"),
            " AS plan_id FROM tenants t) g \
             LEFT JOIN usage_monthly u ON u.tenant_id = g.id AND u.month = $1 \
             WHERE g.plan_id IS NOT NULL GROUP BY g.plan_id"
        ))
        .bind::<Date, _>(month)
        .load(conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.plan_id, (r.tenants, r.queries)))
            .collect())
    }

    /// How many tenants are on this plan.
    pub async fn tenant_count(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i64> {
        tenants::table
            .filter(tenants::plan_id.eq(id))
            .count()
            .get_result(conn)
            .await
    }

    /// One page of the plan's tenants that `visibility` lets the reader see, in
    /// `q`'s order, skipping `q.offset`, at most `q.limit`, with their queries in
    /// `month` (only those near or over their quota with `q.near_only`); and how
    /// many such tenants there are.
    pub async fn tenants_page(
        conn: &mut AsyncPgConnection,
        plan: &Plan,
        visibility: &Visibility,
        month: NaiveDate,
        q: &PlanTenantQuery,
    ) -> QueryResult<(Vec<PlanTenant>, i64)> {
        use diesel::sql_types::{BigInt, Nullable, Text};
        let id = plan.id;
        let with_use = || {
            tenants::table
                .left_join(
                    usage_monthly::table.on(usage_monthly::tenant_id
                        .eq(tenants::id)
                        .and(usage_monthly::month.eq(month))),
                )
                .filter(governed_by(id))
                .into_boxed()
        };
        let (mut count_q, mut rows_q) = (with_use(), with_use());
        if let Some(f) = visible_filter(visibility) {
            count_q = count_q.filter(f.clone());
            rows_q = rows_q.filter(f);
        }
        if q.near_only {
            count_q = count_q.filter(near_quota(plan.monthly_query_quota));
            rows_q = rows_q.filter(near_quota(plan.monthly_query_quota));
        }
        let total: i64 = count_q.count().get_result(conn).await?;
        let by_name = lower(tenants::name);
        rows_q = match (q.order.key, q.order.descending) {
            (Some(PlanTenantSort::QuotaUse), false) => rows_q.order((
                quota_use(plan.monthly_query_quota).asc().nulls_last(),
                by_name.asc(),
                tenants::id.asc(),
            )),
            (Some(PlanTenantSort::QuotaUse), true) => rows_q.order((
                quota_use(plan.monthly_query_quota).desc().nulls_last(),
                by_name.asc(),
                tenants::id.asc(),
            )),
            (_, false) => rows_q.order((by_name.asc(), tenants::id.asc())),
            (_, true) => rows_q.order((by_name.desc(), tenants::id.desc())),
        };
        let rows: Vec<PlanTenantRow> = rows_q
            .offset(q.offset)
            .limit(q.limit)
            .select((
                tenants::id,
                tenants::name,
                tenants::subdomain,
                tenants::enabled,
                tenants::monthly_query_quota,
                usage_monthly::queries.nullable(),
                diesel::dsl::sql::<Nullable<BigInt>>(concat!(
                    "CASE WHEN tenants.plan_id IS NULL THEN ",
                    crate::governing_plan_holder!("tenants", "id"),
                    " END"
                )),
                diesel::dsl::sql::<Nullable<Text>>(concat!(
                    "CASE WHEN tenants.plan_id IS NULL THEN ",
                    crate::governing_plan_holder!("tenants", "name"),
                    " END"
                )),
            ))
            .load(conn)
            .await?;
        Ok((
            rows.into_iter()
                .map(
                    |(id, name, subdomain, enabled, own_quota, q, via_id, via_name)| PlanTenant {
                        id,
                        name,
                        subdomain,
                        enabled,
                        own_quota,
                        queries: q.unwrap_or(0),
                        via: via_id.zip(via_name),
                    },
                )
                .collect(),
            total,
        ))
    }
}

/// The CTEs `top` and `governed` of [`judge`]:
/// each top (the ids bound as `$1`, and the tenants on the plan bound as `$2`) with
/// every tenant below it that has no plan of its own between (`governing_plan_id!`),
/// `is_top` marking the tops.
macro_rules! governed_cte {
    () => {
        "WITH top AS ( \
           SELECT id FROM unnest($1::bigint[]) AS t(id) \
           UNION SELECT id FROM tenants WHERE plan_id = $2 \
         ), governed AS ( \
           SELECT p.tenant_id AS id, p.tenant_id = top.id AS is_top \
           FROM top JOIN tenant_paths p ON p.path @> ARRAY[top.id] \
           WHERE NOT EXISTS ( \
             SELECT 1 FROM unnest(p.path[array_position(p.path, top.id) + 1:]) AS b(id) \
             JOIN tenants x ON x.id = b.id WHERE x.plan_id IS NOT NULL) \
         )"
    };
}

/// The tenants a plan governs, or would, that [`Plan::misfits`] judges.
#[derive(Clone, Copy, Debug)]
pub enum Governed<'a> {
    /// Those the plan governs now: the tenants on it and those inheriting it from
    /// them (no plan of their own on the path below).
    By(i64),
    /// Each of these tenants and those inheriting from it: a subtree that comes
    /// under another plan (a move of a tenant without a plan of its own).
    Tops(&'a [i64]),
    /// A tenant switching plan and those inheriting from it. Its own limits are
    /// judged by its edit with the values it saves; its custom domain here only
    /// when the edit keeps it (`keeps_domain`: one it sets is the edit's to judge,
    /// one it clears stops serving).
    Switching { id: i64, keeps_domain: bool },
}

impl Governed<'_> {
    /// What [`governed_cte!`] binds: the tops given (`$1`), the plan (`$2`).
    fn binds(&self) -> (Vec<i64>, Option<i64>) {
        match *self {
            Governed::By(plan) => (Vec::new(), Some(plan)),
            Governed::Tops(ids) => (ids.to_vec(), None),
            Governed::Switching { id, .. } => (vec![id], None),
        }
    }
}

/// Per field of a plan (a limit of `PlanLimits::FIELDS` or an option's
/// `PlanOption::field`), the tenants that do not fit it: the first names (by name)
/// and how many there are.
pub type Misfits = Vec<(String, Vec<String>, i64)>;

/// What [`judge`] reads of each tenant it judges: the field, the tenant's name, an
/// amount (what it uses or has, 0 where nothing is counted) and how many tenants
/// the field has.
#[derive(QueryableByName)]
struct Judged {
    #[diesel(sql_type = diesel::sql_types::Text)]
    field: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// A statement of [`judge`] as it is bound, parameter after parameter.
type JudgeQuery =
    diesel::query_builder::BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery>;

/// The one shape of [`Plan::misfits`], [`Plan::dormant`] and [`Plan::over_use`]:
/// the tenants of `governed` ([`governed_cte!`]: `$1` the tops, `$2` the plan) that
/// `judged` picks — SQL selecting `field, name, id, amount` from `governed g` (its
/// `is_top`) joined as it needs, its own parameters from `$4` on, bound by `bind` —
/// ranked per field by name, the first `max` (`$3`) of each with how many there are.
async fn judge(
    conn: &mut AsyncPgConnection,
    governed: Governed<'_>,
    judged: &str,
    max: i64,
    bind: impl FnOnce(JudgeQuery) -> JudgeQuery,
) -> QueryResult<Vec<(String, Vec<(String, i64)>, i64)>> {
    use diesel::sql_types::{Array, BigInt, Nullable};
    let (tops, by_plan) = governed.binds();
    let sql = format!(
        "{}, judged AS ({judged}), ranked AS ( \
           SELECT field, name, amount, count(*) OVER (PARTITION BY field) AS total, \
             row_number() OVER (PARTITION BY field ORDER BY lower(name), id) AS n \
           FROM judged \
         ) \
         SELECT field, name, amount, total FROM ranked WHERE n <= $3 ORDER BY field, n",
        governed_cte!()
    );
    let query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<Array<BigInt>, _>(tops)
        .bind::<Nullable<BigInt>, _>(by_plan)
        .bind::<BigInt, _>(max);
    let rows: Vec<Judged> = bind(query).load(conn).await?;
    Ok(per_field(
        rows.into_iter()
            .map(|r| (r.field, (r.name, r.amount), r.total)),
    ))
}

impl Plan {
    /// The tenants of `governed` that a plan with `limits` would not fit, per limit
    /// field: their own limit above it (a tenant's own limits may only be lower than
    /// its plan's). Options are not judged here: what a plan lacks that a tenant
    /// uses goes dormant ([`Plan::dormant`]). At most `max` names per field.
    pub async fn misfits(
        conn: &mut AsyncPgConnection,
        governed: Governed<'_>,
        limits: &PlanLimits,
        max: i64,
    ) -> QueryResult<Misfits> {
        use diesel::sql_types::{BigInt, Bool, Integer, Nullable};
        // The tops' limits judged too? (A switching tenant's are its edit's.)
        let top_limits = !matches!(governed, Governed::Switching { .. });
        let judged = judge(
            conn,
            governed,
            "SELECT f.field, t.name, t.id, 0::bigint AS amount FROM governed g \
             JOIN tenants t ON t.id = g.id \
             CROSS JOIN LATERAL (VALUES \
               ('monthly_query_quota', (NOT g.is_top OR $4) AND t.monthly_query_quota > $5), \
               ('max_users', (NOT g.is_top OR $4) AND t.max_users > $6), \
               ('max_instances', (NOT g.is_top OR $4) AND t.max_instances > $7), \
               ('storage_limit_gb', (NOT g.is_top OR $4) AND t.storage_limit_gb > $8), \
               ('memory_limit_gb', (NOT g.is_top OR $4) AND t.memory_limit_gb > $9) \
             ) AS f(field, misfit) \
             WHERE f.misfit",
            max,
            |q| {
                q.bind::<Bool, _>(top_limits)
                    .bind::<Nullable<BigInt>, _>(limits.monthly_query_quota)
                    .bind::<Nullable<Integer>, _>(limits.max_users)
                    .bind::<Nullable<BigInt>, _>(limits.max_instances)
                    .bind::<Nullable<BigInt>, _>(limits.storage_limit_gb)
                    .bind::<Nullable<BigInt>, _>(limits.memory_limit_gb)
            },
        )
        .await?;
        Ok(judged
            .into_iter()
            .map(|(field, named, total)| {
                (
                    field,
                    named.into_iter().map(|(name, _)| name).collect(),
                    total,
                )
            })
            .collect())
    }

    /// The tenants of `governed` that use an option `options` lacks, per option
    /// field (`PlanOption::field`): what they have stays but goes dormant while the
    /// plan lacks it — a custom domain (serving or pending: not served, not
    /// verified), branding values of their own (kept, not shown), their users'
    /// usable API tokens at `now` (refused at request time; counted), sub-tenants
    /// (they stay, no new ones; counted). The first `max` (by name) with the count,
    /// and how many tenants there are.
    pub async fn dormant(
        conn: &mut AsyncPgConnection,
        governed: Governed<'_>,
        options: &PlanOptions,
        now: DateTime<Utc>,
        max: i64,
    ) -> QueryResult<OverUse> {
        use diesel::sql_types::{Bool, Timestamptz};
        // A switching tenant's custom domain only when its edit keeps it (one it
        // sets is refused by the edit, one it clears is gone).
        let top_domain = match governed {
            Governed::Switching { keeps_domain, .. } => keeps_domain,
            _ => true,
        };
        judge(
            conn,
            governed,
            "SELECT f.field, t.name, t.id, f.amount FROM governed g \
             JOIN tenants t ON t.id = g.id \
             CROSS JOIN LATERAL (VALUES \
               ('custom_domain', NOT $4 AND (NOT g.is_top OR $9) \
                  AND t.custom_domain IS NOT NULL, 0::bigint), \
               ('custom_branding', NOT $5 AND EXISTS (SELECT 1 FROM tenant_branding b \
                  WHERE b.tenant_id = t.id AND num_nonnulls(b.product_name, \
                  b.primary_color, b.support_email, b.support_url, b.logo) > 0), 0::bigint), \
               ('api_access', NOT $6, (SELECT count(*) FROM users u \
                  JOIN api_tokens k ON k.user_id = u.id WHERE u.tenant_id = t.id \
                  AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $7))), \
               ('sub_tenants', NOT $8, (SELECT count(*) FROM tenants c WHERE c.parent_id = t.id)) \
             ) AS f(field, lacked, amount) \
             WHERE f.lacked AND (f.field IN ('custom_domain', 'custom_branding') OR f.amount > 0)",
            max,
            |q| {
                q.bind::<Bool, _>(options.custom_domain)
                    .bind::<Bool, _>(options.custom_branding)
                    .bind::<Bool, _>(options.api_access)
                    .bind::<Timestamptz, _>(now)
                    .bind::<Bool, _>(options.sub_tenants)
                    .bind::<Bool, _>(top_domain)
            },
        )
        .await
    }

    /// The tenants of `governed` whose use is above one of `limits` where that
    /// limit is theirs — no own limit of that kind, so the plan's applies: their
    /// subtree's users, instances, storage or memory (`tenant_subtree_totals`) above
    /// it, per field of `PlanLimits::FIELDS`, the first `max` (by name) with their
    /// use, and how many there are. Such a plan is kept, as an own limit set below
    /// use is: only growth is refused.
    pub async fn over_use(
        conn: &mut AsyncPgConnection,
        governed: Governed<'_>,
        limits: &PlanLimits,
        max: i64,
    ) -> QueryResult<OverUse> {
        use diesel::sql_types::{BigInt, Integer, Nullable};
        judge(
            conn,
            governed,
            "SELECT f.field, t.name, t.id, f.used AS amount FROM governed g \
             JOIN tenants t ON t.id = g.id \
             JOIN tenant_subtree_totals s ON s.tenant_id = t.id \
             CROSS JOIN LATERAL (VALUES \
               ('max_users', t.max_users IS NULL AND s.user_count > $4, s.user_count), \
               ('max_instances', t.max_instances IS NULL AND s.instance_count > $5, \
                  s.instance_count), \
               ('storage_limit_gb', t.storage_limit_gb IS NULL AND s.storage_gb > $6, \
                  s.storage_gb), \
               ('memory_limit_gb', t.memory_limit_gb IS NULL AND s.memory_gb > $7, \
                  s.memory_gb) \
             ) AS f(field, over, used) \
             WHERE f.over",
            max,
            |q| {
                q.bind::<Nullable<Integer>, _>(limits.max_users)
                    .bind::<Nullable<BigInt>, _>(limits.max_instances)
                    .bind::<Nullable<BigInt>, _>(limits.storage_limit_gb)
                    .bind::<Nullable<BigInt>, _>(limits.memory_limit_gb)
            },
        )
        .await
    }
}

/// Rows (field, item, how many the field has) ordered by field, gathered per field.
fn per_field<T>(rows: impl IntoIterator<Item = (String, T, i64)>) -> Vec<(String, Vec<T>, i64)> {
    let mut out: Vec<(String, Vec<T>, i64)> = Vec::new();
    for (field, item, total) in rows {
        match out.last_mut() {
            Some((f, items, _)) if *f == field => items.push(item),
            _ => out.push((field, vec![item], total)),
        }
    }
    out
}

/// Per limit field, the tenants using more than a plan's limit ([`Plan::over_use`]):
/// the first names with their use, and how many there are.
pub type OverUse = Vec<(String, Vec<(String, i64)>, i64)>;

/// The plans of these tenants' ids (tenants without a plan left out).
pub async fn plans_of(
    conn: &mut AsyncPgConnection,
    plan_ids: &[i64],
) -> QueryResult<HashMap<i64, Plan>> {
    let rows: Vec<Plan> = plans::table
        .filter(plans::id.eq_any(plan_ids.to_vec()))
        .select(Plan::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|p| (p.id, p)).collect())
}

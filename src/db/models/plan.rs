//! Plans (migration `plans`): their rows, the tenants on each with their quota use,
//! and [`effective_limit!`], the one SQL fragment every reader of a tenant's limit
//! uses (its own where set, else its plan's).

use super::lower;
use super::tenant::visibility::visible_filter;
use super::Visibility;
use crate::db::schema::{plans, tenants, usage_monthly, users};
use crate::domain::plan::{PlanLimits, PlanOptions};
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

/// A tenant's effective limit `$col` (a column of both `tenants` and `plans`) for the
/// tenant row named `$t` in the statement: its own where set, else its governing
/// plan's ([`governing_plan_id!`]; `NULL`, unlimited, when neither). A literal, so it
/// joins `concat!`ed statements. A correlated subquery rather than a join, so that a
/// statement locking `$t`'s row (`FOR NO KEY UPDATE`) locks nothing else.
#[macro_export]
macro_rules! effective_limit {
    ($t:literal, $col:literal) => {
        concat!(
            "COALESCE(",
            $t,
            ".",
            $col,
            ", (SELECT pl.",
            $col,
            " FROM plans pl WHERE pl.id = ",
            $crate::governing_plan_id!($t),
            "))"
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

/// The tenants row (`tenants`) the plan bound as `$1`… governs: those on it and
/// those below them that follow it (no plan of their own, none closer). The
/// subtrees of the plan's tenants first (by the paths' index), then the rule.
fn governed_by<QS>(
    id: i64,
) -> impl diesel::Expression<SqlType = diesel::sql_types::Bool>
       + diesel::expression::NonAggregate
       + diesel::query_builder::QueryFragment<Pg>
       + diesel::AppearsOnTable<QS>
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

    /// The plan governing the user's home tenant ([`Plan::governing`]), if any.
    pub async fn of_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Option<Plan>> {
        let home: i64 = users::table
            .find(user_id)
            .select(users::tenant_id)
            .first(conn)
            .await?;
        Ok(Plan::governing(conn, &[home]).await?.remove(&home))
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

    /// The names (at most `max`, by name) and the number of the plan's tenants whose
    /// own `field` limit (one of `PlanLimits::FIELDS`) is above `most`.
    pub async fn tenants_above(
        conn: &mut AsyncPgConnection,
        id: i64,
        field: &str,
        most: i64,
        max: i64,
    ) -> QueryResult<(Vec<String>, i64)> {
        use diesel::sql_types::BigInt;
        #[derive(QueryableByName)]
        struct Above {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = BigInt)]
            total: i64,
        }
        // The column is one of a fixed list, never the request's text.
        let Some(column) = PlanLimits::FIELDS.into_iter().find(|f| *f == field) else {
            return Ok((Vec::new(), 0));
        };
        let rows: Vec<Above> = diesel::sql_query(format!(
            "SELECT name, count(*) OVER () AS total FROM tenants \
             WHERE plan_id = $1 AND {column} > $2 ORDER BY lower(name), id LIMIT $3"
        ))
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(most)
        .bind::<BigInt, _>(max)
        .load(conn)
        .await?;
        let total = rows.as_slice().first().map_or(0, |r| r.total);
        Ok((rows.into_iter().map(|r| r.name).collect(), total))
    }

    /// One page of the plan's tenants that `visibility` lets the reader see, by name,
    /// skipping `offset`, at most `limit`, with their queries in `month`; and how many
    /// such tenants there are.
    pub async fn tenants_page(
        conn: &mut AsyncPgConnection,
        id: i64,
        visibility: &Visibility,
        month: NaiveDate,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<PlanTenant>, i64)> {
        use diesel::sql_types::{BigInt, Nullable, Text};
        let mut count_q = tenants::table.filter(governed_by(id)).into_boxed();
        let mut rows_q = tenants::table
            .left_join(
                usage_monthly::table.on(usage_monthly::tenant_id
                    .eq(tenants::id)
                    .and(usage_monthly::month.eq(month))),
            )
            .filter(governed_by(id))
            .into_boxed();
        if let Some(f) = visible_filter(visibility) {
            count_q = count_q.filter(f.clone());
            rows_q = rows_q.filter(f);
        }
        let total: i64 = count_q.count().get_result(conn).await?;
        let rows: Vec<PlanTenantRow> = rows_q
            .order((lower(tenants::name), tenants::id))
            .offset(offset)
            .limit(limit)
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

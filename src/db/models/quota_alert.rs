//! Quota threshold alerts: the thresholds each tenant crossed per month (one row
//! each, the key that makes an alert go out once), and who opted in to the alerts
//! of the tenants below those they own (migration `quota_alerts_and_reports`).

use crate::db::schema::{grants, quota_alert_opt_ins};
use crate::domain::{GrantRole, Scope};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, SmallInt, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A threshold a tenant's own queries crossed in a month, with the numbers then.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct Crossing {
    #[diesel(sql_type = BigInt)]
    pub tenant_id: i64,
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    /// 80 or 100 (percent).
    #[diesel(sql_type = SmallInt)]
    pub threshold: i16,
    #[diesel(sql_type = BigInt)]
    pub queries: i64,
    #[diesel(sql_type = BigInt)]
    pub quota: i64,
}

/// Records every threshold the tenant-months `keys` now stand past and had not
/// crossed before; returns those (new) crossings. The conditions are
/// `domain::stats::quota_level`'s, so an alert says what the stats page shows: 80
/// from "near the quota" (80 % or more of a quota above 0), 100 from the quota
/// reached exactly or passed (at least as many queries as the quota, and some;
/// 100 implies 80 too). Run in the
/// fold's transaction after its counts: folds take turns on the fold lock, and a
/// threshold already recorded is not recorded again.
pub async fn record_crossings(
    conn: &mut AsyncPgConnection,
    keys: &[(i64, NaiveDate)],
    now: DateTime<Utc>,
) -> QueryResult<Vec<Crossing>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (tenants, months): (Vec<i64>, Vec<NaiveDate>) = keys.iter().copied().unzip();
    // unnest over arrays has no DSL form.
    // `t.monthly_query_quota` is the effective quota (own, else the plan's).
    diesel::sql_query(concat!(
        "INSERT INTO quota_alerts AS a (tenant_id, month, threshold, queries, quota, created_at) \
         SELECT u.tenant_id, u.month, th.threshold, u.queries, t.monthly_query_quota, $3 \
         FROM unnest($1::bigint[], $2::date[]) AS k(tenant_id, month) \
         JOIN usage_monthly u ON u.tenant_id = k.tenant_id AND u.month = k.month \
         JOIN tenants t0 ON t0.id = u.tenant_id \
         CROSS JOIN LATERAL (SELECT ",
        crate::effective_limit!("t0", "monthly_query_quota"),
        " AS monthly_query_quota) t \
         CROSS JOIN (VALUES (80::smallint), (100::smallint)) AS th(threshold) \
         WHERE t.monthly_query_quota IS NOT NULL \
           AND ((u.queries >= t.monthly_query_quota AND u.queries > 0) \
                OR (th.threshold = 80 AND t.monthly_query_quota > 0 \
                    AND u.queries::numeric * 100 >= t.monthly_query_quota::numeric * 80)) \
         ORDER BY u.tenant_id, u.month, th.threshold \
         ON CONFLICT DO NOTHING \
         RETURNING a.tenant_id, a.month, a.threshold, a.queries, a.quota",
    ))
    .bind::<Array<BigInt>, _>(tenants)
    .bind::<Array<Date>, _>(months)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// The users an alert of tenant `tenant_id` (whose ancestors are `ancestors`) is
/// for: its Owners (an Owner grant on it, either scope), and the Owners of the
/// whole subtree of an ancestor who opted in. Whether each may read the tenant's
/// statistics is authz's question, asked by the caller.
pub async fn owners_to_alert(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    ancestors: &[i64],
) -> QueryResult<Vec<i64>> {
    use diesel::dsl::exists;
    let opted_in =
        exists(quota_alert_opt_ins::table.filter(quota_alert_opt_ins::user_id.eq(grants::user_id)));
    grants::table
        .filter(grants::role.eq(GrantRole::Owner))
        .filter(
            grants::tenant_id.eq(tenant_id).or(grants::scope
                .eq(Scope::Subtree)
                .and(grants::tenant_id.eq_any(ancestors))
                .and(opted_in)),
        )
        .select(grants::user_id)
        .distinct()
        .order(grants::user_id)
        .load(conn)
        .await
}

/// Whether the user wants the alerts of the tenants below those they own.
pub async fn opted_in(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        quota_alert_opt_ins::table.filter(quota_alert_opt_ins::user_id.eq(user_id)),
    ))
    .get_result(conn)
    .await
}

/// Opts the user in or out; returns whether that changed anything.
pub async fn set_opt_in(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    on: bool,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = if on {
        diesel::insert_into(quota_alert_opt_ins::table)
            .values((
                quota_alert_opt_ins::user_id.eq(user_id),
                quota_alert_opt_ins::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?
    } else {
        diesel::delete(quota_alert_opt_ins::table.find(user_id))
            .execute(conn)
            .await?
    };
    Ok(n == 1)
}

//! Monthly usage report subscriptions (migration `quota_alerts_and_reports`): who
//! gets which tenant's report on which day, and which month was last handled.

use crate::db::models::tenant::with_path;
use crate::db::models::Tenant;
use crate::db::schema::{report_subscriptions, tenants};
use crate::domain::stats::{ReportRequest, ReportScope, UsageMailRefusal};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = report_subscriptions, check_for_backend(Pg))]
pub struct ReportSubscription {
    pub id: i64,
    pub user_id: i64,
    pub tenant_id: i64,
    pub day_of_month: i16,
    pub scope: ReportScope,
    /// The month (first day) last handled: sent, skipped while suspended, or
    /// passed over on subscribing after its day.
    pub last_month: Option<NaiveDate>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspended_reason: Option<UsageMailRefusal>,
    pub created_at: DateTime<Utc>,
    /// The month (first day) whose report was last mailed; `None`: none yet.
    pub last_sent: Option<NaiveDate>,
}

impl ReportSubscription {
    /// Subscribes; `None` when the user already has this tenant's report of this scope.
    /// `handled` is the month taken as already handled (see `services::reports`).
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        tenant_id: i64,
        request: ReportRequest,
        handled: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> QueryResult<Option<ReportSubscription>> {
        diesel::insert_into(report_subscriptions::table)
            .values((
                report_subscriptions::user_id.eq(user_id),
                report_subscriptions::tenant_id.eq(tenant_id),
                report_subscriptions::day_of_month.eq(request.day_of_month),
                report_subscriptions::scope.eq(request.scope),
                report_subscriptions::last_month.eq(handled),
                report_subscriptions::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .returning(ReportSubscription::as_returning())
            .get_result(conn)
            .await
            .optional()
    }

    /// The user's subscriptions to the tenant's reports, oldest first.
    pub async fn of_user_on(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        tenant_id: i64,
    ) -> QueryResult<Vec<ReportSubscription>> {
        report_subscriptions::table
            .filter(report_subscriptions::user_id.eq(user_id))
            .filter(report_subscriptions::tenant_id.eq(tenant_id))
            .order(report_subscriptions::id)
            .select(ReportSubscription::as_select())
            .load(conn)
            .await
    }

    /// Every subscription of the user with its tenant, by the tenant's name.
    pub async fn of_user(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Vec<(ReportSubscription, Tenant)>> {
        report_subscriptions::table
            .inner_join(with_path())
            .filter(report_subscriptions::user_id.eq(user_id))
            .order((tenants::name, tenants::id, report_subscriptions::id))
            .select((ReportSubscription::as_select(), Tenant::as_select()))
            .load(conn)
            .await
    }

    /// The user's subscription `id` (on tenant `on` when given; not found for anyone
    /// else's).
    pub async fn find_own(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        id: i64,
        on: Option<i64>,
    ) -> QueryResult<ReportSubscription> {
        let mut query = report_subscriptions::table
            .filter(report_subscriptions::id.eq(id))
            .filter(report_subscriptions::user_id.eq(user_id))
            .select(ReportSubscription::as_select())
            .into_boxed();
        if let Some(tenant_id) = on {
            query = query.filter(report_subscriptions::tenant_id.eq(tenant_id));
        }
        query.first(conn).await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(report_subscriptions::table.find(id))
            .execute(conn)
            .await
    }

    /// Claims one subscription due on `today` for `month` (the month to report):
    /// its day has come this month and `month` has not been handled. Locked `FOR
    /// UPDATE SKIP LOCKED`, so processes running the job at once take different
    /// rows; the caller marks it handled in the same transaction.
    pub async fn claim_due(
        conn: &mut AsyncPgConnection,
        today_day: i16,
        month: NaiveDate,
    ) -> QueryResult<Option<ReportSubscription>> {
        report_subscriptions::table
            .filter(report_subscriptions::day_of_month.le(today_day))
            .filter(
                report_subscriptions::last_month
                    .is_null()
                    .or(report_subscriptions::last_month.lt(month)),
            )
            .order(report_subscriptions::id)
            .select(ReportSubscription::as_select())
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()
    }

    /// `month` handled: sent (suspension lifted), or not sent for the reason given
    /// (suspended since `at`; the month last sent stays).
    pub async fn handled(
        conn: &mut AsyncPgConnection,
        id: i64,
        month: NaiveDate,
        suspended: Option<(UsageMailRefusal, DateTime<Utc>)>,
    ) -> QueryResult<usize> {
        let target = report_subscriptions::table.find(id);
        let handled = report_subscriptions::last_month.eq(Some(month));
        match suspended {
            None => {
                diesel::update(target)
                    .set((
                        handled,
                        report_subscriptions::last_sent.eq(Some(month)),
                        report_subscriptions::suspended_reason.eq(None::<UsageMailRefusal>),
                        report_subscriptions::suspended_at.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(conn)
                    .await
            }
            Some((reason, at)) => {
                diesel::update(target)
                    .set((
                        handled,
                        report_subscriptions::suspended_reason.eq(Some(reason)),
                        report_subscriptions::suspended_at.eq(Some(at)),
                    ))
                    .execute(conn)
                    .await
            }
        }
    }
}

/// The direct children of tenant `id`, by name.
pub async fn children_of(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<Tenant>> {
    with_path()
        .filter(tenants::parent_id.eq(id))
        .order((tenants::name, tenants::id))
        .select(Tenant::as_select())
        .load(conn)
        .await
}

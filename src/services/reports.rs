//! Monthly usage reports by mail: Owners subscribe to a tenant's report (a day of
//! the month, 1–28, and one report for the whole subtree or one per direct child);
//! on that day (UTC) the report job mails the previous month's statistics as the
//! CSV export's file, with a link to the printable page, through the outbox.
//!
//! Exactly once per month: the job claims a due subscription `FOR UPDATE SKIP
//! LOCKED` and, in the same transaction, queues its mails and records the month as
//! handled (`last_month`); several processes running the job take different rows,
//! and a second run on the same day finds nothing due. At send time the subscriber
//! needs what subscribing needs (an Owner over the tenant,
//! `authz::report_mail_refusal`), and the rows are those of their CSV export: one
//! who may no longer read the tenant's statistics, is no longer an Owner over it, or
//! whose account has lost its email address, gets nothing, and the subscription is
//! marked suspended with that reason (shown on their profile and the tenant's list)
//! until a month in which it can be sent again. Subscribing takes an email address
//! on the account: a report to no one would never arrive. The subscriber lists and
//! cancels their subscriptions on their profile whatever their role is now (the
//! mails link there): cancelling only stops their own mail.

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::outbox::Attachment;
use crate::db::models::report_subscription::{children_of, ReportSubscription};
use crate::db::models::Tenant;
use crate::db::set_lock_timeout;
use crate::domain::activity::Action;
use crate::domain::csv_text;
use crate::domain::stats::{
    Month, Period, ReportRequest, ReportScope, StatsSort, UsageMailRefusal,
};
use crate::error::{AppError, FieldErrors};
use crate::mail::{self, UsageReport, PUBLIC_URL_PLACEHOLDER};
use crate::services::usage_stats::{row_cells, StatsReader, CSV_HEADER};
use chrono::{DateTime, Datelike, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// Where a subscriber lists and cancels their reports (the mails link there).
pub const PROFILE_REPORTS: &str = "/profile#reports";

/// The refusal of a subscription from an account without an email address (the
/// form shows it with a link to the profile, which says where to add one).
pub const NO_EMAIL: &str = "Reports are sent by email, and your account has no email address: \
     add one first (your profile says where), then subscribe.";

/// The user's subscriptions to the tenant's reports (403 unless they may subscribe).
pub async fn subscriptions(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<Vec<ReportSubscription>, AppError> {
    authz::require_report_subscriber(p, tenant)?;
    Ok(ReportSubscription::of_user_on(conn, p.user.id, tenant.id).await?)
}

/// Subscribes `p` to the tenant's monthly report. The first report goes out on the
/// next chosen day: today, if today is that day; next month if it has passed.
pub async fn subscribe(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    request: ReportRequest,
    now: DateTime<Utc>,
) -> Result<ReportSubscription, AppError> {
    authz::require_report_subscriber(p, tenant)?;
    if !p.user.has_email() {
        return Err(AppError::field("email", NO_EMAIL));
    }
    if request.scope == ReportScope::Children && !authz::can_report_per_child(p, tenant) {
        return Err(AppError::field(
            "scope",
            "You do not see this tenant's sub-tenants, so there is no report per direct \
             child for you: choose the whole subtree.",
        ));
    }
    let today = now.date_naive();
    let this_month = Month::of(today);
    // A day already past this month: this month's report (of last month) is not
    // sent late on subscribing; the first one comes next month.
    let handled = (today.day() > u32::from(request.day_of_month.unsigned_abs()))
        .then(|| this_month.previous().first_day());
    conn.transaction(async |conn| {
        let Some(sub) =
            ReportSubscription::insert(conn, p.user.id, tenant.id, request, handled, now).await?
        else {
            let mut errors = FieldErrors::new();
            errors.insert(
                "scope",
                "You already subscribe to this report; cancel it below to choose another day."
                    .into(),
            );
            return Err(AppError::Validation(errors));
        };
        let mut event = actor.event(Action::ReportSubscribe, Some(tenant.id));
        event.after = Some(audited(&sub));
        event.record(conn).await?;
        Ok(sub)
    })
    .await
}

/// A subscription as the audit trail records it.
fn audited(sub: &ReportSubscription) -> serde_json::Value {
    serde_json::json!({
        "subscription_id": sub.id,
        "day_of_month": sub.day_of_month,
        "scope": sub.scope.as_str(),
    })
}

/// Every subscription of `p`, with its tenant (the profile's list). Needs no right:
/// they are `p`'s own mail, also where `p` may no longer subscribe or see.
pub async fn mine(
    conn: &mut AsyncPgConnection,
    p: &Principal,
) -> Result<Vec<(ReportSubscription, Tenant)>, AppError> {
    Ok(ReportSubscription::of_user(conn, p.user.id).await?)
}

/// `p`'s subscription `id` (on `on` when the request names a tenant), for its
/// cancel confirmation (404 for anyone else's). Cancelling needs no right beyond it
/// being one's own: an Owner who lost the grant may still stop the mail.
pub async fn own(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    id: i64,
    on: Option<&Tenant>,
) -> Result<(ReportSubscription, Tenant), AppError> {
    let sub = ReportSubscription::find_own(conn, p.user.id, id, on.map(|t| t.id)).await?;
    let tenant = Tenant::find(conn, sub.tenant_id).await?;
    Ok((sub, tenant))
}

/// Cancels `p`'s subscription `id` (on `on` when the request names a tenant; 404 for
/// anyone else's), whatever `p`'s role is now.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
    on: Option<&Tenant>,
) -> Result<(ReportSubscription, Tenant), AppError> {
    conn.transaction(async |conn| {
        let (sub, tenant) = own(conn, p, id, on).await?;
        ReportSubscription::delete(conn, sub.id).await?;
        let mut event = actor.event(Action::ReportCancel, Some(sub.tenant_id));
        event.before = Some(audited(&sub));
        event.record(conn).await?;
        Ok((sub, tenant))
    })
    .await
}

/// What one run of the report job did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Subscriptions whose month was handled.
    pub handled: usize,
    /// Mails queued.
    pub mails: usize,
    /// Subscriptions not sent: the subscriber lost access or their address.
    pub suspended: usize,
}

/// Sends every report due at `now`: each subscription whose day of the month has
/// come (UTC) and whose previous month was not handled yet, one transaction each.
/// Safe to run in several processes at once and as often as wanted.
pub async fn run_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<RunSummary, AppError> {
    let today = now.date_naive();
    let month = Month::of(today).previous();
    let day = i16::try_from(today.day()).unwrap_or(i16::MAX);
    let mut summary = RunSummary::default();
    loop {
        let step = conn
            .transaction(async |conn| {
                set_lock_timeout(conn).await?;
                let Some(sub) = ReportSubscription::claim_due(conn, day, month.first_day()).await?
                else {
                    return Ok::<_, AppError>(None);
                };
                let sent = send(conn, &sub, month, now).await?;
                let suspended = sent.as_ref().err().map(|reason| (*reason, now));
                ReportSubscription::handled(conn, sub.id, month.first_day(), suspended).await?;
                Ok(Some(sent))
            })
            .await?;
        match step {
            None => return Ok(summary),
            Some(sent) => {
                summary.handled += 1;
                match sent {
                    Ok(mails) => summary.mails += mails,
                    Err(_) => summary.suspended += 1,
                }
            }
        }
    }
}

/// Queues the subscription's mails for `month` (how many); the refusal when they
/// cannot go to the subscriber now (nothing queued).
async fn send(
    conn: &mut AsyncPgConnection,
    sub: &ReportSubscription,
    month: Month,
    now: DateTime<Utc>,
) -> Result<Result<usize, UsageMailRefusal>, AppError> {
    let Some(p) = Principal::load(conn, sub.user_id).await? else {
        return Ok(Err(UsageMailRefusal::NoAccess));
    };
    let tenant = Tenant::find(conn, sub.tenant_id).await?;
    if let Some(refusal) = authz::report_mail_refusal(&p, &tenant) {
        return Ok(Err(refusal));
    }
    let targets = match sub.scope {
        ReportScope::Subtree => vec![tenant],
        // The children the subscriber sees and may read, each its own report.
        ReportScope::Children => children_of(conn, tenant.id)
            .await?
            .into_iter()
            .filter(|c| authz::can_receive_usage_mail(&p, c))
            .collect(),
    };
    let period = Period {
        from: month,
        to: month,
    };
    for target in &targets {
        let reader = StatsReader::new(&p, target, period, StatsSort::Name, false)?;
        let rows = reader.read_all(conn).await?;
        let csv =
            csv_text::lines(&rows, Some(&CSV_HEADER), row_cells).map_err(AppError::Unexpected)?;
        let base = format!("{PUBLIC_URL_PLACEHOLDER}/tenants/{}/stats", target.id);
        let report = UsageReport {
            tenant: &target.name,
            subdomain: &target.subdomain,
            month: &month.first_day().format("%B %Y").to_string(),
            rows: rows.len(),
            print_link: &format!("{base}/print?from={m}&to={m}", m = month.text()),
            // The profile, not the tenant's list: it answers whatever the
            // subscriber's role has become.
            manage_link: &format!("{PUBLIC_URL_PLACEHOLDER}{PROFILE_REPORTS}"),
            day: sub.day_of_month,
        };
        let id = super::branding::queue_notice(conn, &p, now, |brand| {
            mail::usage_report(&report, brand)
        })
        .await?;
        Attachment {
            // By subdomain where a mail header carries it whole, else by id.
            filename: mail::plain_filename([
                format!("usage-{}-{}.csv", target.subdomain, month.text()),
                format!("usage-{}-{}.csv", target.id, month.text()),
                format!("usage-{}.csv", month.text()),
            ]),
            content_type: "text/csv; charset=utf-8".into(),
            content: csv,
        }
        .attach_to(conn, id)
        .await?;
    }
    Ok(Ok(targets.len()))
}

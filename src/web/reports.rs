//! Monthly usage reports by mail, from the stats page: an Owner subscribes
//! (`POST /tenants/{id}/stats/reports`: day of the month and scope), lists their
//! subscriptions to the tenant's reports and cancels one (with a confirmation).
//! Every subscriber also lists all of theirs on the profile (`/profile#reports`,
//! where the mails link) and cancels one there (`POST
//! /profile/reports/{report_id}/cancel`), whatever their role is now.
//! The job that sends them is `services::reports::run_due`.

use crate::auth::{authz, CurrentUser};
use crate::db::models::report_subscription::ReportSubscription;
use crate::db::models::Tenant;
use crate::domain::stats::{ReportRequest, ReportScope, UsageMailRefusal, LAST_REPORT_DAY};
use crate::error::{AppError, FieldErrors};
use crate::services::reports as service;
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::with_path_tenant;
use crate::web::page::{flash, render, render_status, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/stats/reports" => index),
        route!(POST "/tenants/{id}/stats/reports" => subscribe),
        route!(POST "/tenants/{id}/stats/reports/{report_id}/cancel" => cancel),
        route!(POST "/profile/reports/{report_id}/cancel" => cancel_own),
    ]
}

/// The subscribe form as sent (also on the stats page).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default)]
pub struct ReportForm {
    pub day: String,
    pub scope: String,
}

/// The subscribe form as posted: a field left out is refused like an empty one
/// (not filled with [`ReportForm::default`]'s preselection).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PostedReportForm {
    day: Option<String>,
    scope: Option<String>,
}

impl From<PostedReportForm> for ReportForm {
    fn from(posted: PostedReportForm) -> Self {
        ReportForm {
            day: posted.day.unwrap_or_default(),
            scope: posted.scope.unwrap_or_default(),
        }
    }
}

impl Default for ReportForm {
    fn default() -> Self {
        ReportForm {
            day: "1".into(),
            scope: ReportScope::Subtree.as_str().into(),
        }
    }
}

/// The days a report may be sent on.
pub fn report_days() -> Vec<i16> {
    (1..=LAST_REPORT_DAY).collect()
}

/// One subscription as the list shows it.
pub struct SubscriptionRow {
    pub id: i64,
    pub day: i16,
    pub scope: &'static str,
    /// The month of the last report sent, or "none yet".
    pub last_sent: String,
    /// Why the last due report was not sent, while that holds.
    pub suspended: Option<&'static str>,
    /// Suspended for want of an email address: the list links to the profile.
    pub needs_email: bool,
}

fn scope_text(scope: ReportScope) -> &'static str {
    match scope {
        ReportScope::Subtree => "one report of the whole subtree",
        ReportScope::Children => "one report per direct sub-tenant",
    }
}

impl SubscriptionRow {
    fn new(s: ReportSubscription) -> Self {
        SubscriptionRow {
            id: s.id,
            day: s.day_of_month,
            scope: scope_text(s.scope),
            // Not `last_month`: a month is also handled when it is skipped.
            last_sent: s
                .last_sent
                .map_or_else(|| "none yet".into(), |m| m.format("%B %Y").to_string()),
            suspended: s.suspended_reason.map(suspension_text),
            needs_email: s.suspended_reason == Some(UsageMailRefusal::NoEmail),
        }
    }
}

/// Why a subscription is suspended, in the list's words.
fn suspension_text(reason: UsageMailRefusal) -> &'static str {
    match reason {
        UsageMailRefusal::NoAccess => {
            "You may no longer read this tenant's statistics: the report was not sent."
        }
        UsageMailRefusal::NoEmail => "Your account has no email address: the report was not sent.",
        UsageMailRefusal::NotOwner => {
            "You are no longer an Owner of this tenant, which a report takes: it was not sent."
        }
    }
}

/// Why a subscription is suspended, in a few words (the profile's "suspended: …").
fn suspension_reason(reason: UsageMailRefusal) -> &'static str {
    match reason {
        UsageMailRefusal::NoAccess => "no access to its statistics",
        UsageMailRefusal::NoEmail => "no email address",
        UsageMailRefusal::NotOwner => "no longer Owner",
    }
}

/// One of the user's subscriptions as the profile lists it.
pub struct OwnReport {
    pub id: i64,
    pub tenant_name: String,
    /// The tenant's stats page, where the user may open it now.
    pub stats_link: Option<String>,
    pub day: i16,
    pub scope: &'static str,
    /// Why the last due report was not sent, while that holds.
    pub suspended: Option<&'static str>,
    /// Suspended for want of an email address: the row links to it.
    pub needs_email: bool,
}

/// The user's subscriptions, for the profile.
pub(crate) async fn own_reports(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
) -> Result<Vec<OwnReport>, AppError> {
    Ok(service::mine(conn, user)
        .await?
        .into_iter()
        .map(|(s, tenant)| OwnReport {
            id: s.id,
            stats_link: (authz::can_see(user, &tenant) && authz::can_read_usage(user, &tenant))
                .then(|| format!("/tenants/{}/stats", tenant.id)),
            tenant_name: tenant.name,
            day: s.day_of_month,
            scope: scope_text(s.scope),
            suspended: s.suspended_reason.map(suspension_reason),
            needs_email: s.suspended_reason == Some(UsageMailRefusal::NoEmail),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "stats/reports.html", blocks = ["content"])]
struct ReportsPage {
    page: PageCtx,
    tenant: Tenant,
    subscriptions: Vec<SubscriptionRow>,
    report_form: ReportForm,
    report_errors: FieldErrors,
    report_days: Vec<i16>,
}

async fn page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    form: ReportForm,
    errors: FieldErrors,
) -> Result<ReportsPage, AppError> {
    let subscriptions = service::subscriptions(conn, user, &tenant).await?;
    Ok(ReportsPage {
        page: PageCtx::new(user, conn, "stats").await?,
        subscriptions: subscriptions
            .into_iter()
            .map(SubscriptionRow::new)
            .collect(),
        report_days: report_days(),
        tenant,
        report_form: form,
        report_errors: errors,
    })
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (mut conn, tenant) = with_path_tenant(&user, &state, &path).await?;
    let page = page(
        &user,
        &mut conn,
        tenant,
        ReportForm::default(),
        FieldErrors::new(),
    )
    .await?;
    render(&page)
}

async fn subscribe(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<PostedReportForm>,
) -> Result<HttpResponse, AppError> {
    let form = ReportForm::from(form.into_inner());
    let (mut conn, tenant) = with_path_tenant(&user, &state, &path).await?;
    authz::require_report_subscriber(&user, &tenant)?;
    let result = match ReportRequest::parse(&form.day, &form.scope) {
        Ok(request) => {
            service::subscribe(
                &mut conn,
                &user,
                &actor(&user, &req),
                &tenant,
                request,
                state.clock.now(),
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(sub) => {
            flash(
                &user.session.0,
                format!(
                    "Subscribed: on day {} of every month you get {} of {} for the month before, by email.",
                    sub.day_of_month,
                    scope_text(sub.scope),
                    tenant.name
                ),
            );
            Ok(see_other(
                &req,
                &format!("/tenants/{}/stats/reports", tenant.id),
            ))
        }
        Err(AppError::Validation(errors)) => {
            let page = page(&user, &mut conn, tenant, form, errors).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

async fn cancel(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let (tenant_id, report_id) = path.into_inner();
    let (mut conn, tenant) = with_path_tenant(&user, &state, &tenant_id).await?;
    let id = parse_id(&report_id)?;
    let list = format!("/tenants/{}/stats/reports", tenant.id);
    if !confirm.confirmed {
        let (sub, _) = service::own(&mut conn, &user, id, Some(&tenant)).await?;
        let question = Question {
            title: format!("Cancel the monthly report of {}?", tenant.name),
            detail: format!(
                "You will no longer get {} on day {} of the month. You can subscribe again at any time.",
                scope_text(sub.scope),
                sub.day_of_month
            ),
            button: "Cancel the report".into(),
            action: format!("{list}/{}/cancel", sub.id),
            cancel: list,
            ..Question::default()
        };
        return ask(&req, &user, &mut conn, "stats", question).await;
    }
    service::cancel(&mut conn, &user, &actor(&user, &req), id, Some(&tenant)).await?;
    flash(&user.session.0, cancelled(&tenant.name));
    Ok(see_other(&req, &list))
}

fn cancelled(tenant: &str) -> String {
    format!("Cancelled: the monthly report of {tenant} is no longer sent to you.")
}

/// Cancels one of the user's own subscriptions from the profile, with a
/// confirmation first: no right on the tenant is asked (it only stops one's own
/// mail), so a subscriber who lost Owner, or the tenant, can still stop it.
async fn cancel_own(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let back = service::PROFILE_REPORTS;
    if !confirm.confirmed {
        let (sub, tenant) = service::own(&mut conn, &user, id, None).await?;
        let question = Question {
            title: format!("Cancel your monthly report of {}?", tenant.name),
            detail: format!(
                "You will no longer get {} of {} on day {} of the month.",
                scope_text(sub.scope),
                tenant.name,
                sub.day_of_month
            ),
            button: "Cancel the report".into(),
            action: format!("/profile/reports/{}/cancel", sub.id),
            cancel: back.into(),
            ..Question::default()
        };
        return ask(&req, &user, &mut conn, "profile", question).await;
    }
    let (_, tenant) = service::cancel(&mut conn, &user, &actor(&user, &req), id, None).await?;
    flash(&user.session.0, cancelled(&tenant.name));
    Ok(see_other(&req, back))
}

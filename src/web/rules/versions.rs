//! `/tenants/{id}/rules/versions`: the rule set's versions, newest first; the
//! difference between two (`?from=&to=`); and restoring one (a confirmation, then a
//! new version equal in content to it).

use super::{can_change, page_or_fragment, readable, writable};
use crate::auth::CurrentUser;
use crate::db::models::rules::{head_version, RuleSetVersion};
use crate::db::models::Tenant;
use crate::domain::rules::{RuleInput, RuleSetDiff};
use crate::error::AppError;
use crate::services::rules::{self as service, versions, Change};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::bad_param;
use crate::web::page::{done, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::{actor, parse_id, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/rules/versions" => index),
        route!(POST "/tenants/{id}/rules/versions/{version}/restore" => restore),
    ]
}

const PER_PAGE: i64 = 50;

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VersionParams {
    pub page: String,
    pub from: String,
    pub to: String,
}

/// A rule of a diff, in words.
fn describe(r: &RuleInput) -> String {
    let mut s = format!("{} {} → {}", r.kind, r.value, r.action);
    if let Some(p) = &r.path {
        s.push_str(&format!(" on {p}"));
    }
    if let Some(a) = r.application_id {
        s.push_str(&format!(", application {a}"));
    }
    if let Some(d) = r.domain_id {
        s.push_str(&format!(", domain {d}"));
    }
    if !r.enabled {
        s.push_str(" (disabled)");
    }
    s
}

#[derive(Template)]
#[template(path = "rules/versions.html", blocks = ["content"])]
struct VersionsPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<RuleSetVersion>,
    current: i64,
    page_no: i64,
    pages: i64,
    from: String,
    to: String,
    /// The diff asked for: its two versions and what changed.
    diff: Option<(i64, i64, RuleSetDiff)>,
    can_change: bool,
}

impl VersionsPage {
    fn page_href(&self, page: i64) -> String {
        format!("/tenants/{}/rules/versions?page={page}", self.tenant.id)
    }

    fn describe(&self, r: &RuleInput) -> String {
        describe(r)
    }

    fn summary(&self, v: &RuleSetVersion) -> String {
        crate::domain::rules::shown_summary(v.kind, &v.summary)
    }
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<VersionParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let version = |name: &str, raw: &str| -> Result<Option<i64>, AppError> {
        match raw.trim() {
            "" => Ok(None),
            v => v
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .map(Some)
                .ok_or_else(|| bad_param(name, "must be a version number")),
        }
    };
    let (from, to) = (version("from", &params.from)?, version("to", &params.to)?);
    let page_no = params.page.trim().parse().unwrap_or(1).clamp(1, 1_000_000);
    let mut conn = state.pool.get().await?;
    let tenant = readable(&user, &mut conn, &path).await?;
    let current = head_version(&mut conn, tenant.id).await?;
    let diff = match (from, to) {
        (Some(a), Some(b)) => {
            if a > current || b > current {
                return Err(bad_param(
                    if a > current { "from" } else { "to" },
                    &format!("must be a version from 0 to {current}"),
                ));
            }
            Some((a, b, versions::diff(&mut conn, &user, &tenant, a, b).await?))
        }
        _ => None,
    };
    let (total, rows) = RuleSetVersion::list(&mut conn, tenant.id, page_no, PER_PAGE).await?;
    let page = VersionsPage {
        page: PageCtx::new(&user, &mut conn, "rules").await?,
        can_change: can_change(&user, &tenant),
        tenant,
        rows,
        current,
        page_no,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        from: params.from,
        to: params.to,
        diff,
    };
    page_or_fragment!(&req, page, StatusCode::OK)
}

async fn restore(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = writable(&user, &mut conn, &path.0).await?;
    let version = parse_id(&path.1)?;
    let list = format!("/tenants/{}/rules/versions", tenant.id);
    if !confirm.confirmed {
        service::may_change(&mut conn, &user, &tenant).await?;
        let current = head_version(&mut conn, tenant.id).await?;
        let d = versions::diff(&mut conn, &user, &tenant, current, version).await?;
        let question = Question {
            title: format!("Restore version {version}?"),
            detail: format!(
                "A new version is made with the rules and settings of version {version}: \
                 {} rules come back, {} go, {} change{}. Rules whose application or domain \
                 was deleted since come back unbound.",
                d.added.len(),
                d.removed.len(),
                d.changed.len(),
                if d.settings.is_empty() {
                    ""
                } else {
                    ", and the credential-stuffing settings change"
                }
            ),
            button: "Restore version".into(),
            action: format!("{list}/{version}/restore"),
            cancel: list.clone(),
            ..Question::default()
        };
        return ask(&req, &user, &mut conn, "rules", question).await;
    }
    let actor = actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    let made = versions::restore(&mut conn, &c, version).await?;
    done(
        &req,
        &user,
        format!("Restored version {version} as version {made}."),
        &list,
    )
}

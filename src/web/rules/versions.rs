//! `/tenants/{id}/rules/versions`: the rule set's versions, newest first; the
//! difference between two (`?from=&to=`); and restoring one (a confirmation, then a
//! new version equal in content to it).

use super::{can_change, confirmed, page_or_fragment, readable, tenant_page};
use crate::auth::CurrentUser;
use crate::db::models::rules::head_version;
use crate::db::models::Tenant;
use crate::domain::rules::{RuleInput, RuleSetDiff};
use crate::error::AppError;
use crate::services::rules::versions::{self, VersionLine};
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::{bad_param, page_param};
use crate::web::owned::Rules;
use crate::web::page::PageCtx;
use crate::web::routes::{route, Route};
use crate::web::AppState;
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

/// The versions' page under the tenant.
const LIST: &str = "rules/versions";

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
    rows: Vec<VersionLine>,
    current: i64,
    page_no: i64,
    pages: i64,
    from: String,
    to: String,
    /// The diff asked for: its two versions and what changed.
    diff: Option<(i64, i64, RuleSetDiff)>,
    /// The application and domain changes between the two versions.
    objects: Vec<(i64, String)>,
    can_change: bool,
}

impl VersionsPage {
    fn page_href(&self, page: i64) -> String {
        format!("{}?page={page}", tenant_page(&self.tenant, LIST))
    }

    fn describe(&self, r: &RuleInput) -> String {
        describe(r)
    }

    fn summary(&self, line: &VersionLine) -> String {
        crate::domain::rules::shown_summary(line.v.kind, &line.v.summary)
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
    let page_no = page_param(&params.page)?;
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
    let objects = match &diff {
        Some((a, b, _)) => versions::object_changes(&mut conn, &user, &tenant, *a, *b).await?,
        None => Vec::new(),
    };
    let (total, rows) = versions::page(&mut conn, &user, &tenant, page_no, PER_PAGE).await?;
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
        objects,
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
    confirmed::<Rules, _>(
        &req,
        &user,
        &state,
        &path,
        &confirm,
        LIST,
        async |conn, tenant, version| {
            let current = head_version(conn, tenant.id).await?;
            let d = versions::diff(conn, &user, tenant, current, version).await?;
            let list = tenant_page(tenant, LIST);
            Ok(Question {
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
                cancel: list,
                ..Question::default()
            })
        },
        async |conn, c, version| {
            let made = versions::restore(conn, c, version).await?;
            Ok((version, made))
        },
        |(version, made)| format!("Restored version {version} as version {made}."),
    )
    .await
}

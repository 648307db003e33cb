//! `/tenants/{id}/rules/versions`: the rule set's versions, newest first; the
//! difference between two (`?from=&to=`); and restoring one (a confirmation, then a
//! new version equal in content to it).

use super::{can_change, confirmed, page_or_fragment, readable, tenant_page};
use crate::auth::CurrentUser;
use crate::db::models::rules::head_version;
use crate::db::models::Tenant;
use crate::domain::rules::{FieldChange, RuleInput, RuleSetDiff};
use crate::error::AppError;
use crate::services::rules::versions::{self, ObjectNames, VersionLine};
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::{bad_param, count_param, page_param};
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
    /// The page of the diff's rule changes (from 1).
    pub diff_page: String,
}

/// What a comparison given one of its two versions is told.
const NEEDS_BOTH: &str = "is missing: a comparison takes two versions, “from” and “to”";

/// Rule changes of a diff shown per page: a diff between distant versions of a
/// large rule set would otherwise be megabytes.
const CHANGES_PER_PAGE: usize = 200;

/// A rule of a diff, in words, its application and domain by name.
fn describe(r: &RuleInput, names: &ObjectNames) -> String {
    let mut s = format!("{} {} → {}", r.kind, r.value, r.action);
    if let Some(p) = &r.path {
        s.push_str(&format!(" on {p}"));
    }
    if let Some(a) = r.application_id {
        s.push_str(&format!(", application {}", names.application(a)));
    }
    if let Some(d) = r.domain_id {
        s.push_str(&format!(", domain {}", names.domain(d)));
    }
    if !r.enabled {
        s.push_str(" (disabled)");
    }
    s
}

/// A changed rule's fields in words, its application and domain by name.
fn describe_changes(fields: &[FieldChange], names: &ObjectNames) -> String {
    let named = |raw: &str, name: &dyn Fn(i64) -> String| {
        raw.parse::<i64>().map_or_else(|_| raw.to_string(), name)
    };
    fields
        .iter()
        .map(|f| match f.field {
            "application_id" => format!(
                "application {} → {}",
                named(&f.before, &|id| names.application(id)),
                named(&f.after, &|id| names.application(id))
            ),
            "domain_id" => format!(
                "domain {} → {}",
                named(&f.before, &|id| names.domain(id)),
                named(&f.after, &|id| names.domain(id))
            ),
            field => format!("{field} {} → {}", f.before, f.after),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One page of a diff: its rule changes in words (added, then removed, then
/// changed, each by rule id), the settings' and objects' changes on the first page.
struct DiffView {
    from: i64,
    to: i64,
    added: Vec<(i64, String)>,
    removed: Vec<(i64, String)>,
    changed: Vec<(i64, String)>,
    settings: Vec<FieldChange>,
    /// Rule changes in all, and which of them this page shows (from 1).
    total: usize,
    first: usize,
    last: usize,
    page_no: usize,
    pages: usize,
    /// Nothing differs at all.
    none: bool,
}

impl DiffView {
    fn new(
        (from, to, d): (i64, i64, RuleSetDiff),
        names: &ObjectNames,
        page_no: usize,
        objects: bool,
    ) -> Self {
        let total = d.added.len() + d.removed.len() + d.changed.len();
        let pages = total.div_ceil(CHANGES_PER_PAGE).max(1);
        let page_no = page_no.min(pages);
        let start = (page_no - 1) * CHANGES_PER_PAGE;
        let end = (start + CHANGES_PER_PAGE).min(total);
        // The page's window over the three lists, one after the other.
        let window = |offset: usize, len: usize| {
            let a = start.clamp(offset, offset + len) - offset;
            let b = end.clamp(offset, offset + len) - offset;
            a..b
        };
        let (na, nr) = (d.added.len(), d.removed.len());
        let none = total == 0 && d.settings.is_empty() && !objects;
        DiffView {
            from,
            to,
            added: d.added[window(0, na)]
                .iter()
                .map(|(id, r)| (*id, describe(r, names)))
                .collect(),
            removed: d.removed[window(na, nr)]
                .iter()
                .map(|(id, r)| (*id, describe(r, names)))
                .collect(),
            changed: d.changed[window(na + nr, d.changed.len())]
                .iter()
                .map(|(id, f)| (*id, describe_changes(f, names)))
                .collect(),
            settings: if page_no == 1 { d.settings } else { Vec::new() },
            total,
            first: start + 1,
            last: end,
            page_no,
            pages,
            none,
        }
    }
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
    /// The diff asked for: its two versions and one page of what changed.
    diff: Option<DiffView>,
    /// The application and domain changes between the two versions.
    objects: Vec<(i64, String)>,
    can_change: bool,
}

impl VersionsPage {
    fn page_href(&self, page: i64) -> String {
        format!("{}?page={page}", tenant_page(&self.tenant, LIST))
    }

    /// A page of the diff, the versions kept.
    fn diff_href(&self, d: &DiffView, page: usize) -> String {
        format!(
            "{}?from={}&to={}&diff_page={page}#diff",
            tenant_page(&self.tenant, LIST),
            d.from,
            d.to
        )
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
    let diff_page = count_param("diff_page", &params.diff_page, 1, 100_000)?;
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
        // Half a comparison is refused, as any other query it cannot follow.
        (Some(_), None) => return Err(bad_param("to", NEEDS_BOTH)),
        (None, Some(_)) => return Err(bad_param("from", NEEDS_BOTH)),
        (None, None) => None,
    };
    let objects = match &diff {
        Some((a, b, _)) if diff_page == 1 => {
            versions::object_changes(&mut conn, &user, &tenant, *a, *b).await?
        }
        _ => Vec::new(),
    };
    let diff = match diff {
        Some(d) => {
            let names = versions::object_names(&mut conn, &user, &tenant).await?;
            let page = usize::try_from(diff_page).unwrap_or(1);
            Some(DiffView::new(d, &names, page, !objects.is_empty()))
        }
        None => None,
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
            // Version 0 empties the rule set: said first, in so many words.
            let empty = if version == 0 {
                "Version 0 is the empty rule set before any change: every rule is removed \
                 and credential stuffing is turned off. "
            } else {
                ""
            };
            Ok(Question {
                title: format!("Restore version {version}?"),
                detail: format!(
                    "{empty}A new version is made with the rules and settings of version {version}: \
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

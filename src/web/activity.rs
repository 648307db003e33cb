//! A tenant's activity: its audit events (or its subtree's), newest first, with
//! filters and keyset pages, and the same selection as a streamed CSV file.

use crate::auth::{authz, CurrentUser};
use crate::db::models::audit_log::AuditRow;
use crate::db::models::Tenant;
use crate::db::DbConn;
use crate::domain::activity::{
    action_label, changes, Action, ActivityFilter, ActivityScope, ActivityText, Change,
    EventCursor, PageStart, CHOICES,
};
use crate::domain::SearchText;
use crate::error::{AppError, FieldErrors};
use crate::services::activity::{self, ActivityPage, Event, Reader, EXPORT_CHUNK, PAGE_SIZE};
use crate::web::csv_export::{self, Chunk};
use crate::web::extract::{with_path_tenant, Query};
use crate::web::form::{self, bad_param};
use crate::web::page::{render_checked, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/activity" => index),
        route!(GET "/tenants/{id}/activity.csv" => export),
    ]
}

/// The page's query: the filters as typed, and where the page starts.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ActivityParams {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub scope: String,
    /// Show the events older than this one (keyset: stable while new ones arrive).
    #[serde(default)]
    pub before: String,
    /// Show the events newer than this one (paging back towards the newest).
    #[serde(default)]
    pub after: String,
}

impl ActivityParams {
    fn text(&self) -> ActivityText<'_> {
        ActivityText {
            actor: &self.actor,
            action: &self.action,
            from: &self.from,
            to: &self.to,
            scope: &self.scope,
        }
    }

    /// Where the page starts (`before` or `after`), when given: a bad one, or both,
    /// is a request no link makes (400).
    fn start(&self) -> Result<Option<PageStart>, AppError> {
        let cursor = |name: &str, raw: &str| {
            EventCursor::parse(raw).ok_or_else(|| {
                bad_param(name, "must be a page start taken from a link of this page")
            })
        };
        match (self.before.trim(), self.after.trim()) {
            ("", "") => Ok(None),
            (raw, "") => cursor("before", raw).map(|c| Some(PageStart::Before(c))),
            ("", raw) => cursor("after", raw).map(|c| Some(PageStart::After(c))),
            _ => Err(bad_param(
                "after",
                "cannot be given with “before”: a page starts before or after an event",
            )),
        }
    }

    /// The filters as a query string (without the page start), for links and the export.
    fn filter_query(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("actor", self.actor.trim()),
            ("action", self.action.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("scope", self.scope.trim()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The page of these filters at `start` (the newest page without it).
    fn href(&self, base: &str, start: Option<PageStart>) -> String {
        let mut query = self.filter_query();
        if let Some(start) = start {
            let (name, cursor) = match start {
                PageStart::Before(c) => ("before", c),
                PageStart::After(c) => ("after", c),
            };
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&format!("{name}={}", cursor.to_text()));
        }
        if query.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{query}")
        }
    }
}

/// One event as the page shows it.
pub struct EventView {
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    /// The tenant the actor acted in, when not their home (a switch-in).
    pub acting_in: Option<String>,
    pub tenant_id: Option<i64>,
    pub tenant_name: String,
    pub action: String,
    pub label: String,
    pub client_addr: Option<String>,
    pub changes: Vec<Change>,
}

impl From<Event> for EventView {
    fn from(
        Event {
            row: e,
            acted_elsewhere,
            readable: (before, after),
        }: Event,
    ) -> Self {
        EventView {
            acting_in: acted_elsewhere.then(|| acting_tenant(&e)),
            tenant_name: tenant_name(&e),
            label: action_label(&e.action, e.before.as_ref(), e.after.as_ref()),
            changes: changes(before.as_ref(), after.as_ref()),
            occurred_at: e.occurred_at,
            actor: e.actor_username,
            tenant_id: e.tenant_id,
            action: e.action,
            client_addr: e.client_addr,
        }
    }
}

/// The acting tenant's name then (its id if it had none recorded).
fn acting_tenant(e: &AuditRow) -> String {
    match (&e.acting_tenant_name, e.acting_tenant_id) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) => format!("tenant {id}"),
        (None, None) => String::new(),
    }
}

/// The event's tenant's name then (its id if it had none recorded).
fn tenant_name(e: &AuditRow) -> String {
    match (&e.tenant_name, e.tenant_id) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) => format!("tenant {id}"),
        (None, None) => String::new(),
    }
}

impl EventView {
    pub fn time(&self) -> String {
        self.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }

    pub fn iso_time(&self) -> String {
        self.occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

#[derive(Template)]
#[template(path = "activity/index.html", blocks = ["content"])]
struct ActivityPageView {
    page: PageCtx,
    tenant: Tenant,
    params: ActivityParams,
    errors: FieldErrors,
    events: Vec<EventView>,
    /// The "What" list: each filterable action's name and label.
    actions: Vec<(&'static str, &'static str)>,
    subtree: bool,
    /// Links: the older and the newer page, the newest page (when not on it), the
    /// export.
    older: Option<String>,
    newer: Option<String>,
    newest: Option<String>,
    csv: String,
}

impl ActivityPageView {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// What the page and the export start from.
struct Start {
    conn: DbConn,
    tenant: Tenant,
    params: ActivityParams,
    /// The filters parsed, or their field errors.
    filter: Result<ActivityFilter, FieldErrors>,
    start: Option<PageStart>,
}

/// The page's and the export's common start: the tenant (404 unless visible), the
/// right to read its activity (403), where the page starts (400 for a start no link makes) and the
/// filters.
async fn start(
    user: &CurrentUser,
    state: &AppState,
    path: &str,
    params: Query<ActivityParams>,
) -> Result<Start, AppError> {
    let params = params.into_inner();
    let (conn, tenant) = with_path_tenant(user, state, path).await?;
    authz::require_activity(user, &tenant)?;
    let start = params.start()?;
    let filter = ActivityFilter::parse(&params.text());
    if let Err(errors) = &filter {
        form::refuse_choices(errors, &CHOICES)?;
    }
    Ok(Start {
        conn,
        tenant,
        params,
        filter,
        start,
    })
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ActivityParams>,
) -> Result<HttpResponse, AppError> {
    let Start {
        mut conn,
        tenant,
        mut params,
        filter,
        start,
    } = start(&user, &state, &path, params).await?;
    let base = format!("/tenants/{}/activity", tenant.id);
    let (filter, errors) = match filter {
        Ok(f) => (f, FieldErrors::new()),
        // The page again with the input kept and nothing listed.
        Err(errors) => (ActivityFilter::default(), errors),
    };
    let page = if errors.is_empty() {
        activity::page(&mut conn, &user, &tenant, &filter, start, PAGE_SIZE).await?
    } else {
        ActivityPage {
            events: Vec::new(),
            next: None,
            prev: None,
        }
    };
    // Paging back reached the newest events: the newest page, whole and at its own
    // address, rather than the few events newer than the cursor.
    if matches!(start, Some(PageStart::After(_))) && page.prev.is_none() && errors.is_empty() {
        return Ok(see_other(&req, &params.href(&base, None)));
    }
    if !errors.is_empty() {
        // Kept as typed, but for the control characters a page cannot show.
        params.actor = SearchText::shown(&params.actor);
    }
    let filters = params.filter_query();
    let view = ActivityPageView {
        page: PageCtx::new(&user, &mut conn, "activity").await?,
        subtree: filter.scope == ActivityScope::Subtree,
        older: page
            .next
            .map(|c| params.href(&base, Some(PageStart::Before(c)))),
        newer: page
            .prev
            .map(|c| params.href(&base, Some(PageStart::After(c)))),
        newest: start.map(|_| params.href(&base, None)),
        csv: if filters.is_empty() {
            format!("{base}.csv")
        } else {
            format!("{base}.csv?{filters}")
        },
        events: page.events.into_iter().map(EventView::from).collect(),
        actions: Action::filterable()
            .map(|a| (a.as_str(), a.entry().label))
            .collect(),
        errors,
        params,
        tenant,
    };
    render_checked(&view, &view.errors)
}

// ---------------------------------------------------------------- CSV

/// The export's columns (docs/API.md).
pub const CSV_HEADER: [&str; 9] = [
    "occurred_at",
    "actor",
    "acting_tenant",
    "tenant_id",
    "tenant",
    "action",
    "client_addr",
    "before",
    "after",
];

/// One event's cells, in `CSV_HEADER`'s order.
fn event_cells(event: &Event) -> Vec<String> {
    let e = &event.row;
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    vec![
        e.occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.actor_username.clone(),
        acting_tenant(e),
        e.tenant_id.map(|id| id.to_string()).unwrap_or_default(),
        tenant_name(e),
        e.action.clone(),
        e.client_addr.clone().unwrap_or_default(),
        json(&event.readable.0),
        json(&event.readable.1),
    ]
}

/// `/tenants/{id}/activity.csv`: what the page's filters select, all of it, streamed
/// in chunks of `EXPORT_CHUNK` events read by keyset (constant memory).
async fn export(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ActivityParams>,
) -> Result<HttpResponse, AppError> {
    let Start {
        mut conn,
        tenant,
        filter,
        start,
        ..
    } = start(&user, &state, &path, params).await?;
    // The export runs from the newest (or from `before`) to the oldest.
    if matches!(start, Some(PageStart::After(_))) {
        return Err(bad_param(
            "after",
            "is not taken by the export, which starts at the newest event or “before” one",
        ));
    }
    let reader = Reader::new(&user, &tenant, filter.map_err(AppError::Validation)?)?;
    let first = reader.read(&mut conn, start, EXPORT_CHUNK).await?;
    drop(conn);
    let pool = state.pool.clone();
    let filename = format!(
        "activity-{}-{}.csv",
        tenant.subdomain,
        state.clock.now().format("%Y-%m-%d")
    );
    let chunk = |page: ActivityPage| Chunk {
        rows: page.events,
        next: page.next,
    };
    Ok(csv_export::download(
        &filename,
        &CSV_HEADER,
        chunk(first),
        event_cells,
        move |before| {
            let (reader, pool) = (reader.clone(), pool.clone());
            async move {
                let mut conn = pool.get().await?;
                Ok(chunk(
                    reader
                        .read(&mut conn, Some(PageStart::Before(before)), EXPORT_CHUNK)
                        .await?,
                ))
            }
        },
    ))
}

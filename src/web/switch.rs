//! The tenant switcher: search as you type over the visible tenants, then act in one.

use crate::auth::{authz, session_keys, CurrentUser};
use crate::db::models::{AuditEvent, Tenant};
use crate::error::AppError;
use crate::web::page::{flash, render, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/switch" => switch_page),
        route!(POST "/switch" => switch),
        route!(GET "/switch/search" => search),
    ]
}

/// How many matches the switcher (and the move picker) shows.
pub const RESULTS: i64 = 20;

pub struct SwitchResult {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "switch/index.html")]
struct SwitchPage {
    page: PageCtx,
    q: String,
    results: Vec<SwitchResult>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "switch/_results.html")]
struct SwitchResults {
    q: String,
    results: Vec<SwitchResult>,
    csrf: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
}

/// The search text as the switcher uses it: trimmed, no control characters, at most 100.
pub fn clean_query(q: &str) -> String {
    q.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect()
}

/// Matches with the visible part of each path, looked up in one query.
async fn results(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    q: &str,
) -> Result<Vec<SwitchResult>, AppError> {
    let q = clean_query(q);
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let tenants = Tenant::search(conn, &authz::visibility(user), &q, RESULTS).await?;
    labelled(user, conn, tenants).await
}

/// The part of each tenant's path `user` may see, as "name / name / …"; the names
/// are looked up in one query.
pub async fn visible_paths<'t>(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenants: impl IntoIterator<Item = &'t Tenant>,
) -> Result<Vec<String>, AppError> {
    let tenants: Vec<&Tenant> = tenants.into_iter().collect();
    let ids: Vec<i64> = tenants
        .iter()
        .flat_map(|t| t.path.iter().copied())
        .collect();
    let names = Tenant::names(conn, ids).await?;
    Ok(tenants
        .into_iter()
        .map(|t| {
            t.path[authz::visible_path_start(user, &t.path)..]
                .iter()
                .filter_map(|id| names.get(id).cloned())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .collect())
}

/// Search results with the part of each one's path the user may see (also the move
/// destination picker's results).
pub async fn labelled(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenants: Vec<Tenant>,
) -> Result<Vec<SwitchResult>, AppError> {
    let paths = visible_paths(user, conn, &tenants).await?;
    Ok(tenants
        .into_iter()
        .zip(paths)
        .map(|(t, path)| SwitchResult {
            id: t.id,
            name: t.name,
            path,
            enabled: t.enabled,
        })
        .collect())
}

async fn switch_page(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let results = results(&user, &mut conn, &query.q).await?;
    let page = PageCtx::new(&user, &mut conn, "switch").await?;
    render(&SwitchPage {
        csrf: page.csrf.clone(),
        page,
        q: query.q.clone(),
        results,
    })
}

async fn search(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let results = results(&user, &mut conn, &query.q).await?;
    render(&SwitchResults {
        q: query.q.clone(),
        results,
        csrf: session_keys::csrf_token(&user.session.0),
    })
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SwitchForm {
    tenant_id: String,
}

async fn switch(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = form
        .tenant_id
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let mut conn = state.pool.get().await?;
    let tenant = authz::visible_tenant(&user, id, &mut conn).await?;
    if !tenant.enabled {
        return Err(AppError::Conflict(format!(
            "{} is disabled; nobody can switch into it.",
            tenant.name
        )));
    }
    user.session
        .0
        .insert(session_keys::ACTING_TENANT, tenant.id)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("session: {e}")))?;
    let mut event: AuditEvent =
        crate::web::actor(&user, &req).event("tenant.switch", Some(tenant.id));
    event.after = Some(serde_json::json!({"acting_tenant_id": tenant.id}));
    event.record(&mut conn).await?;
    flash(
        &user.session.0,
        format!("You are now acting in {}.", tenant.name),
    );
    Ok(see_other(&req, "/dashboard"))
}

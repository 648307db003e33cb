//! Moving a tenant with its subtree: pick a destination, preview, confirm.

use super::deletable;
use crate::auth::{authz, CurrentUser};
use crate::db::models::Tenant;
use crate::error::{AppError, FieldErrors};
use crate::services::tenants::{self as service, destinations};
use crate::web::actor;
use crate::web::extract::Query;
use crate::web::form::{field_id, form_errors, SearchBox};
use crate::web::page::{flash, render, render_status, see_other, wants_fragment, PageCtx};
use crate::web::plans::noted;
use crate::web::switch::{self, SwitchResult};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

#[derive(Template)]
#[template(path = "tenants/move.html")]
struct MovePage {
    page: PageCtx,
    tenant: Tenant,
    parent_name: String,
    search: SearchBox,
    results: Vec<SwitchResult>,
    destination: Option<Tenant>,
    destination_path: String,
    preview: Option<service::MovePreview>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "tenants/_move_results.html")]
struct MoveResults {
    tenant: Tenant,
    search: SearchBox,
    results: Vec<SwitchResult>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct MoveParams {
    /// Search text for the destination picker.
    q: String,
    /// The destination to preview.
    parent_id: String,
}

/// Destinations matching `q` that the user may move `tenant` under (the switcher's
/// search, narrowed to tenants that may have sub-tenants, the user manages, and that
/// are not the tenant, below it or its current parent).
async fn destinations(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    search: &SearchBox,
) -> Result<Vec<SwitchResult>, AppError> {
    let found = destinations::find(conn, user, &search.text, Some(tenant), switch::RESULTS).await?;
    switch::labelled(user, conn, found).await
}

/// The destination named by `raw`: a field error when missing or invisible (the same
/// answer), 403 when visible but not managed by the user.
async fn destination(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    raw: &str,
    errors: &mut FieldErrors,
) -> Result<Option<Tenant>, AppError> {
    let found = match field_id(raw) {
        Some(id) => authz::visible_tenant(user, id, conn).await.ok(),
        None => None,
    };
    let Some(d) = found else {
        errors.insert("parent_id", "Choose the new parent from the list.".into());
        return Ok(None);
    };
    let plan = crate::services::plans::plan_of(conn, &d).await?;
    if let Some(message) = service::destination_error(tenant, &d, plan.as_ref()) {
        errors.insert("parent_id", message);
        return Ok(None);
    }
    if !authz::can_manage_children(user, &d) {
        return Err(AppError::Forbidden);
    }
    Ok(Some(d))
}

#[expect(clippy::too_many_arguments)]
async fn move_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    now: chrono::DateTime<chrono::Utc>,
    tenant: Tenant,
    parent: &Tenant,
    search: SearchBox,
    destination: Option<Tenant>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let results = destinations(user, conn, &tenant, &search).await?;
    let (preview, destination_path) = match &destination {
        Some(d) => {
            let labels = switch::labelled(user, conn, vec![d.clone()]).await?;
            (
                Some({
                    let p: &crate::auth::Principal = user;
                    let seen = |path: &[i64]| authz::can_see_path(p, path);
                    service::move_preview(conn, &tenant, parent, d, &seen, now).await?
                }),
                labels
                    .into_iter()
                    .next()
                    .map(|r| r.path)
                    .unwrap_or_default(),
            )
        }
        None => (None, String::new()),
    };
    let page = MovePage {
        page: PageCtx::new(user, conn, "tenants").await?,
        parent_name: parent.name.clone(),
        tenant,
        search,
        results,
        destination,
        destination_path,
        preview,
        errors,
    };
    render_status(&page, status)
}

pub(super) async fn move_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<MoveParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, parent) = deletable(&user, &mut conn, &path).await?;
    let search = SearchBox::read(&params.q);
    if wants_fragment(&req) && params.parent_id.trim().is_empty() {
        // 200 even when the text is refused: htmx shows the message in the results.
        let results = destinations(&user, &mut conn, &tenant, &search).await?;
        return render(&MoveResults {
            tenant,
            search,
            results,
        });
    }
    let mut errors = FieldErrors::new();
    let destination = if params.parent_id.trim().is_empty() {
        None
    } else {
        destination(&user, &mut conn, &tenant, &params.parent_id, &mut errors).await?
    };
    let status = if errors.is_empty() {
        search.status()
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    move_page(
        &user,
        &mut conn,
        state.clock.now(),
        tenant,
        &parent,
        search,
        destination,
        errors,
        status,
    )
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct MoveForm {
    parent_id: String,
}

pub(super) async fn move_tenant(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, parent) = deletable(&user, &mut conn, &path).await?;
    let mut errors = FieldErrors::new();
    let dest = destination(&user, &mut conn, &tenant, &form.parent_id, &mut errors).await?;
    let result = match &dest {
        // A limit on the destination's path that the move would exceed (409) is the
        // form's general error, shown with the preview that says so too.
        Some(d) => form_errors(
            service::move_tenant(
                &mut conn,
                &user,
                &actor(&user, &req),
                &tenant,
                d,
                state.clock.now(),
            )
            .await,
        )?,
        None => Err(errors),
    };
    match (result, dest) {
        (Ok(moved), Some(dest)) => {
            let warnings = moved.warnings;
            let moved = moved.value;
            flash(
                &user.session.0,
                noted(
                    format!("Moved {} under {}.", moved.name, dest.name),
                    &warnings,
                ),
            );
            Ok(see_other(&req, &format!("/tenants/{}", moved.id)))
        }
        (Ok(_), None) => Err(AppError::NotFound),
        (Err(errors), dest) => {
            let dest = dest.filter(|_| !errors.contains_key("parent_id"));
            move_page(
                &user,
                &mut conn,
                state.clock.now(),
                tenant,
                &parent,
                SearchBox::default(),
                dest,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

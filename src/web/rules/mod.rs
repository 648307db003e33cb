//! A tenant's protection configuration in the console: applications
//! (`/tenants/{id}/applications`), domains (`/domains`), rules (`/rules`, `/rules/new`,
//! `/rules/{rid}`), credential-stuffing settings (`/credential-stuffing`), the rule
//! set's versions (`/rules/versions`) and a source tenant's migration form
//! (`/rules/migrate`; the migrations themselves are `web::migrations`). Rules read
//! to see them, Rules full to change them (the services decide); while a migration
//! holds the tenant every one of them answers 423 with the locked-page view
//! (`AppError::Locked`).

mod applications;
mod domains;
mod migrate;
mod rule_pages;
mod settings;
mod versions;

use crate::auth::CurrentUser;
use crate::db::models::Tenant;
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::rules::{self as service, Change};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::path_tenant;
use crate::web::form::field_errors;
use crate::web::page::done;
use crate::web::routes::Route;
use crate::web::{actor, parse_id, AppState};
use actix_web::{HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`). The versions' and the migration
/// form's fixed paths come before `/rules/{rid}`.
pub fn routes() -> Vec<Route> {
    [
        versions::routes(),
        migrate::routes(),
        rule_pages::routes(),
        applications::routes(),
        domains::routes(),
        settings::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The tenant a rules page's path names: 404 unless visible, 403 without Rules
/// read, 423 while locked.
async fn readable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    let tenant = path_tenant(user, conn, raw, Feature::Rules, Level::Read).await?;
    service::read(conn, user, &tenant).await?;
    Ok(tenant)
}

/// The tenant a write's path names: 404 unless visible, 403 without Rules read
/// (the service asks for full, and for the lock).
async fn writable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    path_tenant(user, conn, raw, Feature::Rules, Level::Read).await
}

/// The page of the tenant's `to` (`applications`, `rules/versions`, …).
fn tenant_page(tenant: &Tenant, to: &str) -> String {
    format!("/tenants/{}/{to}", tenant.id)
}

/// Where a list page's form posts: the list itself (a new item), or the item edited.
fn form_action(tenant: &Tenant, list: &str, editing: Option<i64>) -> String {
    match editing {
        Some(id) => format!("{}/{id}", tenant_page(tenant, list)),
        None => tenant_page(tenant, list),
    }
}

/// A form post's change of the tenant the path names (`writable`: 404, 403 without
/// Rules read; the service asks for full and for the lock): `change` under its
/// [`Change`]; done, 303 to the tenant's `to` page with `message`; field errors,
/// `again` shows the form with them (422). Anything else answers as it is.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one part of every form post"
)]
async fn saved<T>(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    raw: &str,
    to: &str,
    change: impl AsyncFnOnce(&mut AsyncPgConnection, &Change<'_>) -> Result<T, AppError>,
    message: impl FnOnce(&T) -> String,
    again: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        Tenant,
        FieldErrors,
    ) -> Result<HttpResponse, AppError>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = writable(user, &mut conn, raw).await?;
    let actor = actor(user, req);
    let c = Change::new(user, &actor, &tenant, state.clock.now());
    match field_errors(change(&mut conn, &c).await)? {
        Ok(value) => done(req, user, message(&value), &tenant_page(&tenant, to)),
        Err(errors) => again(&mut conn, tenant, errors).await,
    }
}

/// A destructive change of the item the path's second id names (a delete, a
/// restore), behind its confirmation: unconfirmed, after the change's own checks
/// (404, 403, 423), `question` about the item is asked and nothing changes;
/// confirmed, `change` with the id, then 303 to the tenant's `to` page with `message`.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one part of every confirmed change"
)]
async fn confirmed<T>(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    path: &(String, String),
    confirm: &Confirm,
    to: &str,
    question: impl AsyncFnOnce(&mut AsyncPgConnection, &Tenant, i64) -> Result<Question, AppError>,
    change: impl AsyncFnOnce(&mut AsyncPgConnection, &Change<'_>, i64) -> Result<T, AppError>,
    message: impl FnOnce(&T) -> String,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = writable(user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    if !confirm.confirmed {
        service::may_change(&mut conn, user, &tenant).await?;
        let q = question(&mut conn, &tenant, id).await?;
        return ask(req, user, &mut conn, "rules", q).await;
    }
    let actor = actor(user, req);
    let c = Change::new(user, &actor, &tenant, state.clock.now());
    let value = change(&mut conn, &c, id).await?;
    done(req, user, message(&value), &tenant_page(&tenant, to))
}

/// May the user change the tenant's rules (the pages show their forms)?
fn can_change(user: &CurrentUser, tenant: &Tenant) -> bool {
    crate::auth::authz::effective_level(user, tenant, Feature::Rules) >= Level::Full
}

/// A form page's status: 422 when it shows field errors.
pub(crate) fn status(errors: &crate::error::FieldErrors) -> actix_web::http::StatusCode {
    if errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A select's option: value, label, selected.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The options of an id select: none, then each `(id, name)`.
pub(crate) fn id_choices(items: &[(i64, String)], chosen: &str, none: &str) -> Vec<Choice> {
    std::iter::once(Choice {
        value: String::new(),
        label: none.to_string(),
        selected: chosen.trim().is_empty(),
    })
    .chain(items.iter().map(|(id, name)| Choice {
        value: id.to_string(),
        label: name.clone(),
        selected: chosen.trim() == id.to_string(),
    }))
    .collect()
}

/// The whole page, or for htmx its content block.
macro_rules! page_or_fragment {
    ($req:expr, $page:expr, $status:expr) => {
        if crate::web::page::wants_fragment($req) {
            crate::web::page::render_status(&$page.as_content(), $status)
        } else {
            crate::web::page::render_status(&$page, $status)
        }
    };
}
pub(crate) use page_or_fragment;

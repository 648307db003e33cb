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
use crate::error::AppError;
use crate::services::rules as service;
use crate::web::extract::path_tenant;
use crate::web::routes::Route;
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

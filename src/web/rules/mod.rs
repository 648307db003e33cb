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
use crate::error::AppError;
use crate::web::owned::{self, Rules};
use crate::web::routes::Route;
use diesel_async::AsyncPgConnection;

use crate::web::owned::{
    confirmed, id_choices, page_or_fragment, saved, status, tenant_page, Choice,
};

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
    owned::readable::<Rules>(user, conn, raw).await
}

/// The tenant a write's path names: 404 unless visible, 403 without Rules read
/// (the service asks for full, and for the lock).
async fn writable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    owned::writable::<Rules>(user, conn, raw).await
}

/// Where a list page's form posts: the list itself (a new item), or the item edited.
fn form_action(tenant: &Tenant, list: &str, editing: Option<i64>) -> String {
    match editing {
        Some(id) => format!("{}/{id}", tenant_page(tenant, list)),
        None => tenant_page(tenant, list),
    }
}

/// May the user change the tenant's rules (the pages show their forms)?
fn can_change(user: &CurrentUser, tenant: &Tenant) -> bool {
    owned::can_change::<Rules>(user, tenant)
}

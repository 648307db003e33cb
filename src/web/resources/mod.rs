//! A tenant's resources in the console (issue #14): clouds
//! (`/tenants/{id}/clouds[/new|/{rid}]`) and instances
//! (`/tenants/{id}/instances[/new|/{rid}]`). Resources read to see them, Resources
//! full to change them (the services decide); shared clouds are read-only.

mod clouds;
mod instances;

use crate::auth::CurrentUser;
use crate::db::models::Tenant;
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::web::extract::path_tenant;
use crate::web::routes::Route;
use diesel_async::AsyncPgConnection;

pub use crate::web::rules::Choice;

pub fn routes() -> Vec<Route> {
    [clouds::routes(), instances::routes()]
        .into_iter()
        .flatten()
        .collect()
}

/// The tenant a resource page's path names: 404 unless visible, 403 without
/// Resources read (writes: the services ask for full).
async fn readable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    path_tenant(user, conn, raw, Feature::Resources, Level::Read).await
}

/// May the user change the tenant's resources (the pages show their forms)?
fn can_change(user: &CurrentUser, tenant: &Tenant) -> bool {
    crate::auth::authz::effective_level(user, tenant, Feature::Resources) >= Level::Full
}

/// The options of a select over a closed set of values: `(value, label)`.
fn value_choices<'a>(
    values: impl Iterator<Item = (&'a str, &'a str)>,
    chosen: &str,
    none: Option<&str>,
) -> Vec<Choice> {
    none.map(|none| Choice {
        value: String::new(),
        label: none.to_string(),
        selected: chosen.trim().is_empty(),
    })
    .into_iter()
    .chain(values.map(|(v, label)| Choice {
        value: v.to_string(),
        label: label.to_string(),
        selected: chosen.trim() == v,
    }))
    .collect()
}

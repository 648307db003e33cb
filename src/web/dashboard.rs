//! The master console's landing page.

use crate::auth::{authz, CurrentUser};
use crate::db::models::Tenant;
use crate::domain::resources::Measure;
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::services::users as people;
use crate::web::page::{render, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use askama::Template;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![route!(GET "/dashboard" => dashboard)]
}

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct Dashboard {
    page: PageCtx,
    subtenants: i64,
    /// Sub-tenants the user may not see ("3 sub-tenants you cannot see").
    hidden: i64,
    disabled: i64,
    users: i64,
    instances: i64,
    /// "New sub-tenant" under the acting tenant: offered, or disabled saying why.
    new_child: crate::web::tenants::NewChild,
    /// The acting tenant's usage statistics (usage read there).
    can_read_usage: bool,
    /// The acting tenant's use against its limits: users, and resources with
    /// Resources read there.
    bars: Vec<crate::domain::resources::UsageBar>,
}

async fn dashboard(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let visibility = authz::visibility(&user).below(&user.acting);
    let totals = Tenant::totals(&mut conn, &user.acting, &visibility).await?;
    // The card counts what it links to: the people one may find here and below.
    let users = people::count_people_within(&mut conn, &user, &user.acting, totals.users).await?;
    let new_child = crate::web::tenants::NewChild::of(&user, &mut conn, &user.acting).await?;
    let can_read_resources =
        authz::effective_level(&user, &user.acting, Feature::Resources) >= Level::Read;
    render(&Dashboard {
        page: PageCtx::new(&user, &mut conn, "dashboard").await?,
        subtenants: totals.subtenants,
        hidden: totals.hidden,
        disabled: totals.disabled,
        users,
        instances: totals.instances,
        new_child,
        can_read_usage: authz::can_read_usage(&user, &user.acting),
        // The rows the limit checks read, as they read them (`Tenant::totals`): the
        // users' bar as the Users card, the resources' with Resources read.
        bars: crate::services::instances::usage_bars(&user, &user.acting.path, &totals.path)
            .into_iter()
            .filter(|b| b.measure == Measure::Users || can_read_resources)
            .collect(),
    })
}

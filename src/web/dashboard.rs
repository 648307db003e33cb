//! The master console's landing page.

use crate::auth::{authz, CurrentUser};
use crate::db::models::Tenant;
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
    can_create: bool,
    /// The acting tenant's usage statistics (usage read there).
    can_read_usage: bool,
    /// The acting tenant's resource use against its limits (Resources read there).
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
    let can_create =
        user.acting.can_have_subtenants && authz::can_manage_children(&user, &user.acting);
    render(&Dashboard {
        page: PageCtx::new(&user, &mut conn, "dashboard").await?,
        subtenants: totals.subtenants,
        hidden: totals.hidden,
        disabled: totals.disabled,
        users,
        instances: totals.instances,
        can_create,
        can_read_usage: authz::can_read_usage(&user, &user.acting),
        bars: if authz::effective_level(&user, &user.acting, crate::domain::Feature::Resources)
            >= crate::domain::Level::Read
        {
            crate::domain::resources::usage_bars(
                (
                    totals.usage.storage_gb,
                    totals.usage.memory_gb,
                    totals.usage.instances,
                ),
                user.acting.limits.triple(),
                &crate::services::instances::limits_above(&user, &user.acting.path, &totals.above),
            )
        } else {
            Vec::new()
        },
    })
}

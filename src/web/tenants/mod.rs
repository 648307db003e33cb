//! The Tenants pages: list, tree, detail, create, edit, enable/disable, move, delete.
//! Each handler reads what the request names with `authz::visible_tenant` (404 for
//! an invisible tenant, as for a missing one) and leaves every change to
//! `services::tenants`, the same functions the API calls.

mod bulk;
mod delete;
mod domain;
mod form;
mod list;
mod moving;
mod show;
mod tree;

pub use form::TenantForm;
pub use list::{
    list_query, load_list, BulkBar, Column, ListParams, TableFragment, TenantList,
    PER_PAGE_DEFAULT, PER_PAGE_MAX,
};
pub use show::DomainView;
pub use tree::Node;

use crate::auth::{authz, CurrentUser};
use crate::db::models::Tenant;
use crate::error::AppError;
use crate::services::tenants::parent_of;
use crate::web::extract::visible_path_tenant;
use crate::web::routes::{route, Route};
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants" => list::index),
        route!(POST "/tenants" => form::create),
        route!(GET "/tenants/tree" => tree::tree),
        route!(GET "/tenants/new" => form::new_form),
        route!(POST "/tenants/new" => form::create),
        route!(POST "/tenants/bulk" => bulk::bulk),
        route!(GET "/tenants/destinations" => bulk::destination_results),
        route!(GET "/tenants/{id}" => show::show),
        route!(POST "/tenants/{id}" => form::update),
        route!(GET "/tenants/{id}/children" => tree::children),
        route!(GET "/tenants/{id}/edit" => form::edit_form),
        route!(POST "/tenants/{id}/edit" => form::update),
        route!(POST "/tenants/{id}/enable" => form::set_enabled::<true>),
        route!(POST "/tenants/{id}/disable" => form::set_enabled::<false>),
        route!(GET "/tenants/{id}/delete" => delete::delete_form),
        route!(POST "/tenants/{id}/delete" => delete::delete),
        route!(GET "/tenants/{id}/move" => moving::move_form),
        route!(POST "/tenants/{id}/move" => moving::move_tenant),
        route!(POST "/tenants/{id}/custom-domain/check" => domain::check_domain),
        route!(POST "/tenants/{id}/custom-domain/approve" => domain::approve_domain),
    ]
}

/// The tenant the query parameter `name` names (visible to the user; not an id:
/// 400 naming it), or the acting tenant when it names none.
async fn named_or_acting(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    name: &str,
    raw: &str,
) -> Result<Tenant, AppError> {
    match crate::web::form::query_id(name, raw)? {
        None => Ok(user.acting.clone()),
        Some(id) => authz::visible_tenant(user, id, conn).await,
    }
}

/// The "New sub-tenant" button of a tenant (the tenant page, the dashboard and the
/// Tenants list for the acting tenant): shown when the tenant may have sub-tenants
/// and the user manages them; disabled, saying why, when its plan has none ("Not in
/// plan Basic.").
pub struct NewChild {
    pub shown: bool,
    pub refusal: Option<String>,
}

impl NewChild {
    pub async fn of(
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
    ) -> Result<Self, AppError> {
        let shown = tenant.can_have_subtenants && authz::can_manage_children(user, tenant);
        let refusal = match (shown, &user.acting_plan_without_subtenants) {
            (false, _) => None,
            // The session load read the acting tenant's plan (the same rule as
            // `authz::plan_refusal`, in SQL): no statement for the Tenants list.
            (true, Some(plan)) if tenant.id == user.acting.id => {
                plan.as_deref().map(crate::domain::plan::not_in_plan)
            }
            (true, _) => {
                let plan = crate::services::plans::plan_of(conn, tenant).await?;
                authz::plan_refusal(plan.as_ref(), crate::domain::plan::PlanOption::SubTenants)
            }
        };
        Ok(NewChild { shown, refusal })
    }

    /// Offered: shown and not refused.
    pub fn offered(&self) -> bool {
        self.shown && self.refusal.is_none()
    }
}

/// Loads a tenant the user may edit: 404 if invisible, 403 if visible but not editable.
async fn editable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw_id: &str,
) -> Result<(Tenant, Option<Tenant>), AppError> {
    let tenant = visible_path_tenant(user, conn, raw_id).await?;
    let parent = parent_of(conn, &tenant).await?;
    authz::require_edit(user, &tenant, parent.as_ref())?;
    Ok((tenant, parent))
}

/// Loads a tenant the user may delete (and move): 404 if invisible, 403 unless an
/// Owner over its parent that manages sub-tenants; never the root.
async fn deletable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw_id: &str,
) -> Result<(Tenant, Tenant), AppError> {
    let tenant = visible_path_tenant(user, conn, raw_id).await?;
    let parent = parent_of(conn, &tenant).await?;
    match parent {
        Some(parent) if authz::can_delete(user, &tenant, Some(&parent)) => Ok((tenant, parent)),
        _ => Err(AppError::Forbidden),
    }
}

//! Deleting a tenant: safely, or with its whole subtree once its subdomain is typed.

use super::deletable;
use crate::auth::CurrentUser;
use crate::db::models::Tenant;
use crate::error::{AppError, FieldErrors};
use crate::services::tenants as service;
use crate::web::actor;
use crate::web::form::{checked, field_error};
use crate::web::page::{flash, render, render_status, see_other, PageCtx};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

#[derive(Template)]
#[template(path = "tenants/delete.html")]
struct DeletePage {
    page: PageCtx,
    tenant: Tenant,
    preview: service::DeletePreview,
    errors: FieldErrors,
    confirm: String,
}

impl DeletePage {
    async fn build(
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        tenant: Tenant,
        errors: FieldErrors,
        confirm: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, AppError> {
        Ok(DeletePage {
            preview: service::delete_preview(conn, user, &tenant, now).await?,
            page: PageCtx::new(user, conn, "tenants").await?,
            tenant,
            errors,
            confirm,
        })
    }
}

pub(super) async fn delete_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, _) = deletable(&user, &mut conn, &path).await?;
    let now = state.clock.now();
    render(
        &DeletePage::build(
            &user,
            &mut conn,
            tenant,
            FieldErrors::new(),
            String::new(),
            now,
        )
        .await?,
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    /// Force delete: the whole subtree, whatever it holds.
    force: Option<String>,
    /// The tenant's subdomain, typed to confirm a force delete.
    confirm: String,
}

pub(super) async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, _) = deletable(&user, &mut conn, &path).await?;
    let force = checked(&form.force);
    let now = state.clock.now();
    if force && form.confirm.trim() != tenant.subdomain {
        let errors = field_error(
            "confirm",
            format!(
                "Type the subdomain {} exactly to confirm.",
                tenant.subdomain
            ),
        );
        let page = DeletePage::build(&user, &mut conn, tenant, errors, form.confirm, now).await?;
        return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let actor = actor(&user, &req);
    match service::delete(&mut conn, &user, &actor, &tenant, force, now).await {
        Ok(deleted) => {
            let below = deleted.saturating_sub(1);
            flash(
                &user.session.0,
                if below > 0 {
                    format!(
                        "Deleted {} and {below} sub-tenant{} below it.",
                        tenant.name,
                        if below == 1 { "" } else { "s" }
                    )
                } else {
                    format!("Deleted {}.", tenant.name)
                },
            );
            let back = tenant
                .parent_id
                .map_or("/tenants".to_string(), |p| format!("/tenants/{p}"));
            Ok(see_other(&req, &back))
        }
        // Something appeared in the subtree since the page was shown: show it again.
        Err(AppError::DeleteBlocked(_)) => {
            let page = DeletePage::build(
                &user,
                &mut conn,
                tenant,
                FieldErrors::new(),
                String::new(),
                now,
            )
            .await?;
            render_status(&page, StatusCode::CONFLICT)
        }
        Err(e) => Err(e),
    }
}

//! A tenant's custom domain: "Check now" (its DNS proof) and "Approve" (root Owners).

use super::show::show_page;
use crate::auth::{authz, CurrentUser};
use crate::error::AppError;
use crate::services::tenants as service;
use crate::web::actor;
use crate::web::extract::with_path_tenant;
use crate::web::page::{flash, see_other};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// After a custom-domain check or approval: success goes back to the tenant page
/// with a message; a failure shows the page again with what went wrong — the TXT
/// record to add (422), a domain changed meanwhile (409), a DNS resolver that failed
/// or did not answer (503).
async fn domain_answer(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    id: i64,
    result: Result<service::DomainChange, AppError>,
) -> Result<HttpResponse, AppError> {
    let (message, status) = match result {
        Ok(change) => {
            let t = change.tenant();
            let domain = t.custom_domain.clone().unwrap_or_default();
            let status = t.domain_claim.status.clone().unwrap_or_default();
            flash(
                &user.session.0,
                match change {
                    service::DomainChange::Serving(_) => {
                        format!("{domain} is {status} now: its login page shows {}.", t.name)
                    }
                    service::DomainChange::AlreadyServing(_) => {
                        format!("{domain} is {status} already.")
                    }
                },
            );
            return Ok(see_other(req, &format!("/tenants/{id}")));
        }
        Err(AppError::Validation(errors)) => (
            errors.into_values().collect::<Vec<_>>().join(" "),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AppError::Conflict(message)) => (message, StatusCode::CONFLICT),
        Err(AppError::Problem { kind, detail }) => (detail, kind.status()),
        Err(e) => return Err(e),
    };
    let mut conn = state.pool.get().await?;
    let tenant = authz::visible_tenant(user, id, &mut conn).await?;
    show_page(user, state, &mut conn, tenant, Some(message), status).await
}

/// "Check now": looks up the pending domain's TXT record (whoever may edit the tenant).
pub(super) async fn check_domain(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // The lookup runs without a database connection held (see the service).
    let (_, tenant) = with_path_tenant(&user, &state, &path).await?;
    let result = service::verify_custom_domain(
        &state.pool,
        &crate::dns::TxtResolver::from_settings(&state.settings),
        &state.settings.console_hosts(),
        &user,
        &actor(&user, &req),
        &tenant,
    )
    .await;
    domain_answer(&req, &user, &state, tenant.id, result).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ApproveForm {
    /// The domain the approver was shown.
    custom_domain: String,
}

/// "Approve": a root Owner lets the pending domain serve without its DNS proof.
pub(super) async fn approve_domain(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> Result<HttpResponse, AppError> {
    let (mut conn, tenant) = with_path_tenant(&user, &state, &path).await?;
    let result = service::approve_custom_domain(
        &mut conn,
        &state.settings.console_hosts(),
        &user,
        &actor(&user, &req),
        &tenant,
        &form.custom_domain,
    )
    .await;
    drop(conn);
    domain_answer(&req, &user, &state, tenant.id, result).await
}

//! `/tenants/{id}/credential-stuffing`: the tenant's credential-stuffing settings.

use super::{can_change, page_or_fragment, readable, saved};
use crate::auth::CurrentUser;
use crate::db::models::Tenant;
use crate::domain::rules::CredentialStuffing;
use crate::error::{AppError, FieldErrors};
use crate::services::rules as service;
use crate::web::form::{checkbox, with_checkbox};
use crate::web::owned::Rules;
use crate::web::page::PageCtx;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/credential-stuffing" => show),
        route!(POST "/tenants/{id}/credential-stuffing" => save),
    ]
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub enabled: Option<String>,
    pub threshold: String,
    pub window_minutes: String,
    /// One path per line.
    pub login_paths: String,
}

impl SettingsForm {
    fn of(s: &CredentialStuffing) -> Self {
        SettingsForm {
            enabled: s.enabled.then(|| "true".into()),
            threshold: s.threshold.to_string(),
            window_minutes: s.window_minutes.to_string(),
            login_paths: s.login_paths.join("\n"),
        }
    }

    fn to_input(&self) -> Result<CredentialStuffing, FieldErrors> {
        let lines: Vec<&str> = self.login_paths.lines().collect();
        with_checkbox("enabled", &self.enabled, |enabled| {
            CredentialStuffing::parse(enabled, &self.threshold, &self.window_minutes, &lines)
        })
    }
}

#[derive(Template)]
#[template(path = "rules/credential_stuffing.html", blocks = ["content"])]
struct SettingsPage {
    page: PageCtx,
    tenant: Tenant,
    form: SettingsForm,
    errors: FieldErrors,
    can_change: bool,
}

impl SettingsPage {
    fn enabled(&self) -> bool {
        checkbox(&self.form.enabled).unwrap_or(false)
    }
}

async fn render(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    form: SettingsForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = super::status(&errors);
    let page = SettingsPage {
        page: PageCtx::new(user, conn, "rules").await?,
        can_change: can_change(user, &tenant),
        tenant,
        form,
        errors,
    };
    page_or_fragment!(req, page, status)
}

async fn show(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable(&user, &mut conn, &path).await?;
    let settings = service::settings(&mut conn, tenant.id).await?;
    render(
        &req,
        &user,
        &mut conn,
        tenant,
        SettingsForm::of(&settings),
        FieldErrors::new(),
    )
    .await
}

async fn save(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Rules, _>(
        &req,
        &user,
        &state,
        &path,
        "credential-stuffing",
        async |conn, c| service::save_settings(conn, c, input).await,
        |_| "Saved the credential-stuffing settings.".into(),
        async |conn, tenant, errors| render(&req, &user, conn, tenant, form, errors).await,
    )
    .await
}

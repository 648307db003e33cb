//! `/tenants/{id}/applications`: the list with the new-application form, the edit
//! form (`/{aid}`), and the delete with its confirmation.

use super::{can_change, confirmed, form_action, page_or_fragment, readable, saved, tenant_page};
use crate::auth::CurrentUser;
use crate::db::models::rules::Application;
use crate::db::models::Tenant;
use crate::domain::TenantName;
use crate::error::{AppError, FieldErrors};
use crate::services::rules as service;
use crate::web::confirm::{Confirm, Question};
use crate::web::owned::Rules;
use crate::web::page::PageCtx;
use crate::web::routes::{form_routes, Route};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/applications", "{aid}")
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ApplicationForm {
    pub name: String,
}

#[derive(Template)]
#[template(path = "rules/applications.html", blocks = ["content"])]
struct ApplicationsPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<Application>,
    can_change: bool,
    /// The application being edited (its form instead of the new one).
    editing: Option<Application>,
    form: ApplicationForm,
    errors: FieldErrors,
}

impl ApplicationsPage {
    fn form_action(&self) -> String {
        form_action(&self.tenant, LIST, self.editing.as_ref().map(|a| a.id))
    }
}

/// The list's page under the tenant.
const LIST: &str = "applications";

async fn show(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    editing: Option<Application>,
    form: ApplicationForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = super::status(&errors);
    let page = ApplicationsPage {
        page: PageCtx::new(user, conn, "rules").await?,
        rows: Application::all(conn, tenant.id).await?,
        can_change: can_change(user, &tenant),
        tenant,
        editing,
        form,
        errors,
    };
    page_or_fragment!(req, page, status)
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable(&user, &mut conn, &path).await?;
    show(
        &req,
        &user,
        &mut conn,
        tenant,
        None,
        ApplicationForm::default(),
        FieldErrors::new(),
    )
    .await
}

async fn new_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    index(req, user, state, path).await
}

fn name(form: &ApplicationForm) -> Result<TenantName, FieldErrors> {
    TenantName::parse(&form.name).map_err(|e| FieldErrors::from([("name", e)]))
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ApplicationForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = name(&form);
    saved::<Rules, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| service::create_application(conn, c, input).await,
        |app: &Application| format!("Created application {}.", app.name),
        async |conn, tenant, errors| show(&req, &user, conn, tenant, None, form, errors).await,
    )
    .await
}

async fn edit_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable(&user, &mut conn, &path.0).await?;
    let app = Application::find(&mut conn, tenant.id, parse_id(&path.1)?).await?;
    let form = ApplicationForm {
        name: app.name.clone(),
    };
    show(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(app),
        form,
        FieldErrors::new(),
    )
    .await
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ApplicationForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = name(&form);
    saved::<Rules, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| service::update_application(conn, c, parse_id(&path.1)?, input).await,
        |app: &Application| format!("Saved application {}.", app.name),
        async |conn, tenant, errors| {
            let app = Application::find(conn, tenant.id, parse_id(&path.1)?).await?;
            show(&req, &user, conn, tenant, Some(app), form, errors).await
        },
    )
    .await
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    confirmed::<Rules, _>(
        &req,
        &user,
        &state,
        &path,
        &confirm,
        LIST,
        async |conn, tenant, id| {
            let app = Application::find(conn, tenant.id, id).await?;
            Ok(Question {
                title: format!("Delete the application {}?", app.name),
                detail: "Its domains are unbound from it. Rules of older versions that name it \
                         lose it (restoring such a version brings them back unbound)."
                    .into(),
                button: "Delete application".into(),
                action: format!("{}/{}/delete", tenant_page(tenant, LIST), app.id),
                cancel: tenant_page(tenant, LIST),
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete_application(conn, c, id).await,
        |app: &Application| format!("Deleted application {}.", app.name),
    )
    .await
}

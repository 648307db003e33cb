//! `/tenants/{id}/applications`: the list with the new-application form, the edit
//! form (`/{aid}`), and the delete with its confirmation.

use super::{can_change, page_or_fragment, readable, writable};
use crate::auth::CurrentUser;
use crate::db::models::rules::Application;
use crate::db::models::Tenant;
use crate::domain::TenantName;
use crate::error::{AppError, FieldErrors};
use crate::services::rules::{self as service, Change};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::form::field_errors;
use crate::web::page::{done, PageCtx};
use crate::web::routes::{form_routes, Route};
use crate::web::{actor, parse_id, AppState};
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
        match &self.editing {
            Some(app) => format!("/tenants/{}/applications/{}", self.tenant.id, app.id),
            None => list(&self.tenant),
        }
    }
}

fn list(tenant: &Tenant) -> String {
    format!("/tenants/{}/applications", tenant.id)
}

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
    let mut conn = state.pool.get().await?;
    let tenant = writable(&user, &mut conn, &path).await?;
    let actor = actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    match field_errors(service::create_application(&mut conn, &c, name(&form)).await)? {
        Ok(app) => done(
            &req,
            &user,
            format!("Created application {}.", app.name),
            &list(&tenant),
        ),
        Err(errors) => show(&req, &user, &mut conn, tenant, None, form, errors).await,
    }
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
    let mut conn = state.pool.get().await?;
    let tenant = writable(&user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    let actor = actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    match field_errors(service::update_application(&mut conn, &c, id, name(&form)).await)? {
        Ok(app) => done(
            &req,
            &user,
            format!("Saved application {}.", app.name),
            &list(&tenant),
        ),
        Err(errors) => {
            let app = Application::find(&mut conn, tenant.id, id).await?;
            show(&req, &user, &mut conn, tenant, Some(app), form, errors).await
        }
    }
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = writable(&user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    let actor = actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    if !confirm.confirmed {
        service::may_change(&mut conn, &user, &tenant).await?;
        let app = Application::find(&mut conn, tenant.id, id).await?;
        let question = Question {
            title: format!("Delete the application {}?", app.name),
            detail: "Its domains are unbound from it. Rules of older versions that name it lose \
                     it (restoring such a version brings them back unbound)."
                .into(),
            button: "Delete application".into(),
            action: format!("/tenants/{}/applications/{}/delete", tenant.id, app.id),
            cancel: list(&tenant),
            ..Question::default()
        };
        return ask(&req, &user, &mut conn, "rules", question).await;
    }
    let app = service::delete_application(&mut conn, &c, id).await?;
    done(
        &req,
        &user,
        format!("Deleted application {}.", app.name),
        &list(&tenant),
    )
}

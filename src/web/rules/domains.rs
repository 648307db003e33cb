//! `/tenants/{id}/domains`: the list with the new-domain form, the edit form
//! (`/{did}`), and the delete with its confirmation.

use super::{
    can_change, confirmed, form_action, id_choices, page_or_fragment, readable, saved, tenant_page,
    Choice,
};
use crate::auth::CurrentUser;
use crate::db::models::rules::{Application, Domain};
use crate::db::models::Tenant;
use crate::error::{AppError, FieldErrors};
use crate::services::rules::{self as service, DomainInput};
use crate::web::confirm::{Confirm, Question};
use crate::web::form::field_id;
use crate::web::owned::Rules;
use crate::web::page::PageCtx;
use crate::web::routes::{form_routes, Route};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/domains", "{did}")
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DomainForm {
    pub name: String,
    pub application_id: String,
}

impl DomainForm {
    /// The service's input; an application id that is no number names none of the
    /// tenant's (the same field error as another tenant's).
    fn to_input(&self) -> Result<DomainInput, FieldErrors> {
        let app = self.application_id.trim();
        let application_id = match app {
            "" => None,
            raw => Some(field_id(raw).unwrap_or(0)),
        };
        DomainInput::parse(&self.name, application_id)
    }
}

pub struct DomainRow {
    pub domain: Domain,
    pub application: Option<String>,
}

#[derive(Template)]
#[template(path = "rules/domains.html", blocks = ["content"])]
struct DomainsPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<DomainRow>,
    can_change: bool,
    editing: Option<Domain>,
    form: DomainForm,
    applications: Vec<Choice>,
    errors: FieldErrors,
}

impl DomainsPage {
    fn form_action(&self) -> String {
        form_action(&self.tenant, LIST, self.editing.as_ref().map(|d| d.id))
    }
}

/// The list's page under the tenant.
const LIST: &str = "domains";

async fn show(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    editing: Option<Domain>,
    form: DomainForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = super::status(&errors);
    let apps: Vec<(i64, String)> = Application::all(conn, tenant.id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let names: HashMap<i64, String> = apps.iter().cloned().collect();
    let rows = Domain::all(conn, tenant.id)
        .await?
        .into_iter()
        .map(|d| DomainRow {
            application: d.application_id.and_then(|a| names.get(&a).cloned()),
            domain: d,
        })
        .collect();
    let page = DomainsPage {
        page: PageCtx::new(user, conn, "rules").await?,
        rows,
        can_change: can_change(user, &tenant),
        applications: id_choices(&apps, &form.application_id, "(no application)"),
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
        DomainForm::default(),
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

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<DomainForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Rules, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| service::create_domain(conn, c, input).await,
        |d: &Domain| format!("Created domain {}.", d.name),
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
    let d = Domain::find(&mut conn, tenant.id, parse_id(&path.1)?).await?;
    let form = DomainForm {
        name: d.name.clone(),
        application_id: d.application_id.map(|a| a.to_string()).unwrap_or_default(),
    };
    show(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(d),
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
    form: web::Form<DomainForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Rules, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| {
            // The form shows a re-bind refused for its rules at the application field.
            match service::update_domain(conn, c, parse_id(&path.1)?, input).await {
                Err(AppError::Conflict(message)) => Err(AppError::field("application_id", message)),
                other => other,
            }
        },
        |d: &Domain| format!("Saved domain {}.", d.name),
        async |conn, tenant, errors| {
            let d = Domain::find(conn, tenant.id, parse_id(&path.1)?).await?;
            show(&req, &user, conn, tenant, Some(d), form, errors).await
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
            let d = Domain::find(conn, tenant.id, id).await?;
            Ok(Question {
                title: format!("Delete the domain {}?", d.name),
                detail: "Rules of older versions that name it lose it (restoring such a version \
                         brings them back unbound)."
                    .into(),
                button: "Delete domain".into(),
                action: format!("{}/{}/delete", tenant_page(tenant, LIST), d.id),
                cancel: tenant_page(tenant, LIST),
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete_domain(conn, c, id).await,
        |d: &Domain| format!("Deleted domain {}.", d.name),
    )
    .await
}

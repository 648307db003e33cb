//! `/tenants/{id}/domains`: the list with the new-domain form, the edit form
//! (`/{did}`), and the delete with its confirmation.

use super::{can_change, id_choices, page_or_fragment, readable, writable, Choice};
use crate::auth::CurrentUser;
use crate::db::models::rules::{Application, Domain};
use crate::db::models::Tenant;
use crate::error::{AppError, FieldErrors};
use crate::services::rules::{self as service, Change, DomainInput};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::form::{field_errors, field_id};
use crate::web::page::{done, PageCtx};
use crate::web::routes::{form_routes, Route};
use crate::web::{actor, parse_id, AppState};
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
        match &self.editing {
            Some(d) => format!("/tenants/{}/domains/{}", self.tenant.id, d.id),
            None => list(&self.tenant),
        }
    }
}

fn list(tenant: &Tenant) -> String {
    format!("/tenants/{}/domains", tenant.id)
}

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
    let mut conn = state.pool.get().await?;
    let tenant = writable(&user, &mut conn, &path).await?;
    let actor = actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    match field_errors(service::create_domain(&mut conn, &c, form.to_input()).await)? {
        Ok(d) => done(
            &req,
            &user,
            format!("Created domain {}.", d.name),
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
    let mut conn = state.pool.get().await?;
    let tenant = writable(&user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    let actor = actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    match field_errors(service::update_domain(&mut conn, &c, id, form.to_input()).await)? {
        Ok(d) => done(
            &req,
            &user,
            format!("Saved domain {}.", d.name),
            &list(&tenant),
        ),
        Err(errors) => {
            let d = Domain::find(&mut conn, tenant.id, id).await?;
            show(&req, &user, &mut conn, tenant, Some(d), form, errors).await
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
    if !confirm.confirmed {
        service::may_change(&mut conn, &user, &tenant).await?;
        let d = Domain::find(&mut conn, tenant.id, id).await?;
        let question = Question {
            title: format!("Delete the domain {}?", d.name),
            detail: "Rules of older versions that name it lose it (restoring such a version \
                     brings them back unbound)."
                .into(),
            button: "Delete domain".into(),
            action: format!("/tenants/{}/domains/{}/delete", tenant.id, d.id),
            cancel: list(&tenant),
            ..Question::default()
        };
        return ask(&req, &user, &mut conn, "rules", question).await;
    }
    let actor = actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    let d = service::delete_domain(&mut conn, &c, id).await?;
    done(
        &req,
        &user,
        format!("Deleted domain {}.", d.name),
        &list(&tenant),
    )
}

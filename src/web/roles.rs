//! User roles of a tenant, and (in the root) the multi-tenant role templates.

use crate::auth::{authz, CurrentUser};
use crate::db::models::role::UserRole;
use crate::db::models::Tenant;
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::roles as service;
use crate::web::extract::path_tenant;
use crate::web::form::field_errors;
use crate::web::page::{done, render, rerender, PageCtx};
use crate::web::role_form::{feature_labels, levels, matrix, MatrixRow, RoleInput};
use crate::web::routes::{form_routes, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/roles", "{role_id}")
}

pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub levels: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "roles/index.html")]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    cap_name: String,
    roles: Vec<RoleRow>,
    features: Vec<&'static str>,
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "roles/form.html")]
pub struct FormPage {
    pub page: PageCtx,
    pub title: String,
    pub note: Option<String>,
    pub action: String,
    pub cancel_href: String,
    pub delete_action: Option<String>,
    pub name: String,
    pub show_multi_tenant: bool,
    pub multi_tenant: bool,
    pub matrix: Vec<MatrixRow>,
    pub errors: FieldErrors,
    pub read_only: bool,
    /// Tenant roles only: whether its tenants see the root's public clouds.
    pub public_clouds: Option<bool>,
}

/// The roles list of `tenant`.
fn list(tenant: &Tenant) -> String {
    format!("/tenants/{}/roles", tenant.id)
}

fn kind(role: &UserRole, copies: Option<i64>) -> String {
    match (role.multi_tenant, role.template_id, role.customised) {
        (true, _, _) => format!(
            "Multi-tenant template ({} linked copies)",
            copies.unwrap_or(0)
        ),
        (false, Some(_), false) => "Linked to a multi-tenant template".into(),
        (false, _, true) => "Customised copy of a template".into(),
        (false, None, false) => "Single-tenant role".into(),
    }
}

async fn role_in(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    raw: &str,
) -> Result<UserRole, AppError> {
    UserRole::find_in_tenant(conn, tenant.id, parse_id(raw)?)
        .await?
        .ok_or(AppError::NotFound)
}

/// The tenant of a role path, if visible (else 404) with Roles Read there (else
/// 403), and the role the path names in it (else 404).
async fn role_of(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    path: &(String, String),
) -> Result<(Tenant, UserRole), AppError> {
    let tenant = path_tenant(user, conn, &path.0, Feature::Roles, Level::Read).await?;
    let role = role_in(conn, &tenant, &path.1).await?;
    Ok((tenant, role))
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Roles, Level::Read).await?;
    let all = UserRole::for_tenant(&mut conn, tenant.id).await?;
    let templates: Vec<i64> = all
        .iter()
        .filter(|r| r.multi_tenant)
        .map(|r| r.id)
        .collect();
    let copies = match templates.is_empty() {
        true => Default::default(),
        false => UserRole::linked_copies_each(&mut conn, &templates).await?,
    };
    let roles = all
        .into_iter()
        .map(|r| RoleRow {
            id: r.id,
            kind: kind(
                &r,
                r.multi_tenant
                    .then(|| copies.get(&r.id).copied().unwrap_or(0)),
            ),
            levels: levels(&r.permissions),
            name: r.name,
        })
        .collect();
    render(&IndexPage {
        page: PageCtx::new(&user, &mut conn, "roles").await?,
        cap_name: user.cap_name(&tenant),
        can_edit: authz::can_edit_roles(&user, &tenant),
        features: feature_labels(),
        roles,
        tenant,
    })
}

async fn new_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Roles, Level::Full).await?;
    render(&new_page(&user, &mut conn, &tenant, None, FieldErrors::new()).await?)
}

/// The create form: empty (every feature at read), or `input` with its errors.
async fn new_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    input: Option<&RoleInput>,
    errors: FieldErrors,
) -> Result<FormPage, AppError> {
    Ok(FormPage {
        page: PageCtx::new(user, conn, "roles").await?,
        title: format!("New role in {}", tenant.name),
        note: None,
        action: format!("/tenants/{}/roles/new", tenant.id),
        cancel_href: list(tenant),
        delete_action: None,
        name: input.map(|i| i.name.clone()).unwrap_or_default(),
        show_multi_tenant: authz::can_define_templates(user, tenant),
        multi_tenant: input.is_some_and(|i| i.multi_tenant),
        matrix: matrix(&input.map_or_else(
            || crate::domain::Permissions::all(Level::Read),
            RoleInput::permissions_lenient,
        )),
        errors,
        read_only: false,
        public_clouds: None,
    })
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Roles, Level::Read).await?;
    let input = RoleInput::from_pairs(form.into_inner());
    let result = service::create_user_role(
        &mut conn,
        &user,
        &actor(&user, &req),
        &tenant,
        input.validate(),
        input.multi_tenant,
    )
    .await;
    match field_errors(result)? {
        Ok(role) => {
            let message = format!("Created role {}.", role.name);
            done(&req, &user, message, &list(&tenant))
        }
        Err(errors) => rerender(&new_page(&user, &mut conn, &tenant, Some(&input), errors).await?),
    }
}

fn note(role: &UserRole) -> Option<String> {
    match (role.multi_tenant, role.is_linked(), role.customised) {
        (true, _, _) => Some("A multi-tenant template: saving updates every linked copy. Renaming or deleting it leaves the copies as they are.".into()),
        (false, true, _) => Some("Linked to a multi-tenant template. Saving it here customises this copy for good: it will no longer follow the template.".into()),
        (false, _, true) => Some("Customised: no longer follows its template.".into()),
        _ => None,
    }
}

async fn edit_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    role: &UserRole,
    input: Option<&RoleInput>,
    errors: FieldErrors,
) -> Result<FormPage, AppError> {
    let can_edit = authz::can_edit_roles(user, tenant);
    Ok(FormPage {
        page: PageCtx::new(user, conn, "roles").await?,
        title: format!("Role {}", role.name),
        note: note(role),
        action: format!("/tenants/{}/roles/{}", tenant.id, role.id),
        cancel_href: list(tenant),
        delete_action: can_edit.then(|| format!("/tenants/{}/roles/{}/delete", tenant.id, role.id)),
        name: input.map_or_else(|| role.name.clone(), |i| i.name.clone()),
        show_multi_tenant: false,
        multi_tenant: role.multi_tenant,
        matrix: matrix(
            &input.map_or_else(|| role.permissions.clone(), RoleInput::permissions_lenient),
        ),
        errors,
        read_only: !can_edit,
        public_clouds: None,
    })
}

async fn edit_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, role) = role_of(&user, &mut conn, &path).await?;
    render(&edit_page(&user, &mut conn, &tenant, &role, None, FieldErrors::new()).await?)
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, role) = role_of(&user, &mut conn, &path).await?;
    let input = RoleInput::from_pairs(form.into_inner());
    let actor = actor(&user, &req);
    let result =
        service::update_user_role(&mut conn, &user, &actor, &tenant, &role, input.validate()).await;
    match field_errors(result)? {
        Ok((saved, copies)) => {
            let extra = if saved.multi_tenant {
                format!(" {copies} linked copies updated.")
            } else {
                String::new()
            };
            let message = format!("Saved role {}.{extra}", saved.name);
            done(&req, &user, message, &list(&tenant))
        }
        Err(errors) => {
            rerender(&edit_page(&user, &mut conn, &tenant, &role, Some(&input), errors).await?)
        }
    }
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, role) = role_of(&user, &mut conn, &path).await?;
    service::delete_user_role(&mut conn, &user, &actor(&user, &req), &tenant, &role).await?;
    done(
        &req,
        &user,
        format!("Deleted role {}.", role.name),
        &list(&tenant),
    )
}

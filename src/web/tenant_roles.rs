//! Tenant roles: defined in the root by its administrators, one assigned to every tenant.

use crate::auth::{authz, CurrentUser};
use crate::db::models::role::TenantRole;
use crate::domain::{Feature, Level, Permissions};
use crate::error::{AppError, FieldErrors};
use crate::services::roles as service;
use crate::web::form::field_errors;
use crate::web::page::{done, render, rerender, PageCtx};
use crate::web::role_form::{feature_labels, levels, matrix, RoleInput};
use crate::web::roles::FormPage;
use crate::web::routes::{form_routes, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    form_routes!("/tenant-roles", "{id}")
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub tenants: i64,
    pub levels: Vec<&'static str>,
    /// Whether its tenants see the root's public clouds.
    pub public_clouds: bool,
}

#[derive(Template)]
#[template(path = "tenant_roles/index.html")]
struct IndexPage {
    page: PageCtx,
    roles: Vec<Row>,
    features: Vec<&'static str>,
    can_edit: bool,
}

/// Tenant roles live in the root: invisible (404) to anyone who cannot see the root.
async fn require_root(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    write: bool,
) -> Result<(), AppError> {
    let root = crate::db::models::Tenant::root(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    if !authz::can_see(user, &root) {
        return Err(AppError::NotFound);
    }
    authz::require(user, &root, Feature::Roles, Level::Read)?;
    if write && !authz::can_manage_tenant_roles(user) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

async fn index(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    require_root(&user, &mut conn, false).await?;
    let using = TenantRole::tenants_using_each(&mut conn).await?;
    let roles = TenantRole::listed(&mut conn)
        .await?
        .into_iter()
        .map(|(r, public_clouds)| Row {
            id: r.id,
            tenants: using.get(&r.id).copied().unwrap_or(0),
            levels: levels(&r.permissions),
            name: r.name,
            public_clouds,
        })
        .collect();
    render(&IndexPage {
        page: PageCtx::new(&user, &mut conn, "tenant-roles").await?,
        roles,
        features: feature_labels(),
        can_edit: authz::can_manage_tenant_roles(&user),
    })
}

async fn form_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    role: Option<&TenantRole>,
    name: String,
    perms: &Permissions,
    errors: FieldErrors,
    public_clouds: bool,
) -> Result<FormPage, AppError> {
    let can_edit = authz::can_manage_tenant_roles(user);
    Ok(FormPage {
        page: PageCtx::new(user, conn, "tenant-roles").await?,
        title: role.map_or_else(
            || "New tenant role".into(),
            |r| format!("Tenant role {}", r.name),
        ),
        note: Some(
            "The cap on everything any user may do inside the tenants that have this role.".into(),
        ),
        action: role.map_or_else(
            || "/tenant-roles/new".into(),
            |r| format!("/tenant-roles/{}", r.id),
        ),
        cancel_href: "/tenant-roles".into(),
        delete_action: role
            .filter(|_| can_edit)
            .map(|r| format!("/tenant-roles/{}/delete", r.id)),
        name,
        show_multi_tenant: false,
        multi_tenant: false,
        matrix: matrix(perms),
        errors,
        read_only: !can_edit,
        public_clouds: Some(public_clouds),
    })
}

async fn new_form(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    require_root(&user, &mut conn, true).await?;
    render(
        &form_page(
            &user,
            &mut conn,
            None,
            String::new(),
            &Permissions::all(Level::Read),
            FieldErrors::new(),
            true,
        )
        .await?,
    )
}

async fn find(conn: &mut AsyncPgConnection, raw: &str) -> Result<TenantRole, AppError> {
    TenantRole::find(conn, parse_id(raw)?)
        .await
        .map_err(AppError::from)
}

/// The tenant role of an update or delete path: 404 before 403 (the service's), as
/// everywhere.
async fn role_of(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<TenantRole, AppError> {
    require_root(user, conn, false).await?;
    find(conn, raw).await
}

async fn save(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    existing: Option<&TenantRole>,
    input: &RoleInput,
) -> Result<Result<TenantRole, FieldErrors>, AppError> {
    let actor = actor(user, req);
    let result = match existing {
        Some(role) => {
            service::update_tenant_role(
                conn,
                user,
                &actor,
                role,
                input.validate(),
                public_clouds(input),
            )
            .await
        }
        None => {
            service::create_tenant_role(conn, user, &actor, input.validate(), public_clouds(input))
                .await
        }
    };
    field_errors(result)
}

/// The form's "sees the root's public clouds" box: `None` when the form did not
/// show it (it keeps the stored value), else whether it is checked.
fn public_clouds(input: &RoleInput) -> Option<bool> {
    input
        .fields
        .contains_key("public_clouds_shown")
        .then(|| crate::web::form::checked(&input.fields.get("public_clouds").cloned()))
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    require_root(&user, &mut conn, false).await?;
    submit(&req, &user, &mut conn, None, form.into_inner()).await
}

/// Saves the form (a new role without `existing`): back to the list, or the form
/// again with its errors.
async fn submit(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    existing: Option<&TenantRole>,
    form: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let input = RoleInput::from_pairs(form);
    match save(req, user, conn, existing, &input).await? {
        Ok(saved) => {
            let verb = if existing.is_some() {
                "Saved"
            } else {
                "Created"
            };
            let message = format!("{verb} tenant role {}.", saved.name);
            done(req, user, message, "/tenant-roles")
        }
        Err(errors) => {
            let perms = input.permissions_lenient();
            let public = public_clouds(&input).unwrap_or(true);
            rerender(&form_page(user, conn, existing, input.name, &perms, errors, public).await?)
        }
    }
}

async fn edit_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    require_root(&user, &mut conn, false).await?;
    let role = find(&mut conn, &path).await?;
    let public = TenantRole::public_clouds(&mut conn, role.id).await?;
    render(
        &form_page(
            &user,
            &mut conn,
            Some(&role),
            role.name.clone(),
            &role.permissions,
            FieldErrors::new(),
            public,
        )
        .await?,
    )
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let role = role_of(&user, &mut conn, &path).await?;
    submit(&req, &user, &mut conn, Some(&role), form.into_inner()).await
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let role = role_of(&user, &mut conn, &path).await?;
    service::delete_tenant_role(&mut conn, &user, &actor(&user, &req), &role).await?;
    let message = format!("Deleted tenant role {}.", role.name);
    done(&req, &user, message, "/tenant-roles")
}

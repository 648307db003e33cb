//! The Users pages of a tenant: list, create, edit, enable/disable, delete and
//! password reset.

use crate::auth::{authz, CurrentUser};
use crate::db::models::role::UserRole;
use crate::db::models::user::UserListRow;
use crate::db::models::{Tenant, User};
use crate::domain::account::Password;
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::users::{self as service, UserInput, MANAGED, TAKEN};
use crate::web::page::{flash, render, render_status, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/users" => index),
        route!(POST "/tenants/{id}/users" => create),
        route!(GET "/tenants/{id}/users/new" => new_form),
        route!(POST "/tenants/{id}/users/new" => create),
        route!(GET "/tenants/{id}/users/{user_id}" => edit_form),
        route!(POST "/tenants/{id}/users/{user_id}" => update),
        route!(POST "/tenants/{id}/users/{user_id}/disable" => disable),
        route!(POST "/tenants/{id}/users/{user_id}/enable" => enable),
        route!(POST "/tenants/{id}/users/{user_id}/delete" => delete),
        route!(POST "/tenants/{id}/users/{user_id}/password" => reset_password),
    ]
}

/// Shown instead of the create form while the tenant has no user role.
pub const NO_ROLE: &str = "This tenant has no user role yet. Create a multi-tenant role in the root tenant first (or a role in this tenant).";
const CHOOSE_ROLE: &str = "Choose a role of this tenant.";
/// Refusal of a password reset of one's own account on the Users pages.
pub const OWN_PASSWORD: &str =
    "Change your own password on your profile page; it asks for your current password.";

/// The tenant of the path, if visible (else 404), with `level` on Users (else 403).
async fn tenant_for(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    id: i64,
    level: Level,
) -> Result<Tenant, AppError> {
    let tenant = authz::visible_tenant(user, id, conn).await?;
    authz::require(user, &tenant, Feature::Users, level)?;
    Ok(tenant)
}

/// Both ids of a user path; anything not a number is a 404.
fn ids(path: &(String, String)) -> Result<(i64, i64), AppError> {
    Ok((parse_id(&path.0)?, parse_id(&path.1)?))
}

/// A user whose home is this tenant; any other id is "not found".
async fn member(conn: &mut AsyncPgConnection, tenant: &Tenant, id: i64) -> Result<User, AppError> {
    User::find_in_tenant(conn, tenant.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Why the acting user may not change `target`, if they may not: the dominance rule
/// of `authz` (a password reset or an email change would hand over the target's rights).
async fn outranked(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    target: &User,
) -> Result<Option<authz::Outranked>, AppError> {
    if target.id == user.user.id {
        return Ok(None);
    }
    let subject = authz::Subject::load(conn, target.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(authz::outranked(user, &subject))
}

/// The target of a change: a member of a tenant where the user holds Users Full,
/// whom the user dominates (else 403).
pub(crate) async fn changeable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    path: &(String, String),
) -> Result<(Tenant, User), AppError> {
    let (tenant_id, user_id) = ids(path)?;
    let tenant = tenant_for(user, conn, tenant_id, Level::Full).await?;
    let target = member(conn, &tenant, user_id).await?;
    if target.id != user.user.id {
        let subject = authz::Subject::load(conn, target.id)
            .await?
            .ok_or(AppError::NotFound)?;
        authz::require_dominance(user, &subject)?;
    }
    Ok((tenant, target))
}

/// The role chosen in the form: a role of this tenant, and none with more rights
/// (within the tenant's cap) than the acting user holds there. An unchanged role
/// passes as it is.
fn chosen_role(
    user: &CurrentUser,
    tenant: &Tenant,
    roles: &[UserRole],
    raw: &str,
    current: Option<i64>,
    required: bool,
    errors: &mut FieldErrors,
) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        if required {
            errors.insert("role_id", CHOOSE_ROLE.into());
        }
        return None;
    }
    let Some(role) = raw
        .parse::<i64>()
        .ok()
        .and_then(|id| roles.iter().find(|r| r.id == id))
    else {
        errors.insert("role_id", CHOOSE_ROLE.into());
        return None;
    };
    if current != Some(role.id) {
        let over = authz::role_escalation(user, tenant, &role.permissions);
        if !over.is_empty() {
            let names: Vec<&str> = over.iter().map(|f| f.label()).collect();
            errors.insert(
                "role_id",
                format!(
                    "You cannot give a role with more rights than you hold ({}).",
                    names.join(", ")
                ),
            );
        }
    }
    Some(role.id)
}

// ---------------------------------------------------------------- list

const PER_PAGE: i64 = 50;

#[derive(serde::Deserialize, Default, Debug)]
#[serde(default)]
pub struct ListParams {
    q: String,
    page: String,
}

#[derive(Template)]
#[template(path = "users/index.html")]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<UserListRow>,
    total: i64,
    page_no: i64,
    pages: i64,
    q: String,
    can_create: bool,
    can_invite: bool,
}

impl IndexPage {
    fn page_href(&self, page: i64) -> String {
        let query =
            serde_urlencoded::to_string([("q", self.q.as_str()), ("page", &page.to_string())])
                .unwrap_or_default();
        format!("/tenants/{}/users?{query}", self.tenant.id)
    }
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let tenant_id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let tenant = tenant_for(&user, &mut conn, tenant_id, Level::Read).await?;
    let q: String = params.q.trim().chars().take(100).collect();
    let page_no = params.page.trim().parse().unwrap_or(1).clamp(1, 1_000_000);
    let (rows, total) =
        User::list_in_tenant(&mut conn, tenant.id, Some(q.as_str()), page_no, PER_PAGE).await?;
    render(&IndexPage {
        page: PageCtx::new(&user, &mut conn, "users").await?,
        can_create: authz::require(&user, &tenant, Feature::Users, Level::Full).is_ok(),
        can_invite: authz::can_invite(&user, &tenant),
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        tenant,
        rows,
        total,
        page_no,
        q,
    })
}

// ---------------------------------------------------------------- create / edit

#[derive(Template)]
#[template(path = "users/form.html")]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    form: UserInput,
    errors: FieldErrors,
    roles: Vec<UserRole>,
    /// The user being edited; `None` on the create form.
    editing: Option<User>,
    /// Users Read only, or a user holding rights the viewer lacks: nothing to submit.
    read_only: bool,
    /// Names, username, email and password come from an identity source.
    managed: bool,
    note: Option<String>,
    action: String,
    no_role_message: &'static str,
    /// The user is looking at their own account.
    is_self: bool,
    /// The edited user's API tokens, for those who may change the user.
    api_tokens: Option<crate::web::user_tokens::TokenSection>,
}

impl FormPage {
    fn identity_disabled(&self) -> bool {
        self.read_only || self.managed
    }
}

/// The user being edited, and whether the viewer may change them.
struct Editing {
    user: User,
    read_only: bool,
    note: Option<String>,
}

async fn form_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    form: UserInput,
    errors: FieldErrors,
    editing: Option<Editing>,
) -> Result<FormPage, AppError> {
    let (editing, read_only, note) = match editing {
        Some(e) => (Some(e.user), e.read_only, e.note),
        None => (None, false, None),
    };
    let roles = UserRole::for_tenant(conn, tenant.id).await?;
    let action = match &editing {
        Some(u) => format!("/tenants/{}/users/{}", tenant.id, u.id),
        None => format!("/tenants/{}/users/new", tenant.id),
    };
    let form = form.for_rerender(editing.as_ref());
    Ok(FormPage {
        page: PageCtx::new(user, conn, "users").await?,
        managed: editing.as_ref().is_some_and(User::is_managed),
        is_self: editing.as_ref().is_some_and(|u| u.id == user.user.id),
        tenant,
        form,
        errors,
        roles,
        editing,
        read_only,
        note,
        action,
        no_role_message: NO_ROLE,
        api_tokens: None,
    })
}

async fn new_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant_id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let tenant = tenant_for(&user, &mut conn, tenant_id, Level::Full).await?;
    let mut form = UserInput::blank();
    let roles = UserRole::for_tenant(&mut conn, tenant.id).await?;
    // A single role is the obvious choice; with several, the user picks one.
    if roles.len() == 1 {
        form.role_id = roles[0].id.to_string();
    }
    let page = form_page(&user, &mut conn, tenant, form, FieldErrors::new(), None).await?;
    render(&page)
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<UserInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let tenant_id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let tenant = tenant_for(&user, &mut conn, tenant_id, Level::Full).await?;
    let roles = UserRole::for_tenant(&mut conn, tenant.id).await?;
    let result = if roles.is_empty() {
        Err(AppError::field("role_id", NO_ROLE))
    } else {
        let mut errors = FieldErrors::new();
        let parsed = input.for_create().map_err(|e| errors = e).ok();
        let role = chosen_role(
            &user,
            &tenant,
            &roles,
            &input.role_id,
            None,
            true,
            &mut errors,
        );
        if !errors.contains_key("username")
            && User::username_taken(&mut conn, tenant.id, input.username().trim(), None).await?
        {
            errors.insert("username", TAKEN.into());
        }
        match parsed {
            Some((mut fields, password)) if errors.is_empty() => {
                fields.role_id = role;
                let hash = state.hasher.hash(password.secret()).await?;
                service::create(&mut conn, &actor(&user, &req), tenant.id, &fields, &hash).await
            }
            _ => Err(AppError::Validation(errors)),
        }
    };
    match result {
        Ok(created) => {
            flash(&user.session.0, format!("Created {}.", created.username));
            Ok(see_other(
                &req,
                &format!("/tenants/{}/users/{}", tenant.id, created.id),
            ))
        }
        Err(AppError::Validation(errors)) => {
            let page = form_page(&user, &mut conn, tenant, input, errors, None).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

/// The edit page of `target`, read-only unless the user may change them.
async fn edit_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    target: User,
    form: UserInput,
    errors: FieldErrors,
    now: DateTime<Utc>,
) -> Result<FormPage, AppError> {
    let full = authz::require(user, &tenant, Feature::Users, Level::Full).is_ok();
    let refusal = match full {
        true => outranked(user, conn, &target).await?,
        false => None,
    };
    // Those who may change the user see and revoke their API tokens.
    let api_tokens = match full && refusal.is_none() {
        true => Some(crate::web::user_tokens::section(conn, &tenant, &target, now).await?),
        false => None,
    };
    let editing = Editing {
        user: target,
        read_only: !full || refusal.is_some(),
        note: refusal.map(|r| r.message()),
    };
    let mut page = form_page(user, conn, tenant, form, errors, Some(editing)).await?;
    page.api_tokens = api_tokens;
    Ok(page)
}

async fn edit_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (tenant_id, user_id) = ids(&path)?;
    let mut conn = state.pool.get().await?;
    let tenant = tenant_for(&user, &mut conn, tenant_id, Level::Read).await?;
    let target = member(&mut conn, &tenant, user_id).await?;
    let form = UserInput::from_user(&target);
    let (errors, now) = (FieldErrors::new(), state.clock.now());
    let page = edit_page(&user, &mut conn, tenant, target, form, errors, now).await?;
    render(&page)
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<UserInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, target) = changeable(&user, &mut conn, &path).await?;
    let roles = UserRole::for_tenant(&mut conn, tenant.id).await?;
    let mut errors = FieldErrors::new();
    let parsed = input.for_update(&target).map_err(|e| errors = e).ok();
    let role = chosen_role(
        &user,
        &tenant,
        &roles,
        &input.role_id,
        target.role_id,
        false,
        &mut errors,
    );
    if let Some(fields) = parsed.as_ref().filter(|f| f.username != target.username) {
        if User::username_taken(&mut conn, tenant.id, &fields.username, Some(target.id)).await? {
            errors.insert("username", TAKEN.into());
        }
    }
    let result = match parsed {
        Some(mut fields) if errors.is_empty() => {
            fields.role_id = role;
            service::update(&mut conn, &actor(&user, &req), target.id, fields).await
        }
        _ => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(saved) => {
            flash(&user.session.0, format!("Saved {}.", saved.username));
            Ok(see_other(
                &req,
                &format!("/tenants/{}/users/{}", tenant.id, saved.id),
            ))
        }
        Err(AppError::Validation(errors)) => {
            let now = state.clock.now();
            let page = edit_page(&user, &mut conn, tenant, target, input, errors, now).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- actions

async fn set_enabled(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: &(String, String),
    enabled: bool,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, target) = changeable(&user, &mut conn, path).await?;
    let saved = service::set_enabled(&mut conn, &actor(&user, &req), target.id, enabled).await?;
    let message = if enabled {
        format!("{} is enabled.", saved.username)
    } else {
        format!("{} is disabled; their sessions have ended.", saved.username)
    };
    flash(&user.session.0, message);
    Ok(see_other(
        &req,
        &format!("/tenants/{}/users/{}", tenant.id, saved.id),
    ))
}

async fn disable(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    set_enabled(req, user, state, &path, false).await
}

async fn enable(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    set_enabled(req, user, state, &path, true).await
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, target) = changeable(&user, &mut conn, &path).await?;
    let deleted = service::delete(&mut conn, &actor(&user, &req), target.id).await?;
    flash(&user.session.0, format!("Deleted {}.", deleted.username));
    Ok(see_other(&req, &format!("/tenants/{}/users", tenant.id)))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    password: String,
}

async fn reset_password(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, target) = changeable(&user, &mut conn, &path).await?;
    let parsed = if target.is_managed() {
        Err(MANAGED.to_string())
    } else if target.id == user.user.id {
        // One's own password changes on the profile page, which asks for the current one.
        Err(OWN_PASSWORD.to_string())
    } else {
        Password::parse(&form.password, &target.username)
    };
    let result = match parsed {
        Ok(password) => {
            let hash = state.hasher.hash(password.secret()).await?;
            service::reset_password(&mut conn, &actor(&user, &req), target.id, &hash).await
        }
        Err(message) => Err(AppError::field("password", message)),
    };
    match result {
        Ok(_) => {
            flash(
                &user.session.0,
                format!(
                    "New password set for {}; their sessions have ended.",
                    target.username
                ),
            );
            Ok(see_other(
                &req,
                &format!("/tenants/{}/users/{}", tenant.id, target.id),
            ))
        }
        Err(AppError::Validation(errors)) => {
            let form = UserInput::from_user(&target);
            let now = state.clock.now();
            let page = edit_page(&user, &mut conn, tenant, target, form, errors, now).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

//! The Users pages of a tenant: list, create, edit, enable/disable, delete and
//! password reset.

use crate::auth::{authz, CurrentUser};
use crate::db::models::role::UserRole;
use crate::db::models::user::UserListRow;
use crate::db::models::{Tenant, User};
use crate::domain::account::{GbLimit, Password, PersonName};
use crate::domain::email::Email;
use crate::domain::{Feature, Level, Username};
use crate::error::{AppError, FieldErrors};
use crate::services::draft::Draft;
use crate::services::plans::Warned;
use crate::services::tenants::Parsed;
use crate::services::users::{
    self as service, Identity, NewUser, RoleChoice, UserChange, UserInput, UserSettings, MANAGED,
    TAKEN,
};
pub use crate::services::users::{NO_ROLE, OWN_PASSWORD};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::{path_tenant, Query};
use crate::web::form::field_errors;
use crate::web::form::{self, checked, SearchBox};
use crate::web::page::{done, render, render_status, rerender, PageCtx};
use crate::web::plans::noted;
use crate::web::routes::{form_routes, route, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    let mut routes = form_routes!("/tenants/{id}/users", "{user_id}");
    routes.extend([
        route!(POST "/tenants/{id}/users/{user_id}/disable" => set_enabled::<false>),
        route!(POST "/tenants/{id}/users/{user_id}/enable" => set_enabled::<true>),
        route!(POST "/tenants/{id}/users/{user_id}/password" => reset_password),
    ]);
    routes
}

/// The tenant of a user path, if visible (else 404), where the user may see the
/// Users pages (else 403), and the user the path names among its members (else 404).
async fn target_of(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    path: &(String, String),
) -> Result<(Tenant, User), AppError> {
    let tenant = path_tenant(user, conn, &path.0, Feature::Users, Level::Read).await?;
    let target = User::find_in_tenant(conn, tenant.id, parse_id(&path.1)?)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((tenant, target))
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

/// The target of a change: a member of a visible tenant ([`target_of`]) whom the
/// user may change (`services::users::require_changeable`, else 403).
pub(crate) async fn changeable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    path: &(String, String),
) -> Result<(Tenant, User), AppError> {
    let (tenant, target) = target_of(user, conn, path).await?;
    service::require_changeable(conn, user, &tenant, &target).await?;
    Ok((tenant, target))
}

// ---------------------------------------------------------------- form

/// The create and edit forms as sent. The four identity fields are optional: a
/// disabled input is not sent, and "not sent" means "unchanged".
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct UserForm {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Only read when creating; never rendered back.
    pub password: String,
    pub role_id: String,
    pub enabled: Option<String>,
    /// Sent by the forms next to the checkbox, so that "unchecked" differs from "not sent".
    pub enabled_shown: Option<String>,
    /// The limits; not sent (disabled: the viewer may not set them) keeps them.
    pub storage_limit_gb: Option<String>,
    pub memory_limit_gb: Option<String>,
}

impl std::fmt::Debug for UserForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserForm")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("role_id", &self.role_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

/// A limit as its field shows it: empty for none.
fn limit_text(limit: Option<i64>) -> String {
    limit.map(|n| n.to_string()).unwrap_or_default()
}

impl UserForm {
    /// The create form's starting values.
    fn blank() -> Self {
        Self {
            enabled: Some("true".into()),
            ..Self::default()
        }
    }

    /// The edit form's starting values.
    fn from_user(u: &User) -> Self {
        Self {
            username: Some(u.username.clone()),
            email: Some(u.email.clone()),
            first_name: Some(u.first_name.clone()),
            last_name: Some(u.last_name.clone()),
            password: String::new(),
            role_id: u.role_id.map(|r| r.to_string()).unwrap_or_default(),
            enabled: u.enabled.then(|| "true".into()),
            enabled_shown: Some("1".into()),
            storage_limit_gb: Some(limit_text(u.storage_limit_gb)),
            memory_limit_gb: Some(limit_text(u.memory_limit_gb)),
        }
    }

    /// This form to re-render, with the identity fields an identity source manages
    /// and limits not sent shown as stored, and the password dropped.
    fn for_rerender(mut self, stored: Option<&User>) -> Self {
        self.password.clear();
        if let Some(u) = stored {
            let storage = u.storage_limit_gb;
            let memory = u.memory_limit_gb;
            self.storage_limit_gb
                .get_or_insert_with(|| limit_text(storage));
            self.memory_limit_gb
                .get_or_insert_with(|| limit_text(memory));
        }
        if let Some(u) = stored.filter(|u| u.is_managed()) {
            self.username = Some(u.username.clone());
            self.email = Some(u.email.clone());
            self.first_name = Some(u.first_name.clone());
            self.last_name = Some(u.last_name.clone());
        }
        self
    }

    fn username(&self) -> &str {
        text(&self.username)
    }
    fn email(&self) -> &str {
        text(&self.email)
    }
    fn first_name(&self) -> &str {
        text(&self.first_name)
    }
    fn last_name(&self) -> &str {
        text(&self.last_name)
    }
    fn storage_limit(&self) -> &str {
        text(&self.storage_limit_gb)
    }
    fn memory_limit(&self) -> &str {
        text(&self.memory_limit_gb)
    }
    fn enabled_checked(&self) -> bool {
        checked(&self.enabled)
    }
    fn role_selected(&self, id: &i64) -> bool {
        self.role_id.trim() == id.to_string()
    }

    /// The identity fields, every error into `errors`. An empty email is no email
    /// where `email_optional`.
    fn identity(&self, email_optional: bool, errors: &mut FieldErrors) -> Option<Identity> {
        let username = Username::parse(self.username())
            .map_err(|e| errors.insert("username", e))
            .ok();
        let email = if email_optional && self.email().trim().is_empty() {
            Some(None)
        } else {
            Email::parse(self.email())
                .map_err(|e| errors.insert("email", e))
                .ok()
                .map(Some)
        };
        let first_name = PersonName::parse(self.first_name())
            .map_err(|e| errors.insert("first_name", e))
            .ok();
        let last_name = PersonName::parse(self.last_name())
            .map_err(|e| errors.insert("last_name", e))
            .ok();
        Some(Identity {
            username: username?,
            email: email?,
            first_name: first_name?,
            last_name: last_name?,
        })
    }

    /// The settings, every error into `errors`; the role was chosen by the caller
    /// against the tenant's roles. On create (`stored` None), a client that sends
    /// neither the box nor its marker gets an enabled user; a limit not sent is none
    /// on create, else the stored one, and so is one that cannot be read (a
    /// stand-in: its error refuses the change).
    fn settings(
        &self,
        role_id: Option<i64>,
        stored: Option<&User>,
        errors: &mut FieldErrors,
    ) -> UserSettings {
        let mut limit = |field: &'static str, sent: &Option<String>, kept: Option<i64>| {
            let raw = sent.as_deref().unwrap_or_default();
            match sent {
                Some(_) => GbLimit::parse(raw).unwrap_or_else(|e| {
                    errors.insert(field, e);
                    GbLimit::stored(kept)
                }),
                None => GbLimit::stored(kept),
            }
        };
        let storage = limit(
            "storage_limit_gb",
            &self.storage_limit_gb,
            stored.and_then(|u| u.storage_limit_gb),
        );
        let memory = limit(
            "memory_limit_gb",
            &self.memory_limit_gb,
            stored.and_then(|u| u.memory_limit_gb),
        );
        let creating = stored.is_none();
        UserSettings {
            role_id,
            enabled: self.enabled_checked() || (creating && self.enabled_shown.is_none()),
            storage_limit_gb: storage,
            memory_limit_gb: memory,
        }
    }

    /// The create form as a new user and its password: every field error at once.
    fn to_new(&self, role_id: Option<i64>) -> Parsed<(NewUser, Password)> {
        let mut errors = FieldErrors::new();
        let password = Password::parse(&self.password, self.username())
            .map_err(|e| errors.insert("password", e))
            .ok();
        let identity = self.identity(false, &mut errors);
        let settings = self.settings(role_id, None, &mut errors);
        match (identity, password) {
            (Some(identity), Some(p)) if errors.is_empty() => {
                Ok((NewUser { identity, settings }, p))
            }
            _ => Err(errors),
        }
    }

    /// The edit form of `stored`. For a user of an identity source, a submitted
    /// name, username, email or password that differs from the stored one is
    /// refused; fields not sent stay as they are. Stand-ins (`services::draft`): the
    /// stored identity when one of its fields cannot be read, the stored limit for
    /// one that cannot be.
    fn to_change(&self, stored: &User, role_id: Option<i64>) -> Draft<UserChange> {
        let mut errors = FieldErrors::new();
        let identity = if stored.is_managed() {
            for (field, sent, current) in [
                ("username", &self.username, &stored.username),
                ("email", &self.email, &stored.email),
                ("first_name", &self.first_name, &stored.first_name),
                ("last_name", &self.last_name, &stored.last_name),
            ] {
                if sent.as_deref().is_some_and(|v| v.trim() != current.trim()) {
                    errors.insert(field, MANAGED.into());
                }
            }
            if !self.password.is_empty() {
                errors.insert("password", MANAGED.into());
            }
            Some(None)
        } else {
            // Users made before email was required keep their empty email until
            // someone enters one.
            self.identity(stored.email.is_empty(), &mut errors)
                .map(Some)
        };
        let settings = self.settings(role_id, Some(stored), &mut errors);
        let change = UserChange {
            identity: identity.flatten(),
            settings,
        };
        Draft::new(change, errors)
    }
}

/// After a change: `message` as a flash, and back to the user's page.
fn saved(
    req: &HttpRequest,
    user: &CurrentUser,
    tenant: &Tenant,
    target: &User,
    message: String,
) -> Result<HttpResponse, AppError> {
    let location = format!("/tenants/{}/users/{}", tenant.id, target.id);
    done(req, user, message, &location)
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
    search: SearchBox,
    can_create: bool,
    can_invite: bool,
}

impl IndexPage {
    fn page_href(&self, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("q", self.search.shown.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/tenants/{}/users?{query}", self.tenant.id)
    }
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Users, Level::Read).await?;
    let search = SearchBox::read(&params.q);
    let page_no = form::page_param(&params.page)?;
    let (rows, total) = match search.error {
        Some(_) => (Vec::new(), 0),
        None => {
            let q = Some(search.text.as_str());
            User::list_in_tenant(&mut conn, tenant.id, q, page_no, PER_PAGE).await?
        }
    };
    let status = search.status();
    let page = IndexPage {
        page: PageCtx::new(&user, &mut conn, "users").await?,
        can_create: authz::require(&user, &tenant, Feature::Users, Level::Full).is_ok(),
        can_invite: authz::can_invite(&user, &tenant),
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        tenant,
        rows,
        total,
        page_no,
        search,
    };
    render_status(&page, status)
}

// ---------------------------------------------------------------- create / edit

#[derive(Template)]
#[template(path = "users/form.html")]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    form: UserForm,
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
    /// Why the viewer, who may change the user, may not set their limits.
    limits_fixed: Option<String>,
}

impl FormPage {
    fn identity_disabled(&self) -> bool {
        self.read_only || self.managed
    }

    /// The login of a user of this tenant.
    fn login(&self, u: &User) -> String {
        crate::domain::login_name(&self.tenant.subdomain, &u.username)
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
    form: UserForm,
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
        limits_fixed: None,
    })
}

async fn new_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Users, Level::Full).await?;
    let mut form = UserForm::blank();
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
    form: web::Form<UserForm>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Users, Level::Read).await?;
    let role = RoleChoice::parse(&input.role_id);
    let mut fields = input.to_new(role.id());
    // A taken username is reported with the other field errors.
    let name = input.username().trim();
    if Username::parse(name).is_ok()
        && User::username_taken(&mut conn, tenant.id, name, None).await?
    {
        let mut errors = fields.err().unwrap_or_default();
        errors.insert("username", TAKEN.into());
        fields = Err(errors);
    }
    let input_of = UserInput {
        role,
        fields: fields.into(),
    };
    let result = service::create(
        &mut conn,
        &user,
        &actor(&user, &req),
        &state.hasher,
        &tenant,
        input_of,
    )
    .await;
    match field_errors(result)? {
        Ok(created) => saved(
            &req,
            &user,
            &tenant,
            &created,
            format!("Created {}.", created.username),
        ),
        Err(errors) => rerender(&form_page(&user, &mut conn, tenant, input, errors, None).await?),
    }
}

/// The edit page of `target`, read-only unless the user may change them.
async fn edit_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    target: User,
    form: UserForm,
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
    let limits_fixed = match full && refusal.is_none() {
        true => service::limits_fixed(conn, user, &target).await?,
        false => None,
    };
    let editing = Editing {
        user: target,
        read_only: !full || refusal.is_some(),
        note: refusal.map(|r| r.message()),
    };
    let mut page = form_page(user, conn, tenant, form, errors, Some(editing)).await?;
    page.api_tokens = api_tokens;
    page.limits_fixed = limits_fixed;
    Ok(page)
}

async fn edit_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, target) = target_of(&user, &mut conn, &path).await?;
    let form = UserForm::from_user(&target);
    let page = edit_page(
        &user,
        &mut conn,
        tenant,
        target,
        form,
        FieldErrors::new(),
        state.clock.now(),
    )
    .await?;
    render(&page)
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<UserForm>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, target) = target_of(&user, &mut conn, &path).await?;
    let role = RoleChoice::parse(&input.role_id);
    let change = UserInput {
        role,
        fields: input.to_change(&target, role.id()),
    };
    let actor = actor(&user, &req);
    let result = service::update(&mut conn, &user, &actor, &tenant, &target, change).await;
    match field_errors(result)? {
        Ok(Warned {
            value: done,
            warnings,
        }) => saved(
            &req,
            &user,
            &tenant,
            &done,
            noted(format!("Saved {}.", done.username), &warnings),
        ),
        Err(errors) => rerender(
            &edit_page(
                &user,
                &mut conn,
                tenant,
                target,
                input,
                errors,
                state.clock.now(),
            )
            .await?,
        ),
    }
}

// ---------------------------------------------------------------- actions

/// Enables (`ENABLED`) or disables the user of the path.
async fn set_enabled<const ENABLED: bool>(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, target) = target_of(&user, &mut conn, &path).await?;
    let actor = actor(&user, &req);
    let done = service::set_enabled(&mut conn, &user, &actor, &tenant, &target, ENABLED).await?;
    let message = if ENABLED {
        format!("{} is enabled.", done.username)
    } else {
        format!("{} is disabled; their sessions have ended.", done.username)
    };
    saved(&req, &user, &tenant, &done, message)
}

/// Deletes the user of the path once confirmed (`web::confirm`).
async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, target) = target_of(&user, &mut conn, &path).await?;
    if !confirm.confirmed {
        service::require_deletable(&mut conn, &user, &actor(&user, &req), &tenant, &target).await?;
        let email = if target.email.is_empty() {
            String::new()
        } else {
            format!(" ({})", target.email)
        };
        let page = format!("/tenants/{}/users/{}", tenant.id, target.id);
        let owned = service::owned_instances(&mut conn, &target).await?;
        let instances = match owned {
            0 => String::new(),
            1 => " They own 1 instance: it stays, without an owner.".to_string(),
            n => format!(" They own {n} instances: those stay, without an owner."),
        };
        let question = Question {
            title: format!("Delete user {}{email} of {}?", target.username, tenant.name),
            detail: format!(
                "Their grants and API tokens go too; this cannot be undone.{instances}"
            ),
            button: "Delete user".into(),
            action: format!("{page}/delete"),
            cancel: page,
            choices: vec![],
            hidden: vec![],
            error: None,
        };
        return ask(&req, &user, &mut conn, "users", question).await;
    }
    let deleted = service::delete(&mut conn, &user, &actor(&user, &req), &tenant, &target).await?;
    let message = format!("Deleted {}.", deleted.username);
    done(
        &req,
        &user,
        message,
        &format!("/tenants/{}/users", tenant.id),
    )
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
    let (tenant, target) = target_of(&user, &mut conn, &path).await?;
    let result = service::reset_password(
        &mut conn,
        &user,
        &actor(&user, &req),
        &state.hasher,
        &tenant,
        &target,
        &form.password,
    )
    .await;
    match field_errors(result)? {
        Ok(_) => saved(
            &req,
            &user,
            &tenant,
            &target,
            format!(
                "New password set for {}; their sessions have ended.",
                target.username
            ),
        ),
        Err(errors) => {
            let form = UserForm::from_user(&target);
            rerender(
                &edit_page(
                    &user,
                    &mut conn,
                    tenant,
                    target,
                    form,
                    errors,
                    state.clock.now(),
                )
                .await?,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserSource;
    use chrono::Utc;

    fn stored(source: UserSource) -> User {
        User {
            id: 7,
            tenant_id: 3,
            username: "alice".into(),
            email: "alice@example.com".into(),
            first_name: "Alice".into(),
            last_name: "Smith".into(),
            password_hash: "x".into(),
            enabled: true,
            source,
            session_epoch: 0,
            last_login_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            role_id: Some(1),
            storage_limit_gb: None,
            memory_limit_gb: Some(4),
        }
    }

    fn form() -> UserForm {
        UserForm {
            username: Some(" bob ".into()),
            email: Some("bob@example.com".into()),
            first_name: Some("Bob".into()),
            last_name: Some("".into()),
            password: "long enough password".into(),
            role_id: "5".into(),
            enabled: Some("true".into()),
            enabled_shown: Some("1".into()),
            storage_limit_gb: Some("10".into()),
            memory_limit_gb: Some("".into()),
        }
    }

    fn email(change: &UserChange) -> Option<&str> {
        let identity = change.identity.as_ref()?;
        Some(identity.email.as_ref().map_or("", Email::as_str))
    }

    #[test]
    fn create_converts_every_field() {
        let (new, p) = form().to_new(Some(5)).unwrap();
        assert_eq!(new.identity.username.as_str(), "bob");
        assert_eq!(
            new.identity.email.as_ref().map(Email::as_str),
            Some("bob@example.com")
        );
        assert_eq!(new.settings.role_id, Some(5));
        assert_eq!(new.settings.storage_limit_gb.get(), Some(10));
        assert_eq!(new.settings.memory_limit_gb.get(), None);
        assert!(new.settings.enabled);
        assert!(p.matches("long enough password"));
    }

    #[test]
    fn create_reports_every_error_at_once() {
        let bad = UserForm {
            username: Some("".into()),
            email: Some("nope".into()),
            first_name: Some("x".repeat(101)),
            password: "short".into(),
            storage_limit_gb: Some("-1".into()),
            memory_limit_gb: Some("lots".into()),
            ..form()
        };
        let errors = bad.to_new(None).unwrap_err();
        for field in [
            "username",
            "email",
            "first_name",
            "password",
            "storage_limit_gb",
            "memory_limit_gb",
        ] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
        assert!(!errors.contains_key("role_id"));
        let same = UserForm {
            password: "bob-the-user".into(),
            username: Some("bob-the-user".into()),
            ..form()
        };
        assert!(same.to_new(None).unwrap_err().contains_key("password"));
        // A create form always needs an email, even an empty one.
        let no_email = UserForm {
            email: None,
            ..form()
        };
        assert!(no_email.to_new(None).unwrap_err().contains_key("email"));
    }

    #[test]
    fn enabled_box() {
        let unchecked = UserForm {
            enabled: None,
            ..form()
        };
        assert!(!unchecked.to_new(None).unwrap().0.settings.enabled);
        let bare = UserForm {
            enabled: None,
            enabled_shown: None,
            ..form()
        };
        assert!(bare.to_new(None).unwrap().0.settings.enabled);
        let change = bare
            .to_change(&stored(UserSource::Local), None)
            .into_result()
            .unwrap();
        assert!(!change.settings.enabled);
    }

    #[test]
    fn edit_reports_field_errors() {
        let local = stored(UserSource::Local);
        let bad = UserForm {
            username: Some("no spaces".into()),
            storage_limit_gb: Some("1000000000001".into()),
            ..UserForm::from_user(&local)
        };
        let errors = bad.to_change(&local, None).into_result().unwrap_err();
        assert!(errors.contains_key("username"), "{errors:?}");
        assert!(errors.contains_key("storage_limit_gb"), "{errors:?}");
        // The password field is not read when a local user is edited.
        let with_password = UserForm {
            password: "x".into(),
            ..UserForm::from_user(&local)
        };
        assert!(with_password.to_change(&local, None).into_result().is_ok());
    }

    #[test]
    fn identity_source_fields_cannot_change() {
        let user = stored(UserSource::Scim);
        let changed = UserForm {
            email: Some("new@example.com".into()),
            ..UserForm::from_user(&user)
        };
        let errors = changed.to_change(&user, None).into_result().unwrap_err();
        assert_eq!(errors.get("email").map(String::as_str), Some(MANAGED));
        let with_password = UserForm {
            password: "a new password".into(),
            ..UserForm::from_user(&user)
        };
        assert!(with_password
            .to_change(&user, None)
            .into_result()
            .unwrap_err()
            .contains_key("password"));
        // Not sent (disabled inputs) or sent unchanged: kept; other fields change.
        let limits_only = UserForm {
            username: None,
            email: None,
            first_name: None,
            last_name: None,
            enabled: None,
            storage_limit_gb: Some("20".into()),
            ..UserForm::from_user(&user)
        };
        let change = limits_only.to_change(&user, Some(1)).into_result().unwrap();
        assert_eq!(change.identity, None);
        assert_eq!(change.settings.storage_limit_gb.get(), Some(20));
        assert_eq!(change.settings.role_id, Some(1));
        assert!(!change.settings.enabled);
        // An empty email stays empty only where it was empty already.
        let no_email = UserForm {
            email: Some(" ".into()),
            ..UserForm::from_user(&stored(UserSource::Local))
        };
        assert!(no_email
            .to_change(&stored(UserSource::Local), None)
            .into_result()
            .unwrap_err()
            .contains_key("email"));
        let legacy = User {
            email: String::new(),
            ..stored(UserSource::Local)
        };
        assert_eq!(
            email(&no_email.to_change(&legacy, None).into_result().unwrap()),
            Some("")
        );
        // A local user's fields are validated and may change.
        let local = stored(UserSource::Local);
        let change = changed.to_change(&local, None).into_result().unwrap();
        assert_eq!(email(&change), Some("new@example.com"));
    }

    #[test]
    fn rerender_shows_managed_identity_and_drops_the_password() {
        let user = stored(UserSource::Scim);
        let sent = UserForm {
            username: Some("mallory".into()),
            ..form()
        };
        let shown = sent.clone().for_rerender(Some(&user));
        assert_eq!(shown.username(), "alice");
        assert_eq!(shown.password, "");
        let local = sent.for_rerender(Some(&stored(UserSource::Local)));
        assert_eq!(local.username(), "mallory");
    }
}

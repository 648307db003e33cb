//! Invitations: a tenant's list (revoke, resend), the invite form, and the public
//! page behind an emailed link where the invitee creates an account or, already
//! having one, accepts a grant.

use crate::auth::tokens::InvitationToken;
use crate::auth::{authz, session_keys, CurrentUser};
use crate::db::models::invitation::Invitation;
use crate::db::models::outbox::{self, MailState, MailTransport, OutboxStatus, MAX_ATTEMPTS};
use crate::db::models::role::UserRole;
use crate::db::models::{Tenant, User};
use crate::domain::account::Password;
use crate::domain::email::{self, Email};
use crate::domain::invitation::{InvitationStatus, Offer};
use crate::domain::{Feature, GrantRole, Level, Scope, Username};
use crate::error::{AppError, FieldErrors};
use crate::services::invitations::{
    self as service, AcceptError, Closed, NewAccount, Preview, ALREADY_INVITED,
};
use crate::web::csrf;
use crate::web::page::{error_page, flash, render, render_status, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/invitations" => index),
        route!(POST "/tenants/{id}/invitations" => create),
        route!(GET "/tenants/{id}/invitations/new" => new_form),
        route!(POST "/tenants/{id}/invitations/new" => create),
        route!(POST "/tenants/{id}/invitations/{invitation_id}/revoke" => revoke),
        route!(POST "/tenants/{id}/invitations/{invitation_id}/resend" => resend),
        route!(GET "/invitations/{token}" => show),
        route!(POST "/invitations/{token}" => accept_new),
        route!(POST "/invitations/{token}/accept" => accept_existing),
    ]
}

/// Invitations listed per tenant (newest first).
const LIST_LIMIT: i64 = 500;

const RATE_LIMITED: &str =
    "You have sent as many invitations as allowed in one hour. Try again later.";

// ---------------------------------------------------------------- authorization helpers

/// The tenant of the path, if visible (else 404), with `level` on Invitations (else 403).
async fn tenant_for(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
    level: Level,
) -> Result<Tenant, AppError> {
    let tenant = authz::visible_tenant(user, parse_id(raw)?, conn).await?;
    authz::require(user, &tenant, Feature::Invitations, level)?;
    Ok(tenant)
}

/// The tenant where the user invites: visible (404), Invitations Full and the right
/// to give at least one grant there (403: Viewers and plain users invite nobody).
async fn inviting_tenant(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    let tenant = tenant_for(user, conn, raw, Level::Full).await?;
    if !authz::can_invite(user, &tenant) {
        return Err(AppError::Forbidden);
    }
    Ok(tenant)
}

/// May the user make (or revoke, or resend) an invitation with this offer?
fn may_offer(
    user: &CurrentUser,
    tenant: &Tenant,
    offer: Option<Offer>,
    roles: &[UserRole],
) -> bool {
    match offer {
        Some(Offer::Grant {
            role,
            scope,
            manage_subtenants,
        }) => authz::can_invite_grant(user, tenant, role, scope, manage_subtenants),
        Some(Offer::Role(id)) => roles
            .iter()
            .find(|r| r.id == id)
            .is_some_and(|r| authz::can_invite_with_role(user, tenant, &r.permissions)),
        // The role offered is gone: any inviter may still revoke it.
        None => authz::can_invite(user, tenant),
    }
}

// ---------------------------------------------------------------- the list

/// One row of the invitations list.
pub struct Row {
    pub invitation: Invitation,
    pub status: InvitationStatus,
    pub offered: String,
    /// `queued`, `sent`, `logged`, `retrying`, `failed`, `cancelled` or `none`.
    pub delivery: &'static str,
    pub delivery_detail: String,
    pub can_manage: bool,
}

fn delivery(mail: Option<&MailState>) -> (&'static str, String) {
    let Some(m) = mail else {
        return ("none", String::new());
    };
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let error = m.last_error.clone().unwrap_or_default();
    match m.status {
        OutboxStatus::Sent
            if matches!(m.sent_via, Some(MailTransport::File | MailTransport::Log)) =>
        {
            (
            "filed",
            "No mail server is configured: the mail, with its link, was written to the server's mail folder (TENANTRY_MAIL_DIR).".into(),
        )
        }
        OutboxStatus::Sent => ("sent", m.sent_at.map(at).unwrap_or_default()),
        OutboxStatus::Failed => (
            "failed",
            format!("Gave up after {} attempts: {error}", m.attempts),
        ),
        OutboxStatus::Cancelled => ("cancelled", error),
        _ if m.attempts == 0 => ("queued", "Waiting for the mail server.".into()),
        _ => (
            "retrying",
            format!(
                "Attempt {} of {MAX_ATTEMPTS} failed: {error}. Next try at {}.",
                m.attempts,
                at(m.next_attempt_at)
            ),
        ),
    }
}

#[derive(Template)]
#[template(path = "invitations/index.html")]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<Row>,
    can_invite: bool,
    limit: i64,
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = tenant_for(&user, &mut conn, &path, Level::Read).await?;
    let roles = UserRole::for_tenant(&mut conn, tenant.id).await?;
    let role_names: HashMap<i64, &str> = roles.iter().map(|r| (r.id, r.name.as_str())).collect();
    let list = Invitation::list_for_tenant(&mut conn, tenant.id, LIST_LIMIT).await?;
    let ids: Vec<i64> = list.iter().map(|(i, _)| i.id).collect();
    let mails: HashMap<i64, MailState> = outbox::latest_for_invitations(&mut conn, &ids)
        .await?
        .into_iter()
        .filter_map(|m| Some((m.invitation_id?, m)))
        .collect();
    let now = Utc::now();
    let rows = list
        .into_iter()
        .map(|(invitation, role_name)| {
            let offer = invitation.offer();
            let name = role_name.as_deref().or_else(|| match offer {
                Some(Offer::Role(id)) => role_names.get(&id).copied(),
                _ => None,
            });
            let offered = match offer {
                Some(o) => o.describe(&tenant.name, name),
                None => Offer::Role(0).describe(&tenant.name, None),
            };
            let (delivery, delivery_detail) = delivery(mails.get(&invitation.id));
            let status = invitation.status(now);
            Row {
                can_manage: status.is_open() && may_offer(&user, &tenant, offer, &roles),
                status,
                offered,
                delivery,
                delivery_detail,
                invitation,
            }
        })
        .collect();
    render(&IndexPage {
        page: PageCtx::new(&user, &mut conn, "invitations").await?,
        can_invite: authz::can_invite(&user, &tenant),
        tenant,
        rows,
        limit: LIST_LIMIT,
    })
}

// ---------------------------------------------------------------- the invite form

/// The invite form as sent. `kind` (`user` or `grant`) comes from the form's radio
/// buttons; a client that sends only `role_id` or only `role` means that one.
#[derive(serde::Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct InviteForm {
    pub email: String,
    pub kind: String,
    pub role_id: String,
    pub role: String,
    pub scope: String,
    pub manage_subtenants: Option<String>,
}

impl InviteForm {
    pub fn manage_checked(&self) -> bool {
        matches!(
            self.manage_subtenants.as_deref(),
            Some("true" | "on" | "1" | "yes")
        )
    }

    pub fn kind_is(&self, kind: &str) -> bool {
        self.effective_kind() == Some(kind)
    }

    pub fn role_selected(&self, id: &i64) -> bool {
        self.role_id.trim() == id.to_string()
    }

    fn effective_kind(&self) -> Option<&str> {
        match self.kind.trim() {
            "user" => Some("user"),
            "grant" => Some("grant"),
            _ if !self.role_id.trim().is_empty() && self.role.trim().is_empty() => Some("user"),
            _ if !self.role.trim().is_empty() && self.role_id.trim().is_empty() => Some("grant"),
            _ => None,
        }
    }

    /// The address and the offer, checked against what `user` may give: every field
    /// error at once.
    fn parse(
        &self,
        user: &CurrentUser,
        tenant: &Tenant,
        roles: &[UserRole],
    ) -> Result<(Email, Offer), FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = Email::parse(&self.email)
            .map_err(|e| errors.insert("email", e))
            .ok();
        let offer = match self.effective_kind() {
            Some("user") => match self
                .role_id
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|id| roles.iter().find(|r| r.id == id))
            {
                None => {
                    errors.insert("role_id", "Choose a role of this tenant.".into());
                    None
                }
                Some(role) if !authz::can_invite_with_role(user, tenant, &role.permissions) => {
                    errors.insert(
                        "role_id",
                        "You cannot offer a role with more rights than you hold here.".into(),
                    );
                    None
                }
                Some(role) => Some(Offer::Role(role.id)),
            },
            Some(_) => {
                let role = self
                    .role
                    .trim()
                    .parse::<GrantRole>()
                    .map_err(|_| {
                        errors.insert("role", "Choose Owner, Administrator or Viewer.".into())
                    })
                    .ok();
                let scope = match self.scope.trim() {
                    "" => Some(Scope::Tenant),
                    s => s
                        .parse::<Scope>()
                        .map_err(|_| {
                            errors.insert("scope", "Choose this tenant or all sub-tenants.".into())
                        })
                        .ok(),
                };
                let manage = self.manage_checked();
                match (role, scope) {
                    (Some(role), Some(scope)) => match Offer::grant(role, scope, manage) {
                        Err(e) => {
                            errors.insert("manage_subtenants", e);
                            None
                        }
                        Ok(_) if !authz::can_invite_grant(user, tenant, role, scope, manage) => {
                            errors.insert(
                                "role",
                                "You cannot offer a grant stronger than your own (role, scope or “may manage sub-tenants”).".into(),
                            );
                            None
                        }
                        Ok(offer) => Some(offer),
                    },
                    _ => None,
                }
            }
            None => {
                errors.insert(
                    "kind",
                    "Choose what to offer: a role of this tenant, or a grant.".into(),
                );
                None
            }
        };
        match (email, offer) {
            (Some(email), Some(offer)) if errors.is_empty() => Ok((email, offer)),
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "invitations/form.html")]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    form: InviteForm,
    errors: FieldErrors,
    /// User roles of the tenant the inviter may offer.
    roles: Vec<UserRole>,
    grant_roles: Vec<GrantRole>,
    may_subtree: bool,
    may_manage: bool,
    /// The pending invitation of the same address, offered for resending.
    existing: Option<i64>,
    notice: Option<&'static str>,
    ttl_hours: i64,
}

/// What the form says back after a failed submission.
#[derive(Default)]
struct Feedback {
    errors: FieldErrors,
    existing: Option<i64>,
    notice: Option<&'static str>,
}

async fn form_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    state: &AppState,
    tenant: Tenant,
    form: InviteForm,
    feedback: Feedback,
) -> Result<FormPage, AppError> {
    let roles = UserRole::for_tenant(conn, tenant.id)
        .await?
        .into_iter()
        .filter(|r| authz::can_invite_with_role(user, &tenant, &r.permissions))
        .collect();
    Ok(FormPage {
        page: PageCtx::new(user, conn, "invitations").await?,
        grant_roles: authz::grantable_roles(user, &tenant),
        may_subtree: authz::can_give_grant(user, &tenant, GrantRole::Viewer, Scope::Subtree, false),
        may_manage: authz::can_give_grant(user, &tenant, GrantRole::Viewer, Scope::Subtree, true),
        tenant,
        form,
        errors: feedback.errors,
        roles,
        existing: feedback.existing,
        notice: feedback.notice,
        ttl_hours: state.settings.invitation_ttl_hours,
    })
}

async fn new_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = inviting_tenant(&user, &mut conn, &path).await?;
    let form = InviteForm {
        kind: "grant".into(),
        role: "viewer".into(),
        scope: "tenant".into(),
        ..Default::default()
    };
    let page = form_page(&user, &mut conn, &state, tenant, form, Feedback::default()).await?;
    render(&page)
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let tenant = inviting_tenant(&user, &mut conn, &path).await?;
    let roles = UserRole::for_tenant(&mut conn, tenant.id).await?;
    let result = match form.parse(&user, &tenant, &roles) {
        Ok((email, offer)) => {
            service::create(
                &mut conn,
                &actor(&user, &req),
                &state.settings,
                &tenant,
                &email,
                offer,
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(invitation) => {
            state.outbox_wake.notify_one();
            flash(
                &user.session.0,
                format!("Invitation to {} queued for delivery.", invitation.email),
            );
            Ok(see_other(
                &req,
                &format!("/tenants/{}/invitations", tenant.id),
            ))
        }
        Err(AppError::Validation(errors)) => {
            let existing = if errors.get("email").map(String::as_str) == Some(ALREADY_INVITED) {
                match Email::parse(&form.email) {
                    Ok(email) => {
                        Invitation::pending_for_email(&mut conn, tenant.id, email.as_str())
                            .await?
                            .map(|i| i.id)
                    }
                    Err(_) => None,
                }
            } else {
                None
            };
            let feedback = Feedback {
                errors,
                existing,
                notice: None,
            };
            let page = form_page(&user, &mut conn, &state, tenant, form, feedback).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(AppError::TooManyRequests) => {
            let feedback = Feedback {
                notice: Some(RATE_LIMITED),
                ..Feedback::default()
            };
            let page = form_page(&user, &mut conn, &state, tenant, form, feedback).await?;
            render_status(&page, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- revoke and resend

/// The tenant and the invitation of a revoke/resend path, if the user may manage it.
async fn manageable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    path: &(String, String),
) -> Result<(Tenant, Invitation), AppError> {
    let tenant = inviting_tenant(user, conn, &path.0).await?;
    let invitation = Invitation::find_in_tenant(conn, tenant.id, parse_id(&path.1)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let roles = UserRole::for_tenant(conn, tenant.id).await?;
    if !may_offer(user, &tenant, invitation.offer(), &roles) {
        return Err(AppError::Forbidden);
    }
    Ok((tenant, invitation))
}

async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, invitation) = manageable(&user, &mut conn, &path).await?;
    let revoked = service::revoke(&mut conn, &actor(&user, &req), &tenant, invitation.id).await?;
    flash(
        &user.session.0,
        format!(
            "The invitation of {} was revoked; its link no longer works.",
            revoked.email
        ),
    );
    Ok(see_other(
        &req,
        &format!("/tenants/{}/invitations", tenant.id),
    ))
}

async fn resend(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, invitation) = manageable(&user, &mut conn, &path).await?;
    match service::resend(
        &mut conn,
        &actor(&user, &req),
        &state.settings,
        &tenant,
        invitation.id,
    )
    .await
    {
        Ok(sent) => {
            state.outbox_wake.notify_one();
            flash(
                &user.session.0,
                format!(
                    "A new invitation link was sent to {}; the old one no longer works.",
                    sent.email
                ),
            );
            Ok(see_other(
                &req,
                &format!("/tenants/{}/invitations", tenant.id),
            ))
        }
        Err(AppError::TooManyRequests) => Ok(error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many invitations",
            RATE_LIMITED,
        )),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- the invitee's side

#[derive(Template)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    token: String,
    inviter: String,
    /// The invited address, masked: whoever holds the link may not be its owner.
    email: String,
    /// The logged-in account's email is the invited address (it may accept a grant).
    address_matches: bool,
    tenant_name: String,
    subdomain: String,
    description: String,
    expires: String,
    is_grant: bool,
    logged_in_as: Option<String>,
    username: String,
    errors: FieldErrors,
    csrf: String,
}

fn accept_page(
    preview: &Preview,
    token: &InvitationToken,
    logged_in: Option<&CurrentUser>,
    username: String,
    errors: FieldErrors,
    csrf: String,
) -> AcceptPage {
    let invited = &preview.invitation.email;
    AcceptPage {
        token: token.as_str().to_string(),
        inviter: preview.invitation.inviter_login.clone(),
        email: email::mask(invited),
        address_matches: logged_in.is_some_and(|u| email::same_address(&u.user.email, invited)),
        tenant_name: preview.tenant.name.clone(),
        subdomain: preview.tenant.subdomain.clone(),
        description: preview.description.clone(),
        expires: preview
            .invitation
            .expires_at
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        is_grant: preview.invitation.is_grant(),
        logged_in_as: logged_in.map(|u| u.login()),
        username,
        errors,
        csrf,
    }
}

/// The page for a link that cannot be used. Says nothing about other invitations.
fn refusal(error: AcceptError) -> Result<HttpResponse, AppError> {
    match error {
        AcceptError::Unknown => Ok(error_page(
            StatusCode::NOT_FOUND,
            "Invitation not found",
            "This invitation link is not valid. Check that you opened the whole link from the mail; \
             if the invitation was sent again, only the newest link works.",
        )),
        AcceptError::Closed(Closed::Expired) => Ok(error_page(
            StatusCode::GONE,
            "Invitation expired",
            "This invitation has expired. Ask the person who invited you to send it again.",
        )),
        AcceptError::Closed(Closed::Revoked) => Ok(error_page(
            StatusCode::GONE,
            "Invitation withdrawn",
            "This invitation was withdrawn. Ask the person who invited you for a new one.",
        )),
        AcceptError::Closed(Closed::Used) => Ok(error_page(
            StatusCode::GONE,
            "Invitation already used",
            "This invitation has already been accepted; each link works once. Log in with your account instead.",
        )),
        AcceptError::Refused { message, .. } => Ok(error_page(
            StatusCode::CONFLICT,
            "Invitation cannot be accepted",
            &message,
        )),
        AcceptError::OtherAddress { masked, .. } => Ok(other_address(&masked, None)),
        AcceptError::Invalid(errors) => Err(AppError::Validation(errors)),
        AcceptError::Other(e) => Err(e),
    }
}

/// The refusal for an account whose email is not the invited address. The invitation
/// stays open for its addressee; the address is masked (the link may have leaked).
fn other_address(masked: &str, login: Option<&str>) -> HttpResponse {
    let account = login.map_or("the account you are logged in with".to_string(), |l| {
        format!("your account {l}")
    });
    error_page(
        StatusCode::FORBIDDEN,
        "Invitation sent to another address",
        &format!(
            "This invitation was sent to {masked}, which is not the email address of {account}. \
             Only the account with that address can accept it: log in with that account and \
             open the link again, or log out and open the link to create a new account with \
             that address. The invitation stays open."
        ),
    )
}

/// The token of the path; anything that cannot be one is answered like an unknown one.
fn token_of(raw: &str) -> Result<InvitationToken, AcceptError> {
    InvitationToken::parse(raw).ok_or(AcceptError::Unknown)
}

async fn show(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = match token_of(&path) {
        Ok(t) => t,
        Err(e) => return refusal(e),
    };
    let mut conn = state.pool.get().await?;
    let preview = match service::preview(&mut conn, &token).await {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    drop(conn);
    let current = CurrentUser::load(&state.pool, session.clone()).await?;
    render(&accept_page(
        &preview,
        &token,
        current.as_ref(),
        String::new(),
        FieldErrors::new(),
        // Anonymous visitors get a signed token, not a session row.
        csrf::form_token(&req, &session, &state.settings),
    ))
}

/// The new-account form of the accept page.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    username: String,
    password: String,
}

async fn accept_new(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let token = match token_of(&path) {
        Ok(t) => t,
        Err(e) => return refusal(e),
    };
    let mut conn = state.pool.get().await?;
    let addr = crate::web::client_addr(&req);
    // Dead links are answered before any password is hashed.
    let preview = match service::precheck(&mut conn, &token, None, addr.clone()).await {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let mut errors = FieldErrors::new();
    let username = Username::parse(&form.username)
        .map_err(|e| errors.insert("username", e))
        .ok();
    let password = Password::parse(&form.password, form.username.trim())
        .map_err(|e| errors.insert("password", e))
        .ok();
    let entered = form.username.trim().to_string();
    let (Some(username), Some(password)) = (username, password) else {
        return invalid(&req, &state, &session, &preview, &token, entered, errors).await;
    };
    if User::username_taken(&mut conn, preview.tenant.id, username.as_str(), None).await? {
        errors.insert(
            "username",
            "This username is already taken in this tenant; choose another.".into(),
        );
        return invalid(&req, &state, &session, &preview, &token, entered, errors).await;
    }
    let hash = state.hasher.hash(password.secret()).await?;
    let accepted = match service::accept_new(
        &mut conn,
        &token,
        NewAccount {
            username: &username,
            password_hash: &hash,
            client_addr: addr,
        },
    )
    .await
    {
        Ok(a) => a,
        Err(AcceptError::Invalid(errors)) => {
            return invalid(&req, &state, &session, &preview, &token, entered, errors).await
        }
        Err(e) => return refusal(e),
    };
    User::record_login(&mut conn, accepted.user.id).await?;
    session_keys::log_in(
        &session,
        accepted.user.id,
        accepted.user.session_epoch,
        accepted.tenant.id,
    )
    .map_err(|e| AppError::Unexpected(anyhow::anyhow!("session: {e}")))?;
    flash(
        &session,
        format!(
            "Welcome! Your account {}\\{} was created: you are {}.",
            accepted.tenant.subdomain, accepted.user.username, accepted.description
        ),
    );
    Ok(see_other(&req, "/dashboard"))
}

/// The accept page again, 422, with the new-account form's errors.
async fn invalid(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    preview: &Preview,
    token: &InvitationToken,
    username: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let logged_in = CurrentUser::load(&state.pool, session.clone()).await?;
    let csrf = csrf::form_token(req, session, &state.settings);
    let page = accept_page(preview, token, logged_in.as_ref(), username, errors, csrf);
    render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

async fn accept_existing(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = match token_of(&path) {
        Ok(t) => t,
        Err(e) => return refusal(e),
    };
    let addr = crate::web::client_addr(&req);
    let user = CurrentUser::load(&state.pool, session.clone()).await?;
    let mut conn = state.pool.get().await?;
    // A dead link is answered as such, logged in or not.
    if let Err(e) = service::precheck(
        &mut conn,
        &token,
        user.as_ref().map(|u| &u.principal),
        addr.clone(),
    )
    .await
    {
        return refusal(e);
    }
    let user = user.ok_or(AppError::LoginRequired)?;
    let accepted = match service::accept_existing(&mut conn, &token, &user, addr).await {
        Ok(a) => a,
        Err(AcceptError::OtherAddress { masked, .. }) => {
            return Ok(other_address(&masked, Some(&user.login())))
        }
        Err(e) => return refusal(e),
    };
    // Act in the tenant the invitation was for: the new grant makes it visible.
    let _ = session.insert(session_keys::ACTING_TENANT, accepted.tenant.id);
    flash(
        &session,
        if accepted.changed {
            format!("Invitation accepted: you are now {}.", accepted.description)
        } else {
            format!(
                "Invitation accepted: you already held these rights in {}.",
                accepted.tenant.name
            )
        },
    );
    Ok(see_other(&req, "/dashboard"))
}

//! The inviter's pages of a tenant: the invitations list, the invite form, revoke
//! and resend.

use crate::auth::{authz, CurrentUser};
use crate::db::models::invitation::Invitation;
use crate::db::models::outbox::{self, MailState, MailTransport, OutboxStatus, MAX_ATTEMPTS};
use crate::db::models::role::UserRole;
use crate::db::models::Tenant;
use crate::domain::email::Email;
use crate::domain::invitation::{InvitationStatus, Offer};
use crate::domain::{Feature, GrantRole, Level, Scope};
use crate::error::{AppError, FieldErrors};
use crate::services::invitations::{
    self as service, InvitationInput, Parsed, ALREADY_INVITED, NO_SUCH_ROLE,
};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::{path_tenant, Query};
use crate::web::page::{done, error_page, render, render_status, rerender, PageCtx};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

/// Invitations listed per tenant (newest first).
const LIST_LIMIT: i64 = 500;

const RATE_LIMITED: &str =
    "You have sent as many invitations as allowed in one hour. Try again later.";

// ---------------------------------------------------------------- authorization helpers

/// The tenant where the user invites: visible (404), Invitations Full and the right
/// to give at least one grant there (403: Viewers and plain users invite nobody).
async fn inviting_tenant(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    let tenant = path_tenant(user, conn, raw, Feature::Invitations, Level::Full).await?;
    if !authz::can_invite(user, &tenant) {
        return Err(AppError::Forbidden);
    }
    Ok(tenant)
}

/// May the user revoke or resend an invitation with this offer? `roles` are the
/// tenant's user roles, where an offered role is looked up.
fn may_manage(
    user: &CurrentUser,
    tenant: &Tenant,
    offer: Option<Offer>,
    roles: &[UserRole],
) -> bool {
    let role = match offer {
        Some(Offer::Role(id)) => roles.iter().find(|r| r.id == id).map(|r| &r.permissions),
        _ => None,
    };
    authz::can_manage_invitation(user, tenant, offer, role)
}

/// After a change: `message` as a flash, and back to the tenant's invitations.
fn to_list(
    req: &HttpRequest,
    user: &CurrentUser,
    tenant: &Tenant,
    message: String,
) -> Result<HttpResponse, AppError> {
    done(
        req,
        user,
        message,
        &format!("/tenants/{}/invitations", tenant.id),
    )
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

pub(super) async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Invitations, Level::Read).await?;
    let roles = UserRole::for_tenant(&mut conn, tenant.id).await?;
    let role_names: HashMap<i64, &str> = roles.iter().map(|r| (r.id, r.name.as_str())).collect();
    let list = Invitation::list_for_tenant(&mut conn, tenant.id, LIST_LIMIT).await?;
    let ids: Vec<i64> = list.iter().map(|(i, _)| i.id).collect();
    let mails: HashMap<i64, MailState> = outbox::latest_for_invitations(&mut conn, &ids)
        .await?
        .into_iter()
        .filter_map(|m| Some((m.invitation_id?, m)))
        .collect();
    let now = state.clock.now();
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
                can_manage: status.is_open() && may_manage(&user, &tenant, offer, &roles),
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
        crate::web::form::checked(&self.manage_subtenants)
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
            // Only a form without the radio (an old page, a script) has it guessed.
            "" if !self.role_id.trim().is_empty() && self.role.trim().is_empty() => Some("user"),
            "" if !self.role.trim().is_empty() && self.role_id.trim().is_empty() => Some("grant"),
            _ => None,
        }
    }

    /// The address and the offer as typed values, or their field errors. Whether
    /// the user may give the offer is `services::invitations::create`'s to decide.
    fn to_input(&self) -> InvitationInput {
        InvitationInput {
            email: Email::parse(&self.email).map_err(|e| FieldErrors::from([("email", e)])),
            offer: self.offer(),
        }
    }

    fn offer(&self) -> Parsed<Offer> {
        let mut errors = FieldErrors::new();
        match self.effective_kind() {
            Some("user") => match self.role_id.trim().parse::<i64>() {
                Ok(id) => return Ok(Offer::Role(id)),
                Err(_) => errors.insert("role_id", NO_SUCH_ROLE.into()),
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
                if let (Some(role), Some(scope)) = (role, scope) {
                    match Offer::grant(role, scope, self.manage_checked()) {
                        Ok(offer) => return Ok(offer),
                        Err(e) => errors.insert("manage_subtenants", e),
                    };
                }
                None
            }
            None => errors.insert(
                "kind",
                "Choose what to offer: a role of this tenant, or a grant.".into(),
            ),
        };
        Err(errors)
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

/// What the invite form starts with: `?kind=user` (the Users page's "Invite…")
/// preselects a user invitation, anything else a grant.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct NewInviteQuery {
    kind: String,
}

pub(super) async fn new_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query<NewInviteQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = inviting_tenant(&user, &mut conn, &path).await?;
    let kind = if query.kind == "user" {
        "user"
    } else {
        "grant"
    };
    let form = InviteForm {
        kind: kind.into(),
        role: "viewer".into(),
        scope: "tenant".into(),
        ..Default::default()
    };
    let page = form_page(&user, &mut conn, &state, tenant, form, Feedback::default()).await?;
    render(&page)
}

pub(super) async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let tenant = inviting_tenant(&user, &mut conn, &path).await?;
    let result = service::create(
        &mut conn,
        &user,
        &actor(&user, &req),
        &state.settings,
        &tenant,
        form.to_input(),
        state.clock.now(),
    )
    .await;
    match result {
        Ok(invitation) => {
            state.outbox_wake.notify_one();
            let mut message = format!("Invitation to {} queued for delivery.", invitation.email);
            if let Some(full) = service::full_warning(&mut conn, &user, &tenant).await? {
                message = format!("{message} {full}");
            }
            to_list(&req, &user, &tenant, message)
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
            rerender(&page)
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

/// Revokes the invitation of the path once confirmed (`web::confirm`).
pub(super) async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    if !confirm.confirmed {
        let mut conn = state.pool.get().await?;
        let tenant = inviting_tenant(&user, &mut conn, &path.0).await?;
        let id = parse_id(&path.1)?;
        let inv =
            service::require_revocable(&mut conn, &user, &tenant, id, state.clock.now()).await?;
        let list = format!("/tenants/{}/invitations", tenant.id);
        let question = Question {
            title: format!("Revoke the invitation of {} to {}?", inv.email, tenant.name),
            detail: format!(
                "Its link stops working at once and mail not yet sent is cancelled; {} can be invited again later.",
                inv.email
            ),
            button: "Revoke invitation".into(),
            action: format!("{list}/{id}/revoke"),
            cancel: list,
            choices: vec![],
            hidden: vec![],
            error: None,
        };
        return ask(&req, &user, &mut conn, "invitations", question).await;
    }
    manage(req, user, state, &path, Change::Revoke).await
}

pub(super) async fn resend(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    manage(req, user, state, &path, Change::Resend).await
}

/// What the inviter does to an invitation of the list.
enum Change {
    Revoke,
    Resend,
}

/// Revokes or resends the invitation of the path, then back to the list with what
/// was done; 429 (a page) past the hourly limit of mails.
async fn manage(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: &(String, String),
    change: Change,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    // The service decides whether the user may manage this invitation.
    let tenant = inviting_tenant(&user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    let actor = actor(&user, &req);
    let now = state.clock.now();
    let message = match change {
        Change::Revoke => {
            let revoked = service::revoke(&mut conn, &user, &actor, &tenant, id, now).await?;
            format!(
                "The invitation of {} was revoked; its link no longer works.",
                revoked.email
            )
        }
        Change::Resend => {
            match service::resend(&mut conn, &user, &actor, &state.settings, &tenant, id, now).await
            {
                Ok(sent) => {
                    state.outbox_wake.notify_one();
                    format!(
                        "A new invitation link was sent to {}; the old one no longer works.",
                        sent.email
                    )
                }
                Err(AppError::TooManyRequests) => {
                    return Ok(error_page(
                        StatusCode::TOO_MANY_REQUESTS,
                        "Too many invitations",
                        RATE_LIMITED,
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    };
    to_list(&req, &user, &tenant, message)
}

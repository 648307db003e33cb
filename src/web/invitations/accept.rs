//! The invitee's pages behind an emailed link: create an account in the tenant or,
//! already having one, accept the offered grant.

use crate::auth::tokens::InvitationToken;
use crate::auth::{session_keys, CurrentUser, Principal};
use crate::db::models::branding::Brand;
use crate::db::models::User;
use crate::domain::account::Password;
use crate::domain::email;
use crate::domain::{login_name, Username};
use crate::error::{AppError, FieldErrors};
use crate::services::invitations::{self as service, AcceptError, Closed, NewAccount, Preview};
use crate::web::csrf;
use crate::web::page::{error_page, flash, render, render_status, see_other};
use crate::web::AppState;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

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
    /// The branding of the invitation's tenant, as its mail shows it.
    brand: Brand,
}

fn accept_page(
    preview: &Preview,
    token: &InvitationToken,
    logged_in: Option<&CurrentUser>,
    username: String,
    errors: FieldErrors,
    csrf: String,
    brand: Brand,
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
        brand,
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

/// The link's token and its invitation, checked before an attempt to accept
/// (`service::precheck` records a refusal); a dead link's error otherwise.
async fn open_link(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    raw: &str,
    who: Option<&Principal>,
    addr: Option<String>,
) -> Result<(InvitationToken, Preview), AcceptError> {
    let token = token_of(raw)?;
    let preview = service::precheck(conn, &token, who, addr, state.clock.now()).await?;
    Ok((token, preview))
}

pub(super) async fn show(
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
    let preview = match service::preview(&mut conn, &token, state.clock.now()).await {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let brand = Brand::of(&mut conn, preview.tenant.id).await?;
    drop(conn);
    let current = CurrentUser::load(&state.pool, session.clone()).await?;
    render(&accept_page(
        &preview,
        &token,
        current.as_ref(),
        String::new(),
        FieldErrors::new(),
        // Anonymous visitors get a signed token, not a session row.
        csrf::form_token(&req, &session, &state),
        brand,
    ))
}

/// The new-account form of the accept page.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    username: String,
    password: String,
}

pub(super) async fn accept_new(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let addr = crate::web::client_addr(&req);
    // Dead links are answered before any password is hashed.
    let (token, preview) = match open_link(&mut conn, &state, &path, None, addr.clone()).await {
        Ok(opened) => opened,
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
        return invalid(
            &mut conn, &req, &state, &session, &preview, &token, entered, errors,
        )
        .await;
    };
    if User::username_taken(&mut conn, preview.tenant.id, username.as_str(), None).await? {
        errors.insert(
            "username",
            "This username is already taken in this tenant; choose another.".into(),
        );
        return invalid(
            &mut conn, &req, &state, &session, &preview, &token, entered, errors,
        )
        .await;
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
        state.clock.now(),
    )
    .await
    {
        Ok(a) => a,
        Err(AcceptError::Invalid(errors)) => {
            return invalid(
                &mut conn, &req, &state, &session, &preview, &token, entered, errors,
            )
            .await
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
            "Welcome! Your account {} was created: you are {}.",
            login_name(&accepted.tenant.subdomain, &accepted.user.username),
            accepted.description
        ),
    );
    Ok(see_other(&req, "/dashboard"))
}

/// The accept page again, 422, with the new-account form's errors.
#[expect(clippy::too_many_arguments, reason = "each is one part of the page")]
async fn invalid(
    conn: &mut AsyncPgConnection,
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    preview: &Preview,
    token: &InvitationToken,
    username: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let brand = Brand::of(conn, preview.tenant.id).await?;
    let logged_in = CurrentUser::load(&state.pool, session.clone()).await?;
    let csrf = csrf::form_token(req, session, state);
    let page = accept_page(
        preview,
        token,
        logged_in.as_ref(),
        username,
        errors,
        csrf,
        brand,
    );
    render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

pub(super) async fn accept_existing(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let addr = crate::web::client_addr(&req);
    let user = CurrentUser::load(&state.pool, session.clone()).await?;
    let mut conn = state.pool.get().await?;
    // A dead link is answered as such, logged in or not.
    let who = user.as_ref().map(|u| &u.principal);
    let token = match open_link(&mut conn, &state, &path, who, addr.clone()).await {
        Ok((token, _)) => token,
        Err(e) => return refusal(e),
    };
    let user = user.ok_or(AppError::LoginRequired { next: None })?;
    let accepted =
        match service::accept_existing(&mut conn, &token, &user, addr, state.clock.now()).await {
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

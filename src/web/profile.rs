//! Self service: the logged-in user's own details and grants, their password, and
//! "log out everywhere" (every session ends and every API token is revoked).

use crate::auth::{authz, session_keys, CurrentUser};
use crate::db::models::api_token::ApiToken;
use crate::db::models::Tenant;
use crate::domain::account::Password;
use crate::domain::{GrantRole, Scope};
use crate::error::{AppError, FieldErrors};
use crate::services::users as service;
use crate::web::actor;
use crate::web::page::{flash, render, render_status, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use secrecy::SecretString;
use std::collections::HashMap;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/profile" => show),
        route!(POST "/profile/password" => change_password),
        route!(POST "/profile/logout-everywhere" => logout_everywhere),
        route!(POST "/profile/quota-alerts" => quota_alerts),
    ]
}

/// One grant of the user, as the profile lists it.
pub struct GrantView {
    pub tenant_id: i64,
    pub tenant_name: String,
    /// The tenant's path from the highest tenant the user may see.
    pub path: String,
    pub role: &'static str,
    pub scope: &'static str,
    pub manage_subtenants: bool,
}

#[derive(Template)]
#[template(path = "profile/show.html")]
struct ProfilePage {
    page: PageCtx,
    login: String,
    name: String,
    email: String,
    /// Where the user changes their own email address, if they may themselves (the
    /// page says who may otherwise).
    email_edit: Option<String>,
    role_name: Option<String>,
    home: Tenant,
    grants: Vec<GrantView>,
    managed: bool,
    /// API tokens that work now (what "log out everywhere" would revoke).
    active_tokens: usize,
    /// Holds an Owner grant with sub-tenant scope: the quota alerts of the tenants
    /// below may be asked for.
    owns_subtrees: bool,
    alerts_from_below: bool,
    /// The user's monthly report subscriptions (any tenant, any role now).
    reports: Vec<super::reports::OwnReport>,
    errors: FieldErrors,
}

async fn grant_views(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
) -> Result<Vec<GrantView>, AppError> {
    let ids: Vec<i64> = user.grants.iter().map(|g| g.tenant_id).collect();
    let mut found: HashMap<i64, Tenant> = Tenant::find_many(conn, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    // A tenant deleted since the request began is missing: its grant went with it.
    let tenants: Vec<_> = user
        .grants
        .iter()
        .filter_map(|g| Some((g, found.remove(&g.tenant_id)?)))
        .collect();
    let paths = super::switch::visible_paths(user, conn, tenants.iter().map(|(_, t)| t)).await?;
    let mut views: Vec<GrantView> = tenants
        .into_iter()
        .zip(paths)
        .map(|((g, t), path)| GrantView {
            tenant_id: t.id,
            tenant_name: t.name,
            path,
            role: g.role.label(),
            scope: match g.scope {
                Scope::Tenant => "this tenant",
                Scope::Subtree => "this tenant and all sub-tenants",
            },
            manage_subtenants: g.manage_subtenants,
        })
        .collect();
    views.sort_by_key(|a| a.path.to_lowercase());
    Ok(views)
}

async fn profile_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    errors: FieldErrors,
    now: DateTime<Utc>,
) -> Result<ProfilePage, AppError> {
    Ok(ProfilePage {
        page: PageCtx::new(user, conn, "profile").await?,
        login: user.login(),
        name: user.user.display_name(),
        email: user.user.email.clone(),
        email_edit: authz::can_edit_own_identity(user)
            .then(|| format!("/tenants/{}/users/{}", user.home.id, user.user.id)),
        role_name: user.role.as_ref().map(|r| r.name.clone()),
        home: user.home.clone(),
        grants: grant_views(user, conn).await?,
        managed: user.user.is_managed(),
        active_tokens: active_tokens(conn, user.user.id, now).await?,
        owns_subtrees: user
            .grants
            .iter()
            .any(|g| g.role == GrantRole::Owner && g.scope == Scope::Subtree),
        alerts_from_below: crate::services::quota_alerts::opted_in(conn, user).await?,
        reports: super::reports::own_reports(user, conn).await?,
        errors,
    })
}

async fn active_tokens(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    Ok(ApiToken::for_user(conn, user_id)
        .await?
        .iter()
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now))
        .count())
}

async fn show(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    render(&profile_page(&user, &mut conn, FieldErrors::new(), state.clock.now()).await?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<PasswordChange>,
) -> Result<HttpResponse, AppError> {
    // An identity source owns this password.
    if user.user.is_managed() {
        return Err(AppError::Forbidden);
    }
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    // Guessing the current password from a stolen session is throttled like logins.
    let throttle_key = format!("pwchange:{}", user.user.id);
    let mut conn = state.pool.get().await?;
    let attempts =
        crate::db::models::throttle::count_attempt(&mut conn, &throttle_key, state.clock.now())
            .await?;
    if attempts > state.settings.login_max_failures {
        errors.insert(
            "current_password",
            "Too many wrong attempts. Wait 15 minutes and try again.".into(),
        );
        let page = profile_page(&user, &mut conn, errors, state.clock.now()).await?;
        return render_status(&page, StatusCode::TOO_MANY_REQUESTS);
    }
    let current = SecretString::from(form.current_password);
    let verified = state
        .hasher
        .verify(&current, Some(&user.user.password_hash))
        .await?;
    if verified {
        crate::db::models::throttle::clear(&mut conn, &throttle_key).await?;
    } else {
        errors.insert(
            "current_password",
            "This is not your current password.".into(),
        );
    }
    let new = match Password::parse(&form.new_password, &user.user.username) {
        Ok(p) if p.matches(&form.confirm_password) => Some(p),
        Ok(_) => {
            errors.insert(
                "confirm_password",
                "The confirmation differs from the new password.".into(),
            );
            None
        }
        Err(e) => {
            errors.insert("new_password", e);
            None
        }
    };
    let new = match new {
        Some(p) if errors.is_empty() => p,
        _ => {
            let page = profile_page(&user, &mut conn, errors, state.clock.now()).await?;
            return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let hash = state.hasher.hash(new.secret()).await?;
    let epoch =
        service::change_own_password(&mut conn, &actor(&user, &req), user.user.id, &hash).await?;
    // The new epoch ends every other session of this user; this one moves along.
    user.session
        .0
        .insert(session_keys::EPOCH, epoch)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("session: {e}")))?;
    flash(
        &user.session.0,
        "Your password has been changed. Your other sessions have ended.",
    );
    Ok(see_other(&req, "/profile"))
}

/// Shown when "log out everywhere" is sent without its confirmation box.
pub const CONFIRM_LOGOUT: &str =
    "Tick the box to confirm that every session should end and every API token be revoked.";

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LogoutEverywhere {
    confirm: Option<String>,
}

/// Ends every session of the user, this one included, and revokes their API tokens:
/// for a lost device or a leaked token. A box must be ticked (422 otherwise), since
/// automation using the tokens stops.
async fn logout_everywhere(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<LogoutEverywhere>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if !crate::web::form::checked(&form.confirm) {
        let errors = crate::web::form::field_error("confirm", CONFIRM_LOGOUT);
        let page = profile_page(&user, &mut conn, errors, state.clock.now()).await?;
        return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let revoked = service::log_out_everywhere(&mut conn, &actor(&user, &req), user.user.id).await?;
    // A fresh anonymous session (the old one is deleted) that carries only the message.
    let session = &user.session.0;
    session.clear();
    session.renew();
    flash(
        session,
        match revoked {
            0 => "You have been logged out everywhere: every session has ended.".to_string(),
            1 => "You have been logged out everywhere: every session has ended and your API token was revoked.".to_string(),
            n => format!("You have been logged out everywhere: every session has ended and your {n} API tokens were revoked."),
        },
    );
    Ok(see_other(&req, "/login"))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct QuotaAlerts {
    alerts_from_below: Option<String>,
}

/// Saves whether the user wants the quota alerts of the tenants below those they own.
async fn quota_alerts(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<QuotaAlerts>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    // A checkbox sends its value or nothing; anything else is no answer to read as "off".
    let answer = form
        .alerts_from_below
        .as_deref()
        .map(|v| v.trim().to_ascii_lowercase());
    let on = match answer.as_deref() {
        None | Some("" | "false" | "off" | "0" | "no") => false,
        Some(_) if crate::web::form::checked(&form.alerts_from_below) => true,
        Some(_) => {
            let mut errors = FieldErrors::new();
            errors.insert(
                "alerts_from_below",
                "Tick the box to get these alerts, or leave it empty not to.".into(),
            );
            let page = profile_page(&user, &mut conn, errors, state.clock.now()).await?;
            return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let saved = crate::services::quota_alerts::set_opt_in(
        &mut conn,
        &user,
        &actor(&user, &req),
        on,
        state.clock.now(),
    )
    .await;
    if let Err(AppError::Validation(errors)) = saved {
        let mut page = profile_page(&user, &mut conn, errors, state.clock.now()).await?;
        // The box as the user left it, not as saved: they see what was refused.
        page.alerts_from_below = on;
        return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    saved?;
    flash(
        &user.session.0,
        if on {
            "You will get the quota alerts of the tenants below those you own."
        } else {
            "You will get the quota alerts of the tenants you own only."
        },
    );
    Ok(see_other(&req, "/profile#quota-alerts"))
}

//! Personal API tokens at `/profile/tokens`: the logged-in user lists, creates and
//! revokes their own tokens. A new token's secret is shown once, in the answer to
//! the create form, and never stored (only its hash).

use crate::auth::CurrentUser;
use crate::db::models::api_token::{ApiToken, Revocation};
use crate::error::{AppError, FieldErrors};
use crate::services::api_tokens::{self as service, TokenFields};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::form::checked;
use crate::web::page::{flash, render, render_created, see_other, timestamp, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;

/// The new-token form as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TokenInput {
    pub name: String,
    pub read_only: Option<String>,
    /// `YYYY-MM-DD`, optional: the token works through that day (UTC).
    pub expires_at: String,
}

impl TokenInput {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<TokenFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = crate::domain::TenantName::parse(&self.name)
            .map_err(|e| errors.insert("name", e))
            .ok();
        let expires_at = match self.expires_at.trim() {
            "" => None,
            raw => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(date) => {
                    // Valid through the whole day: it ends at the next midnight UTC.
                    let end = date
                        .succ_opt()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc());
                    match end {
                        Some(end) if end <= now => {
                            errors.insert("expires_at", "Choose a date from today on.".into());
                            None
                        }
                        Some(end) if end > now + chrono::Duration::days(service::MAX_DAYS) => {
                            errors.insert(
                                "expires_at",
                                "Choose a date at most five years ahead, or none.".into(),
                            );
                            None
                        }
                        Some(end) => Some(end),
                        None => {
                            errors.insert("expires_at", "Enter a date as YYYY-MM-DD.".into());
                            None
                        }
                    }
                }
                Err(_) => {
                    errors.insert("expires_at", "Enter a date as YYYY-MM-DD.".into());
                    None
                }
            },
        };
        match name {
            Some(name) if errors.is_empty() => Ok(TokenFields {
                name: name.into_inner(),
                read_only: checked(&self.read_only),
                expires_at,
            }),
            _ => Err(errors),
        }
    }
}

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/profile/tokens" => index),
        route!(POST "/profile/tokens" => create),
        route!(POST "/profile/tokens/{token_id}/revoke" => revoke),
    ]
}

/// One token as the list shows it.
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub read_only: bool,
    pub expires: String,
    pub created: String,
    pub last_used: String,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
    /// Why it was revoked, in words (empty unless revoked).
    pub revoked_reason: &'static str,
}

fn day(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map_or(none.to_string(), timestamp)
}

impl TokenRow {
    pub(crate) fn new(t: ApiToken, now: DateTime<Utc>) -> Self {
        let state = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        };
        TokenRow {
            id: t.id,
            prefix: t.prefix,
            read_only: t.read_only,
            // Stored as the end of the chosen day: show that day.
            expires: t.expires_at.map_or("never".into(), |e| {
                (e - chrono::Duration::seconds(1))
                    .format("%Y-%m-%d")
                    .to_string()
            }),
            created: day(Some(t.created_at), ""),
            last_used: day(t.last_used_at, "never"),
            revoked_reason: t
                .revoked_reason
                .as_deref()
                .and_then(|code| code.parse().ok())
                .map_or("", Revocation::label),
            name: t.name,
            state,
        }
    }
}

#[derive(Template)]
#[template(path = "profile/tokens.html")]
struct TokensPage {
    page: PageCtx,
    tokens: Vec<TokenRow>,
    form: TokenInput,
    errors: FieldErrors,
    /// The secret of the token just created: shown this once.
    created: Option<(String, String)>,
    today: String,
    /// Why no token is to be had: the plan governing the user's home tenant lacks API
    /// access ("API access: Not in plan Basic."); the form shows disabled with it.
    plan_refusal: Option<String>,
}

impl TokensPage {
    fn read_only_checked(&self) -> bool {
        crate::web::form::checked(&self.form.read_only)
    }
}

async fn page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    form: TokenInput,
    errors: FieldErrors,
    created: Option<(String, String)>,
    now: DateTime<Utc>,
) -> Result<TokensPage, AppError> {
    Ok(TokensPage {
        page: PageCtx::new(user, conn, "profile").await?,
        tokens: ApiToken::for_user(conn, user.user.id)
            .await?
            .into_iter()
            .map(|t| TokenRow::new(t, now))
            .collect(),
        form,
        errors,
        created,
        today: now.format("%Y-%m-%d").to_string(),
        plan_refusal: crate::auth::authz::plan_refusal(
            crate::services::plans::plan_of(conn, &user.home)
                .await?
                .as_ref(),
            crate::domain::plan::PlanOption::ApiAccess,
        )
        .map(|reason| format!("API access: {reason} Your tenant's plan does not include it.")),
    })
}

async fn index(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    render(
        &page(
            &user,
            &mut conn,
            TokenInput::default(),
            FieldErrors::new(),
            None,
            state.clock.now(),
        )
        .await?,
    )
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<TokenInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let (input, errors, created) = match input.validate(now) {
        // A refusal of the service (the plan lacks API access) is the form's error.
        Ok(fields) => match crate::web::form::field_errors(
            service::create_in_session(
                &mut conn,
                &actor(&user, &req),
                user.user.id,
                user.user.session_epoch,
                &fields,
            )
            .await,
        )? {
            Ok((token, secret)) => (
                TokenInput::default(),
                FieldErrors::new(),
                Some((token.name, secret)),
            ),
            Err(errors) => (input, errors, None),
        },
        Err(errors) => (input, errors, None),
    };
    let shown = created.is_some();
    render_created(
        &page(&user, &mut conn, input, errors, created, now).await?,
        shown,
    )
}

/// The confirmation of revoking `token` (of `owner`, when it is not the user's own):
/// its form posts to `{base}/{id}/revoke`, Cancel leads to `cancel`.
pub(crate) fn revoke_question(
    token: &ApiToken,
    owner: Option<&str>,
    base: &str,
    cancel: &str,
) -> Question {
    let of = owner.map(|o| format!(" of {o}")).unwrap_or_default();
    Question {
        title: format!("Revoke the API token {}{of}?", token.name),
        detail: "Every program that uses it is refused from now on; this cannot be undone (a new token can be created)."
            .into(),
        button: "Revoke token".into(),
        action: format!("{base}/{}/revoke", token.id),
        cancel: cancel.into(),
        choices: vec![],
        hidden: vec![],
        error: None,
    }
}

async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    if !confirm.confirmed {
        let token = ApiToken::find_own(&mut conn, user.user.id, id).await?;
        let question = revoke_question(&token, None, "/profile/tokens", "/profile/tokens");
        return ask(&req, &user, &mut conn, "profile", question).await;
    }
    let token = service::revoke(&mut conn, &actor(&user, &req), user.user.id, id).await?;
    flash(
        &user.session.0,
        format!("Revoked the token {}. It no longer works.", token.name),
    );
    Ok(see_other(&req, "/profile/tokens"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, expires: &str) -> TokenInput {
        TokenInput {
            name: name.into(),
            read_only: Some("on".into()),
            expires_at: expires.into(),
        }
    }

    #[test]
    fn expiry_is_the_end_of_the_day_and_must_lie_ahead() {
        let now = "2026-11-23T12:00:00Z"
            .parse::<DateTime<Utc>>()
            .unwrap_or_default();
        let ok = input("ci", "2026-11-23")
            .validate(now)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            ok.expires_at.map(|d| d.to_rfc3339()),
            Some("2026-11-24T00:00:00+00:00".into())
        );
        assert!(ok.read_only);
        assert!(input("ci", "")
            .validate(now)
            .is_ok_and(|f| f.expires_at.is_none()));
        for bad in ["2026-11-22", "2040-01-01", "tomorrow", "2026-13-01"] {
            let e = input("ci", bad).validate(now).err().unwrap_or_default();
            assert!(e.contains_key("expires_at"), "{bad}");
        }
        assert!(input(" ", "").validate(now).is_err());
    }
}

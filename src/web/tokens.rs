//! Personal API tokens at `/profile/tokens`: the logged-in user lists, creates and
//! revokes their own tokens. A new token's secret is shown once, in the answer to
//! the create form, and never stored (only its hash).

use crate::auth::CurrentUser;
use crate::db::models::api_token::{ApiToken, Revocation};
use crate::error::{AppError, FieldErrors};
use crate::services::api_tokens::{self as service, TokenInput};
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
    t.map_or(none.to_string(), |t| {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    })
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
                .and_then(Revocation::parse)
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
}

impl TokensPage {
    fn read_only_checked(&self) -> bool {
        matches!(
            self.form.read_only.as_deref(),
            Some("true" | "on" | "1" | "yes")
        )
    }
}

async fn page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    form: TokenInput,
    errors: FieldErrors,
    created: Option<(String, String)>,
) -> Result<TokensPage, AppError> {
    let now = Utc::now();
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
    match input.validate(Utc::now()) {
        Ok(fields) => {
            let (token, secret) = service::create_in_session(
                &mut conn,
                &actor(&user, &req),
                user.user.id,
                user.user.session_epoch,
                &fields,
            )
            .await?;
            // Rendered, not redirected: the secret must not travel through a URL or
            // the session store.
            let page = page(
                &user,
                &mut conn,
                TokenInput::default(),
                FieldErrors::new(),
                Some((token.name, secret)),
            )
            .await?;
            render_status(&page, StatusCode::CREATED)
        }
        Err(errors) => {
            let page = page(&user, &mut conn, input, errors, None).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let token = service::revoke(&mut conn, &actor(&user, &req), user.user.id, id).await?;
    flash(
        &user.session.0,
        format!("Revoked the token {}. It no longer works.", token.name),
    );
    Ok(see_other(&req, "/profile/tokens"))
}

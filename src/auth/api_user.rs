//! The caller of the JSON API: a personal API token (`Authorization: Bearer …`)
//! resolved to the same [`Principal`] the console loads from a session, so every
//! decision goes through the same `authz` functions. `web::extract` makes it a
//! request extractor.

use super::principal::Principal;
use super::tokens::stored_hash;
use crate::clock::Clock;
use crate::db::models::api_token::ApiToken;
use crate::db::models::principal;
use crate::db::DbPool;
use crate::error::{AppError, ProblemKind};
use actix_web::http::{header, Method};
use actix_web::HttpRequest;

#[derive(Clone, Debug)]
pub struct ApiUser {
    pub principal: Principal,
    pub token_id: i64,
    pub read_only: bool,
}

impl std::ops::Deref for ApiUser {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// The token in `Authorization: Bearer <token>`, if the header has that form.
pub(crate) fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 200)
        .then(|| token.to_string())
}

impl ApiUser {
    /// Authenticates a request: 401 without a usable token (unknown, revoked,
    /// expired, or its user or the user's tenant disabled — checked on every request),
    /// 403 for a read-only token on anything but GET/HEAD.
    pub async fn load(
        pool: &DbPool,
        clock: &Clock,
        req: &HttpRequest,
    ) -> Result<ApiUser, AppError> {
        let token = bearer(req).ok_or(AppError::Unauthorized(
            "Send a personal API token as `Authorization: Bearer <token>`.",
        ))?;
        if token.starts_with(super::tokens::INGESTION_KEY_PREFIX) {
            return Err(AppError::Unauthorized(
                "This is an ingestion key: it only posts usage (POST /api/v1/usage). Use a personal API token here.",
            ));
        }
        let mut conn = pool.get().await?;
        let now = clock.now();
        let invalid = AppError::Unauthorized("The token is unknown, expired or revoked.");
        // The token, its user and the home plan's API access in one statement.
        let usable = principal::by_token(&mut conn, &stored_hash(&token), now)
            .await?
            .ok_or(invalid)?;
        // API access is a plan option (issue #16): users homed in a tenant whose plan
        // (its own, else its nearest ancestor's) lacks it may not use the API,
        // whatever their tokens.
        if let Some(plan) = &usable.plan_without_api {
            return Err(AppError::problem(
                ProblemKind::NotInPlan,
                format!(
                    "API access: {} Your tenant's plan does not include it.",
                    crate::domain::plan::not_in_plan(plan)
                ),
            ));
        }
        if usable.read_only && !matches!(*req.method(), Method::GET | Method::HEAD) {
            return Err(AppError::problem(
                ProblemKind::ReadOnlyToken,
                "This token is read-only: it may only make GET requests.",
            ));
        }
        if super::tokens::use_worth_recording(usable.last_used_at, now) {
            ApiToken::touch(&mut conn, usable.token_id, now).await?;
        }
        Ok(ApiUser {
            principal: usable.principal.into(),
            token_id: usable.token_id,
            read_only: usable.read_only,
        })
    }
}

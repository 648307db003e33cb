//! The caller of `POST /api/v1/usage`: an ingestion key (`Authorization: Bearer
//! tni_…`). Keys belong to the installation, not to a user, and are accepted there
//! only; a personal API token is refused there, as a key is everywhere else
//! (`ApiUser`). `web::extract` makes it a request extractor.

use super::api_user::bearer;
use super::tokens::{stored_hash, use_worth_recording, API_TOKEN_PREFIX};
use crate::clock::Clock;
use crate::db::models::usage::IngestionKey;
use crate::db::DbPool;
use crate::error::AppError;
use actix_web::HttpRequest;

/// An unrevoked ingestion key.
#[derive(Clone, Copy, Debug)]
pub struct IngestionCaller {
    pub key_id: i64,
}

impl IngestionCaller {
    /// Authenticates a request: 401 without a usable key (missing, unknown, revoked,
    /// or a personal API token).
    pub async fn load(
        pool: &DbPool,
        clock: &Clock,
        req: &HttpRequest,
    ) -> Result<IngestionCaller, AppError> {
        let key = bearer(req).ok_or(AppError::Unauthorized(
            "Send an ingestion key as `Authorization: Bearer <key>` (keys are created at /usage/keys).",
        ))?;
        if key.starts_with(API_TOKEN_PREFIX) {
            return Err(AppError::Unauthorized(
                "A personal API token cannot post usage: use an ingestion key (created at /usage/keys).",
            ));
        }
        let mut conn = pool.get().await?;
        let usable = IngestionKey::usable(&mut conn, &stored_hash(&key))
            .await?
            .ok_or(AppError::Unauthorized(
                "The ingestion key is unknown or revoked.",
            ))?;
        let now = clock.now();
        if use_worth_recording(usable.last_used_at, now) {
            IngestionKey::touch(&mut conn, usable.id, now).await?;
        }
        Ok(IngestionCaller { key_id: usable.id })
    }
}

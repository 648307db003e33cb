//! `Idempotency-Key` on API POSTs: the first request with a key runs and its answer
//! is stored (24 hours) in the same transaction as its changes; a retry with the same
//! key and the same request gets that answer again without applying anything; the
//! same key with a different request is refused (422).

use crate::auth::ApiUser;
use crate::db::models::idempotency;
use crate::error::{AppError, ProblemKind};
use crate::web::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};

/// An API answer before it becomes an HTTP response (so it can be stored).
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
}

impl Answer {
    pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Self, AppError> {
        Ok(Answer {
            status,
            body: serde_json::to_string(value)
                .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?,
            location: None,
        })
    }

    fn problem(e: &AppError) -> Result<Self, AppError> {
        Self::json(e.status(), &e.problem_document())
    }

    fn into_response(self, replayed: bool) -> HttpResponse {
        let content_type = if self.status.as_u16() >= 400 {
            "application/problem+json"
        } else {
            "application/json"
        };
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((header::CONTENT_TYPE, content_type))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(location) = self.location {
            response.insert_header((header::LOCATION, location));
        }
        if replayed {
            response.insert_header(("Idempotent-Replayed", "true"));
        }
        response.body(self.body)
    }
}

/// The `Idempotency-Key` header: 1–255 visible ASCII characters, if present.
fn key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_string()))
        }
        _ => Err(AppError::BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.".into(),
        )),
    }
}

fn request_hash(req: &HttpRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b"\n");
    h.update(req.uri().path().as_bytes());
    h.update(b"?");
    h.update(req.uri().query().unwrap_or("").as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// Errors that are answered and remembered (the same retry gets the same answer);
/// the others (try again: busy, locked (423); outages, faults) leave the key unused
/// for a retry.
fn remembered(e: &AppError) -> bool {
    let status = e.status().as_u16();
    (400..500).contains(&status) && !matches!(e, AppError::Busy | AppError::Locked(_))
}

/// Runs `op` once per idempotency key (or just runs it without a key).
pub async fn run<F>(
    state: &AppState,
    req: &HttpRequest,
    user: &ApiUser,
    body: &[u8],
    op: F,
) -> Result<HttpResponse, AppError>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<Answer, AppError>,
{
    let mut conn = state.pool.get().await?;
    let Some(key) = key(req)? else {
        return match op(&mut conn).await {
            Ok(answer) => Ok(answer.into_response(false)),
            Err(e) => Err(e),
        };
    };
    let hash = request_hash(req, body);
    let now = state.clock.now();
    let user_id = user.user.id;
    let (answer, replayed) = super::in_transaction(&mut conn, async |conn| {
        if let Some(stored) = idempotency::claim(conn, user_id, &key, &hash, now).await? {
            if stored.request_hash != hash {
                return Err(AppError::problem(
                    ProblemKind::IdempotencyKeyReused,
                    "This Idempotency-Key was used with a different request.",
                ));
            }
            let Some(status) = stored.status else {
                return Err(AppError::Busy);
            };
            let answer = Answer {
                status: u16::try_from(status)
                    .ok()
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::OK),
                body: stored.body.unwrap_or_default(),
                location: stored.location,
            };
            return Ok((answer, true));
        }
        let answer = match op(conn).await {
            Ok(answer) => answer,
            Err(e) if remembered(&e) => Answer::problem(&e)?,
            Err(e) => return Err(e),
        };
        idempotency::complete(
            conn,
            user_id,
            &key,
            answer.status.as_u16(),
            &answer.body,
            answer.location.as_deref(),
        )
        .await?;
        Ok((answer, false))
    })
    .await?;
    Ok(answer.into_response(replayed))
}

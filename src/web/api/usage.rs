//! `POST /api/v1/usage`: usage events posted in batches with an ingestion key.
//! The service applies a batch exactly once; this handler reads the body, refuses
//! what is wrong with the batch as a whole (problem+json), and answers what the
//! service counted and which events it did not.

use super::{json, parse_json};
use crate::auth::IngestionCaller;
use crate::domain::usage::{clamp_out_of_range, parse_batch_id, SentEvent, MAX_EVENTS};
use crate::error::{AppError, ProblemKind};
use crate::services::usage::{self as service, Batch, BatchAnswer};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![route!(POST "/api/v1/usage" => ingest)]
}

/// A batch of usage events. Each event is checked on its own: one that is not valid
/// (unknown tenant, negative count, bad time, missing, unknown or repeated field) is
/// listed in the answer's `rejected` and the others are counted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageBatch {
    /// The sender's id of this batch, 1–255 visible ASCII characters. A batch sent
    /// again with the same id (a retry) is answered as the first time and counts
    /// nothing again; the same id with other events is refused (409).
    pub batch_id: String,
    /// At most 10,000 events.
    #[schema(value_type = Vec<UsageEventJson>)]
    pub events: Vec<SentEvent>,
}

/// One usage event.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = UsageEvent)]
#[serde(deny_unknown_fields)]
pub struct UsageEventJson {
    /// The tenant: its id, or its subdomain (any case, without spaces around it).
    #[schema(value_type = TenantRefJson)]
    pub tenant: serde_json::Value,
    /// When (RFC 3339, any offset); it counts in that instant's UTC day and month.
    /// From 2000-01-01 to at most a day ahead of the server's clock.
    pub at: chrono::DateTime<chrono::Utc>,
    /// DNS queries, 0 to 1000000000000 (an integral number: `1e3` is 1000).
    pub queries: i64,
    /// Blocked queries (among `queries`): 0 up to `queries`.
    pub blocked: i64,
}

/// A tenant id or a subdomain.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = TenantRef)]
#[serde(untagged)]
pub enum TenantRefJson {
    Id(i64),
    Subdomain(String),
}

/// What was counted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageAnswer {
    /// How many events were counted.
    pub accepted: usize,
    /// The events not counted, by their index in `events` (from 0), and why.
    pub rejected: Vec<UsageRejection>,
}

/// One event that was not counted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageRejection {
    pub index: usize,
    pub error: String,
}

impl From<BatchAnswer> for UsageAnswer {
    fn from(a: BatchAnswer) -> Self {
        UsageAnswer {
            accepted: a.accepted,
            rejected: a
                .rejected
                .into_iter()
                .map(|r| UsageRejection {
                    index: r.index,
                    error: r.error,
                })
                .collect(),
        }
    }
}

/// Post usage (with an ingestion key, not a personal API token). Applied exactly
/// once and all at once: a retried `batch_id` gets the first answer and counts
/// nothing twice, also when both copies arrive together.
#[utoipa::path(
    post,
    path = "/api/v1/usage",
    tag = "usage",
    request_body(content = UsageBatch, content_type = "application/json"),
    responses((status = 200, description = "What was counted, and which events were not", body = UsageAnswer)),
    security(("bearer" = []))
)]
pub async fn ingest(
    req: HttpRequest,
    key: IngestionCaller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    // A number past a double's range is its event's error, not the batch's.
    let clamped = clamp_out_of_range(&body);
    let batch: UsageBatch = parse_json(&req, clamped.as_deref().unwrap_or(&body))?;
    parse_batch_id(&batch.batch_id).map_err(|e| AppError::problem(ProblemKind::InvalidBody, e))?;
    if batch.events.len() > MAX_EVENTS {
        return Err(AppError::problem(
            ProblemKind::TooManyEvents,
            format!(
                "A batch holds at most {MAX_EVENTS} events; this one has {}. Split it.",
                batch.events.len()
            ),
        ));
    }
    // The batch as parsed, so that a retry formatted differently is the same batch.
    let canonical = serde_json::to_vec(&batch.events)
        .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?;
    let request_hash = hex::encode(Sha256::digest(&canonical));
    let mut conn = state.pool.get().await?;
    let answer = service::ingest(
        &mut conn,
        key.key_id,
        Batch {
            batch_id: &batch.batch_id,
            events: &batch.events,
            request_hash,
        },
        state.clock.now(),
    )
    .await?;
    Ok(json(StatusCode::OK, &UsageAnswer::from(answer)))
}

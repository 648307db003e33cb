//! The one error type of the application and its translation into responses.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use std::collections::BTreeMap;

/// Field name -> message, for re-rendering forms.
pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Not logged in: pages redirect to the login form.
    #[error("login required")]
    LoginRequired,
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too many requests")]
    TooManyRequests,
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
    /// Another change holds the same rows (a lock wait ran out, a deadlock or a
    /// serialization failure): nothing was changed, the caller may try again.
    #[error("busy: try again")]
    Busy,
    /// A delete refused because the subtree still holds these things.
    #[error("delete blocked")]
    DeleteBlocked(Vec<Blocker>),
    /// API credentials are missing, unknown, revoked or expired (401).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// A problem only the JSON API raises (body, content type, batch, idempotency).
    #[error("{}: {detail}", kind.slug())]
    Problem { kind: ProblemKind, detail: String },
}

/// Something in a subtree that stops a safe delete.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Blocker {
    /// `subtenants` or `users` (later: resolvers, devices, usage).
    pub kind: &'static str,
    pub count: i64,
    pub message: String,
}

impl AppError {
    pub fn problem(kind: ProblemKind, detail: impl Into<String>) -> Self {
        AppError::Problem {
            kind,
            detail: detail.into(),
        }
    }

    pub fn field(name: &'static str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(name, message.into());
        AppError::Validation(errors)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                AppError::Conflict(info.message().to_string())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::Unavailable(anyhow::Error::new(e))
            }
            // A query the database cancelled for a lock timeout: the caller may retry.
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("lock timeout")
                    || info.message().contains("deadlock detected") =>
            {
                AppError::Busy
            }
            // Text PostgreSQL cannot store (a NUL byte, invalid UTF-8) is bad input, not a fault.
            Error::DatabaseError(_, ref info)
                if info.message().contains("invalid byte sequence")
                    || info.message().contains("null character") =>
            {
                AppError::BadRequest("The input contains characters that cannot be stored.".into())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => AppError::Busy,
            other => AppError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::db::PoolError> for AppError {
    fn from(e: crate::db::PoolError) -> Self {
        AppError::Unavailable(anyhow::Error::new(e))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::LoginRequired => StatusCode::SEE_OTHER,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Busy | AppError::DeleteBlocked(_) => StatusCode::CONFLICT,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Problem { kind, .. } => kind.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .insert_header(("HX-Redirect", "/login"))
                .finish();
        }
        log(self);
        let status = self.status_code();
        let (title, detail) = public_message(self);
        crate::web::page::error_page(status, title, &detail)
    }
}

/// What a client may be told: never internal detail.
fn public_message(e: &AppError) -> (&'static str, String) {
    match e {
        AppError::NotFound => (
            "Not found",
            "There is nothing here, or you may not see it.".into(),
        ),
        AppError::Forbidden => ("Not allowed", "You may see this, but not change it.".into()),
        AppError::LoginRequired => ("Login required", "Please log in.".into()),
        AppError::Validation(errors) => (
            "Invalid input",
            errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        AppError::Conflict(m) => ("Conflict", m.clone()),
        AppError::BadRequest(m) => ("Bad request", m.clone()),
        AppError::TooManyRequests => (
            "Too many requests",
            "Slow down and try again in a few minutes.".into(),
        ),
        AppError::Unavailable(_) => (
            "Service unavailable",
            "The database cannot be reached right now. Try again in a moment.".into(),
        ),
        AppError::Unexpected(_) => ("Something went wrong", "The error has been logged.".into()),
        AppError::Busy => ("Try again", BUSY.into()),
        AppError::DeleteBlocked(blockers) => (
            "Cannot delete",
            format!(
                "{} Delete or move them first, or force the delete.",
                blockers
                    .iter()
                    .map(|b| b.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ),
        AppError::Unauthorized(m) => ("Unauthorized", (*m).into()),
        AppError::Problem { kind, detail } => (kind.title(), detail.clone()),
    }
}

const BUSY: &str =
    "Another change to the same tenants is in progress. Nothing was changed; try again.";

// ---------------------------------------------------------------- problem+json (the API)

/// Every kind of problem the JSON API reports, each with a stable `type` URI
/// (`urn:tenantry:problem:<slug>`; RFC 9457). docs/API.md lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    NotFound,
    Forbidden,
    ReadOnlyToken,
    Unauthorized,
    ValidationFailed,
    DeleteBlocked,
    Conflict,
    TryAgain,
    BadRequest,
    MalformedJson,
    UnknownField,
    InvalidBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    TooManyOperations,
    BatchRolledBack,
    IdempotencyKeyReused,
    MethodNotAllowed,
    TooManyRequests,
    Unavailable,
    Internal,
}

/// Prefix of every problem `type`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:tenantry:problem:";

impl ProblemKind {
    pub const ALL: [ProblemKind; 21] = [
        ProblemKind::NotFound,
        ProblemKind::Forbidden,
        ProblemKind::ReadOnlyToken,
        ProblemKind::Unauthorized,
        ProblemKind::ValidationFailed,
        ProblemKind::DeleteBlocked,
        ProblemKind::Conflict,
        ProblemKind::TryAgain,
        ProblemKind::BadRequest,
        ProblemKind::MalformedJson,
        ProblemKind::UnknownField,
        ProblemKind::InvalidBody,
        ProblemKind::UnsupportedMediaType,
        ProblemKind::PayloadTooLarge,
        ProblemKind::TooManyOperations,
        ProblemKind::BatchRolledBack,
        ProblemKind::IdempotencyKeyReused,
        ProblemKind::MethodNotAllowed,
        ProblemKind::TooManyRequests,
        ProblemKind::Unavailable,
        ProblemKind::Internal,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::NotFound => "not-found",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::ReadOnlyToken => "read-only-token",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::ValidationFailed => "validation-failed",
            ProblemKind::DeleteBlocked => "delete-blocked",
            ProblemKind::Conflict => "conflict",
            ProblemKind::TryAgain => "try-again",
            ProblemKind::BadRequest => "bad-request",
            ProblemKind::MalformedJson => "malformed-json",
            ProblemKind::UnknownField => "unknown-field",
            ProblemKind::InvalidBody => "invalid-body",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::TooManyOperations => "too-many-operations",
            ProblemKind::BatchRolledBack => "batch-rolled-back",
            ProblemKind::IdempotencyKeyReused => "idempotency-key-reused",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::TooManyRequests => "too-many-requests",
            ProblemKind::Unavailable => "service-unavailable",
            ProblemKind::Internal => "internal-error",
        }
    }

    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.slug())
    }

    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::Forbidden | ProblemKind::ReadOnlyToken => StatusCode::FORBIDDEN,
            ProblemKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemKind::ValidationFailed
            | ProblemKind::TooManyOperations
            | ProblemKind::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::DeleteBlocked | ProblemKind::Conflict | ProblemKind::TryAgain => {
                StatusCode::CONFLICT
            }
            ProblemKind::BadRequest
            | ProblemKind::MalformedJson
            | ProblemKind::UnknownField
            | ProblemKind::InvalidBody => StatusCode::BAD_REQUEST,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::BatchRolledBack => StatusCode::FAILED_DEPENDENCY,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::NotFound => "Not found",
            ProblemKind::Forbidden => "Not allowed",
            ProblemKind::ReadOnlyToken => "Read-only token",
            ProblemKind::Unauthorized => "Unauthorized",
            ProblemKind::ValidationFailed => "Invalid input",
            ProblemKind::DeleteBlocked => "Delete blocked",
            ProblemKind::Conflict => "Conflict",
            ProblemKind::TryAgain => "Try again",
            ProblemKind::BadRequest => "Bad request",
            ProblemKind::MalformedJson => "Malformed JSON",
            ProblemKind::UnknownField => "Unknown field",
            ProblemKind::InvalidBody => "Invalid request body",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::PayloadTooLarge => "Payload too large",
            ProblemKind::TooManyOperations => "Too many operations",
            ProblemKind::BatchRolledBack => "Not applied: the atomic batch was rolled back",
            ProblemKind::IdempotencyKeyReused => "Idempotency key reused",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::TooManyRequests => "Too many requests",
            ProblemKind::Unavailable => "Service unavailable",
            ProblemKind::Internal => "Internal error",
        }
    }

    /// The kind for a bare status (errors that did not come from an `AppError`).
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => ProblemKind::Unauthorized,
            403 => ProblemKind::Forbidden,
            404 => ProblemKind::NotFound,
            405 => ProblemKind::MethodNotAllowed,
            409 => ProblemKind::Conflict,
            413 => ProblemKind::PayloadTooLarge,
            415 => ProblemKind::UnsupportedMediaType,
            422 => ProblemKind::ValidationFailed,
            429 => ProblemKind::TooManyRequests,
            503 => ProblemKind::Unavailable,
            s if s >= 500 => ProblemKind::Internal,
            _ => ProblemKind::BadRequest,
        }
    }
}

/// A problem document (RFC 9457): `type`, `title`, `status`, `detail`, plus
/// `errors` (field -> message) for invalid input and `blockers` for a refused delete.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ProblemDocument {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<Blocker>>,
    /// The request's id (also in `X-Request-Id` and the server log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AppError {
    /// The kind of problem this error is, for the API.
    pub fn problem_kind(&self) -> ProblemKind {
        match self {
            AppError::NotFound => ProblemKind::NotFound,
            AppError::Forbidden => ProblemKind::Forbidden,
            AppError::LoginRequired | AppError::Unauthorized(_) => ProblemKind::Unauthorized,
            AppError::Validation(_) => ProblemKind::ValidationFailed,
            AppError::Conflict(_) => ProblemKind::Conflict,
            AppError::BadRequest(_) => ProblemKind::BadRequest,
            AppError::TooManyRequests => ProblemKind::TooManyRequests,
            AppError::Unavailable(_) => ProblemKind::Unavailable,
            AppError::Unexpected(_) => ProblemKind::Internal,
            AppError::Busy => ProblemKind::TryAgain,
            AppError::DeleteBlocked(_) => ProblemKind::DeleteBlocked,
            AppError::Problem { kind, .. } => *kind,
        }
    }

    /// This error as a problem document; never internal detail.
    pub fn problem_document(&self) -> ProblemDocument {
        let kind = self.problem_kind();
        let (_, detail) = public_message(self);
        let detail = match self {
            AppError::Validation(_) => "Some fields are invalid; see `errors`.".to_string(),
            AppError::LoginRequired => "A bearer token is required.".to_string(),
            _ => detail,
        };
        ProblemDocument {
            type_uri: kind.type_uri(),
            title: kind.title().to_string(),
            status: self.status_code().as_u16(),
            detail,
            errors: match self {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            blockers: match self {
                AppError::DeleteBlocked(b) => Some(b.clone()),
                _ => None,
            },
            request_id: crate::telemetry::current_request_id(),
        }
    }

    /// The `application/problem+json` response for this error (the API's rendering).
    pub fn problem_response(&self) -> HttpResponse {
        log(self);
        problem_response(&self.problem_document())
    }
}

/// Serialises a problem document with its content type and the API's headers.
pub fn problem_response(doc: &ProblemDocument) -> HttpResponse {
    let status = StatusCode::from_u16(doc.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CONTENT_TYPE, "application/problem+json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"tenantry\""));
    }
    response.json(doc)
}

fn log(e: &AppError) {
    match e {
        AppError::Unexpected(e) => tracing::error!(error = ?e, "unexpected error"),
        AppError::Unavailable(e) => tracing::warn!(error = ?e, "database unavailable"),
        _ => {}
    }
}

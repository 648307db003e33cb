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
}

impl AppError {
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
                if info.message().contains("lock timeout") =>
            {
                AppError::Conflict(
                    "another change to the same tenants is in progress; try again".into(),
                )
            }
            // Text PostgreSQL cannot store (a NUL byte, invalid UTF-8) is bad input, not a fault.
            Error::DatabaseError(_, ref info)
                if info.message().contains("invalid byte sequence")
                    || info.message().contains("null character") =>
            {
                AppError::BadRequest("The input contains characters that cannot be stored.".into())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => AppError::Conflict(
                "another change to the same tenants is in progress; try again".into(),
            ),
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
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .insert_header(("HX-Redirect", "/login"))
                .finish();
        }
        match self {
            AppError::Unexpected(e) => tracing::error!(error = ?e, "unexpected error"),
            AppError::Unavailable(e) => tracing::warn!(error = ?e, "database unavailable"),
            _ => {}
        }
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
    }
}

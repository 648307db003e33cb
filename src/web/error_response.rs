//! How an [`AppError`] reaches the client: an HTML error page for the console, a
//! problem document (`application/problem+json`, RFC 9457) for the JSON API.

use crate::error::{AppError, Blocker};
use crate::web::page::error_page;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired { next } = self {
            let login = crate::web::login::login_url(next.as_deref());
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, login.as_str()))
                .insert_header(("HX-Redirect", login.as_str()))
                .finish();
        }
        self.log();
        if let AppError::Locked(notice) = self {
            return crate::web::page::locked_page(notice);
        }
        let (title, detail) = self.public_message();
        error_page(self.status(), title, &detail)
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
    /// Field (a path in the body for a body's field) → message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<Blocker>>,
    /// The request's id (also in `X-Request-Id` and the server log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AppError {
    /// This error as a problem document; never internal detail.
    pub fn problem_document(&self) -> ProblemDocument {
        let kind = self.problem_kind();
        let detail = match self {
            AppError::Validation(_) => "Some fields are invalid; see `errors`.".to_string(),
            AppError::LoginRequired { .. } => "A bearer token is required.".to_string(),
            _ => self.public_message().1,
        };
        ProblemDocument {
            type_uri: kind.type_uri(),
            title: kind.title().to_string(),
            status: self.status().as_u16(),
            detail,
            errors: match self {
                AppError::Validation(errors) => Some(
                    errors
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect(),
                ),
                AppError::BadBody { errors, .. } if !errors.is_empty() => Some(errors.clone()),
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
        self.log();
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

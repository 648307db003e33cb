//! The one error type of the application and the table of problem kinds it maps
//! to. Rendering it (HTML pages, problem+json) belongs to `web::error_response`.

use actix_web::http::StatusCode;
use std::collections::BTreeMap;

/// Field name -> message, for re-rendering forms.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// A field name made at run time (`map_domain_12`: a form with a field per row) as
/// the `&'static str` field errors are keyed by. Each distinct name is kept once
/// for the life of the process, so only names drawn from a bounded set (ids of
/// rows that exist, never raw input) may come here.
pub fn field_name(name: String) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let name: &'static str = Box::leak(name.into_boxed_str());
    names.insert(name);
    name
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Not logged in: pages redirect to the login form, which returns to `next` (a
    /// local path, `web::login::local_path`) after the login.
    #[error("login required")]
    LoginRequired { next: Option<String> },
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
    /// The tenant's rule configuration is locked (a rule-set migration holds it):
    /// nothing was changed or shown (423; pages render the locked-page view).
    #[error("locked")]
    Locked(Box<crate::domain::rules::LockNotice>),
    /// A problem only the JSON API raises (body, content type, batch, idempotency).
    #[error("{}: {detail}", kind.slug())]
    Problem { kind: ProblemKind, detail: String },
    /// A JSON body the operation cannot take (`unknown-field`, `invalid-body`), with
    /// the field it is about when serde tells (its path in the body → message).
    #[error("{}: {detail}", kind.slug())]
    BadBody {
        kind: ProblemKind,
        detail: String,
        errors: BTreeMap<String, String>,
    },
}

/// Something in a subtree that stops a safe delete.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Blocker {
    /// `subtenants`, `users`, `resolvers`, `devices`, `usage` (tenants with
    /// traffic in the last 30 days) or `shared_clouds` (other tenants' instances on
    /// the subtree's clouds: it stops a force delete too).
    pub kind: &'static str,
    pub count: i64,
    pub message: String,
}

/// The blocker kind of other tenants' instances on a subtree's clouds.
pub const SHARED_CLOUDS: &str = "shared_clouds";

/// The blocker kind of traffic in a subtree in the last 30 days.
pub const USAGE: &str = "usage";

impl Blocker {
    /// Whether it stops a force delete as well as a safe one.
    pub fn stops_force(&self) -> bool {
        self.kind == SHARED_CLOUDS
    }

    /// Whether it goes by deleting or moving something (recent traffic does not:
    /// it ages out).
    pub fn removable(&self) -> bool {
        self.kind != USAGE
    }
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
        if crate::db::transaction::is_busy(&e) {
            return AppError::Busy;
        }
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                AppError::Conflict(info.message().to_string())
            }
            // A row the write names went away meanwhile (a tenant deleted while a
            // create under it ran): the tenant is gone; anything else, asking again
            // gives the right answer.
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, ref info)
                if info
                    .constraint_name()
                    .is_some_and(|c| c.ends_with("_tenant_id_fkey")) =>
            {
                AppError::NotFound
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => AppError::Busy,
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::Unavailable(anyhow::Error::new(e))
            }
            // Text PostgreSQL cannot store (a NUL byte, invalid UTF-8) is bad input, not a fault.
            Error::DatabaseError(_, ref info)
                if info.message().contains("invalid byte sequence")
                    || info.message().contains("null character") =>
            {
                AppError::BadRequest("The input contains characters that cannot be stored.".into())
            }
            other => AppError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::db::PoolError> for AppError {
    fn from(e: crate::db::PoolError) -> Self {
        AppError::Unavailable(anyhow::Error::new(e))
    }
}

impl AppError {
    /// The kind of problem this error is: its slug, status and title come from the table below.
    pub fn problem_kind(&self) -> ProblemKind {
        match self {
            AppError::NotFound => ProblemKind::NotFound,
            AppError::Forbidden => ProblemKind::Forbidden,
            AppError::LoginRequired { .. } | AppError::Unauthorized(_) => ProblemKind::Unauthorized,
            AppError::Validation(_) => ProblemKind::ValidationFailed,
            AppError::Conflict(_) => ProblemKind::Conflict,
            AppError::BadRequest(_) => ProblemKind::BadRequest,
            AppError::TooManyRequests => ProblemKind::TooManyRequests,
            AppError::Unavailable(_) => ProblemKind::Unavailable,
            AppError::Unexpected(_) => ProblemKind::Internal,
            AppError::Busy => ProblemKind::TryAgain,
            AppError::DeleteBlocked(_) => ProblemKind::DeleteBlocked,
            AppError::Locked(_) => ProblemKind::Locked,
            AppError::Problem { kind, .. } | AppError::BadBody { kind, .. } => *kind,
        }
    }

    /// The HTTP status: its kind's, except that pages send a missing login to the login form.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            _ => self.problem_kind().status(),
        }
    }

    /// Title and detail a client may be told: never internal detail. Pages word a
    /// few titles for people rather than programs.
    pub fn public_message(&self) -> (&'static str, String) {
        let title = match self {
            AppError::LoginRequired { .. } => "Login required",
            AppError::Unexpected(_) => "Something went wrong",
            AppError::DeleteBlocked(_) => "Cannot delete",
            _ => self.problem_kind().title(),
        };
        let detail = match self {
            AppError::NotFound => "There is nothing here, or you may not see it.".into(),
            AppError::Forbidden => {
                "Your role here does not allow this (a tenant role may cap it).".into()
            }
            AppError::LoginRequired { .. } => "Please log in.".into(),
            AppError::Validation(errors) => errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
            AppError::Conflict(m) | AppError::BadRequest(m) => m.clone(),
            AppError::TooManyRequests => "Slow down and try again in a few minutes.".into(),
            AppError::Unavailable(_) => {
                "The database cannot be reached right now. Try again in a moment.".into()
            }
            AppError::Unexpected(_) => "The error has been logged.".into(),
            AppError::Busy => BUSY.into(),
            AppError::DeleteBlocked(blockers) => {
                let listed = blockers
                    .iter()
                    .map(|b| b.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if blockers.iter().any(Blocker::removable) {
                    format!(
                        "{listed} Delete or move them first{}.",
                        if blockers.iter().any(Blocker::stops_force) {
                            ""
                        } else {
                            ", or force the delete"
                        }
                    )
                } else {
                    listed
                }
            }
            AppError::Unauthorized(m) => (*m).into(),
            AppError::Locked(notice) => notice.message(),
            AppError::Problem { detail, .. } | AppError::BadBody { detail, .. } => detail.clone(),
        };
        (title, detail)
    }

    /// Logs what the client is not told: the whole cause chain of a fault or an outage.
    pub fn log(&self) {
        match self {
            AppError::Unexpected(e) => tracing::error!(error = ?e, "unexpected error"),
            AppError::Unavailable(e) => tracing::warn!(error = ?e, "database unavailable"),
            _ => {}
        }
    }
}

const BUSY: &str =
    "Another change to the same tenants is in progress. Nothing was changed; try again.";

// ---------------------------------------------------------------- problem kinds (the API)

/// Declares [`ProblemKind`] and its one table: each kind's slug, status and title.
macro_rules! problem_kinds {
    ($($kind:ident => $slug:literal, $status:ident, $title:literal;)*) => {
        /// Every kind of problem the JSON API reports, each with a stable `type` URI
        /// (`urn:tenantry:problem:<slug>`; RFC 9457). docs/API.md lists them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ProblemKind {
            $($kind,)*
        }

        impl ProblemKind {
            /// Every kind, in the table's order.
            pub const ALL: &'static [ProblemKind] = &[$(ProblemKind::$kind,)*];

            fn row(self) -> (&'static str, StatusCode, &'static str) {
                match self {
                    $(ProblemKind::$kind => ($slug, StatusCode::$status, $title),)*
                }
            }
        }
    };
}

problem_kinds! {
    NotFound => "not-found", NOT_FOUND, "Not found";
    Forbidden => "forbidden", FORBIDDEN, "Not allowed";
    ReadOnlyToken => "read-only-token", FORBIDDEN, "Read-only token";
    NotInPlan => "not-in-plan", FORBIDDEN, "Not in plan";
    Unauthorized => "unauthorized", UNAUTHORIZED, "Unauthorized";
    ValidationFailed => "validation-failed", UNPROCESSABLE_ENTITY, "Invalid input";
    DeleteBlocked => "delete-blocked", CONFLICT, "Delete blocked";
    Conflict => "conflict", CONFLICT, "Conflict";
    TryAgain => "try-again", CONFLICT, "Try again";
    Locked => "locked", LOCKED, "Locked";
    BadRequest => "bad-request", BAD_REQUEST, "Bad request";
    MalformedJson => "malformed-json", BAD_REQUEST, "Malformed JSON";
    UnknownField => "unknown-field", BAD_REQUEST, "Unknown field";
    InvalidBody => "invalid-body", BAD_REQUEST, "Invalid request body";
    UnsupportedMediaType => "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type";
    PayloadTooLarge => "payload-too-large", PAYLOAD_TOO_LARGE, "Payload too large";
    TooManyOperations => "too-many-operations", UNPROCESSABLE_ENTITY, "Too many operations";
    TooManyEvents => "too-many-events", UNPROCESSABLE_ENTITY, "Too many events";
    BatchRolledBack => "batch-rolled-back", FAILED_DEPENDENCY, "Not applied: the atomic batch was rolled back";
    IdempotencyKeyReused => "idempotency-key-reused", UNPROCESSABLE_ENTITY, "Idempotency key reused";
    MethodNotAllowed => "method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed";
    TooManyRequests => "too-many-requests", TOO_MANY_REQUESTS, "Too many requests";
    Unavailable => "service-unavailable", SERVICE_UNAVAILABLE, "Service unavailable";
    Internal => "internal-error", INTERNAL_SERVER_ERROR, "Internal error";
}

/// Prefix of every problem `type`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:tenantry:problem:";

impl ProblemKind {
    pub fn slug(self) -> &'static str {
        self.row().0
    }

    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.slug())
    }

    pub fn status(self) -> StatusCode {
        self.row().1
    }

    pub fn title(self) -> &'static str {
        self.row().2
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_types_are_distinct_and_documented() {
        let api_doc = include_str!("../docs/API.md");
        let mut slugs: Vec<_> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len(), "a slug is used twice");
        for kind in ProblemKind::ALL {
            let row = format!("| `{}` | {} |", kind.type_uri(), kind.status().as_u16());
            assert!(api_doc.contains(&row), "docs/API.md lacks {row}");
        }
    }

    #[test]
    fn errors_answer_with_their_kinds_status() {
        assert_eq!(
            AppError::LoginRequired { next: None }.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(AppError::Busy.status(), StatusCode::CONFLICT);
        let e = AppError::problem(ProblemKind::BatchRolledBack, "x");
        assert_eq!(e.status(), StatusCode::FAILED_DEPENDENCY);
        assert_eq!(e.public_message().0, ProblemKind::BatchRolledBack.title());
    }
}

//! The Manage Tenants API under `/api/v1`: JSON in and out, personal API tokens
//! (`Authorization: Bearer …`), errors as `application/problem+json` (RFC 9457), an
//! OpenAPI 3.1 document generated from the handlers at `/api/v1/openapi.json`.
//! Authorization is the console's: the same `authz` functions on the same `Principal`.
//! DTOs live here, separate from the models; the routes are part of `web::routes()`.

pub mod activity;
pub mod batch;
pub mod branding;
pub mod bulk;
pub mod idempotency;
pub mod migrations;
pub mod network;
pub mod openapi;
pub mod owned;
pub mod plans;
pub mod policies;
pub mod resources;
pub mod rules;
pub mod stats;
pub mod tenants;
pub mod usage;

use crate::error::{AppError, ProblemKind};
use crate::web::error_response::{problem_response, ProblemDocument};
use crate::web::routes::Route;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;

/// Every API path starts with this.
pub const PREFIX: &str = "/api/";

/// The routes of the API (see `web::routes`).
pub fn routes() -> Vec<Route> {
    [
        tenants::routes(),
        branding::routes(),
        activity::routes(),
        stats::routes(),
        batch::routes(),
        bulk::routes(),
        usage::routes(),
        migrations::routes(),
        rules::routes(),
        resources::routes(),
        network::routes(),
        policies::routes(),
        plans::routes(),
        openapi::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Largest request body the API reads (a full batch of 1,000 creates fits).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Parses a JSON body: 415 unless the content type is JSON, 400 with a specific
/// problem type for malformed JSON, unknown fields and wrong types or values.
pub fn parse_json<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !(essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json")))
    {
        return Err(AppError::problem(
            ProblemKind::UnsupportedMediaType,
            "Send the request body as JSON (Content-Type: application/json).",
        ));
    }
    // JSON is UTF-8 (RFC 8259): a body announced in another charset would be read
    // as something it is not.
    let other_charset = content_type.split(';').skip(1).any(|param| {
        param.split_once('=').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("charset")
                && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    });
    if other_charset {
        return Err(AppError::problem(
            ProblemKind::UnsupportedMediaType,
            "Send the request body as UTF-8 JSON (no charset, or charset=utf-8).",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::problem(ProblemKind::MalformedJson, e.to_string()))?;
    // serde would also read a struct from an array of its fields: insist on objects.
    objects_where_expected(&value)?;
    // From the text, not the `Value`: a `Value` keeps only the last of two equal keys,
    // where the text's reader refuses a duplicate field.
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut de).map_err(body_error)?;
    de.end()
        .map_err(|e| AppError::problem(ProblemKind::MalformedJson, e.to_string()))?;
    Ok(parsed)
}

/// A body that is JSON but not what the operation takes: 400 (`unknown-field` or
/// `invalid-body`) with serde's message as the detail and, when it tells which field
/// (a wrong type or value, an unknown, missing or repeated field), that field's
/// path (`status`, `operations[2].data.name`) and message in `errors`, as a
/// validation error names its fields.
fn body_error(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    body_error_at(e, "")
}

/// Reads `value`, a part of a body already read as JSON (a batch operation's
/// `data`), as `T`; an error names its field under `at` (`operations[2].data`), as
/// [`parse_json`] names a body's.
pub(super) fn parse_part<T: DeserializeOwned>(
    value: serde_json::Value,
    at: &str,
) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|e| body_error_at(e, at))
}

/// [`body_error`] of a part of the body at `at` (empty: the body itself).
fn body_error_at(e: serde_path_to_error::Error<serde_json::Error>, at: &str) -> AppError {
    let raw = e.inner().to_string();
    // serde_json's message, without where in the text it was found.
    let message = match raw.rfind(" at line ") {
        Some(at) => raw[..at].to_string(),
        None => raw.clone(),
    };
    let kind = if message.starts_with("unknown field") {
        ProblemKind::UnknownField
    } else {
        ProblemKind::InvalidBody
    };
    let field = match (field_path(e.path(), &message), at) {
        (field, "") => field,
        (Some(field), at) => Some(format!("{at}.{field}")),
        (None, at) => Some(at.to_string()),
    };
    let message = in_plain_words(&message);
    let detail = match &field {
        Some(field) => format!("{field}: {message}"),
        None => message.clone(),
    };
    let errors = field
        .map(|field| [(field, message)].into_iter().collect())
        .unwrap_or_default();
    AppError::BadBody {
        kind,
        detail,
        errors,
    }
}

/// serde's message as a person reads it ("invalid type: string \"x\", expected
/// an integer" → "Expected an integer, not the string \"x\"."); one it does not
/// know, as it is.
fn in_plain_words(message: &str) -> String {
    let quoted = |s: &str| s.replace('`', "\"");
    let split = |rest: &str| {
        rest.split_once(", expected ")
            .map(|(got, want)| (got.to_string(), want.to_string()))
    };
    let wanted = |want: &str| {
        let want = match want {
            "a sequence" => "a list",
            "a map" => "an object",
            "an integer" => "a whole number",
            w if w.starts_with("struct ") => "an object",
            w if w.len() <= 4 && (w.starts_with('i') || w.starts_with('u')) => "a whole number",
            w => w,
        };
        quoted(want)
    };
    let got = |got: &str| {
        let (what, value) = got.split_once(' ').unwrap_or((got, ""));
        let value = value.trim_matches('`');
        match what {
            "string" => format!("the string {value}"),
            "integer" | "floating" | "number" => {
                format!("the number {}", value.trim_start_matches("point `"))
            }
            "boolean" => value.to_string(),
            "sequence" => "a list".into(),
            "map" => "an object".into(),
            _ => quoted(got),
        }
    };
    let named = |rest: &str| rest.trim_matches('`').to_string();
    if let Some((g, w)) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(split)
    {
        return format!("Expected {}, not {}.", wanted(&w), got(&g));
    }
    if let Some((g, w)) = message.strip_prefix("unknown variant ").and_then(split) {
        return format!("Unknown value \"{}\": use {}.", named(&g), quoted(&w));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return match split(rest) {
            Some((g, w)) => format!(
                "Unknown field \"{}\": the fields are {}.",
                named(&g),
                quoted(w.trim_start_matches("one of "))
            ),
            None => format!(
                "Unknown field \"{}\": none is taken here.",
                named(rest.split(',').next().unwrap_or(rest))
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("Missing: send \"{}\".", named(rest));
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return format!("\"{}\" is sent twice: send it once.", named(rest));
    }
    message.to_string()
}

/// The field an error of `path` is about: the path itself, or for a missing or
/// repeated field (reported on the object holding it) the named field inside it.
/// `None` when serde does not tell (an error on the body as a whole).
fn field_path(path: &serde_path_to_error::Path, message: &str) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut field = String::new();
    for segment in path {
        match segment {
            Segment::Map { key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
            }
            Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            Segment::Enum { .. } => {}
            Segment::Unknown => return None,
        }
    }
    let named = ["missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    if let Some(name) = named {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    }
    Some(field).filter(|f| !f.is_empty())
}

/// Every request body is an object, and so is every `data` and every operation of a
/// batch.
fn objects_where_expected(value: &serde_json::Value) -> Result<(), AppError> {
    let not_object = |what: &str| {
        Err(AppError::problem(
            ProblemKind::InvalidBody,
            format!("{what} must be a JSON object."),
        ))
    };
    let Some(body) = value.as_object() else {
        return not_object("The request body");
    };
    if let Some(ops) = body.get("operations").and_then(|o| o.as_array()) {
        for op in ops {
            let Some(op) = op.as_object() else {
                return not_object("Each operation");
            };
            if op.get("data").is_some_and(|d| !d.is_object()) {
                return not_object("An operation's `data`");
            }
        }
    }
    Ok(())
}

/// A JSON response.
pub fn json<T: serde::Serialize>(status: actix_web::http::StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// Middleware: every error answer under `/api/` becomes a problem document, whatever
/// produced it (a handler's `AppError`, an extractor, the router, the session or
/// storage layers). Pages keep their HTML error pages.
pub async fn problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if !req.path().starts_with(PREFIX) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    match next.call(req).await {
        Ok(res) => {
            let status = res.status();
            let is_problem = res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
            if status.as_u16() < 400 || is_problem {
                return Ok(res.map_into_boxed_body());
            }
            let doc = document(res.response().error(), status);
            let allow = res.headers().get(header::ALLOW).cloned();
            let (req, _) = res.into_parts();
            let mut response = problem_response(&doc);
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            Ok(ServiceResponse::new(req, response))
        }
        Err(e) => {
            let status = e.as_response_error().status_code();
            let doc = document(Some(&e), status);
            Err(actix_web::error::InternalError::from_response(e, problem_response(&doc)).into())
        }
    }
}

fn document(
    error: Option<&actix_web::Error>,
    status: actix_web::http::StatusCode,
) -> ProblemDocument {
    match error.and_then(|e| e.as_error::<AppError>()) {
        Some(app) => app.problem_document(),
        None => {
            let kind = ProblemKind::for_status(status);
            ProblemDocument {
                type_uri: kind.type_uri(),
                title: kind.title().to_string(),
                status: status.as_u16(),
                detail: match kind {
                    ProblemKind::PayloadTooLarge => {
                        format!("The request body is larger than {BODY_LIMIT} bytes.")
                    }
                    _ => kind.title().to_string(),
                },
                errors: None,
                blockers: None,
                request_id: crate::telemetry::current_request_id(),
            }
        }
    }
}

/// The answer for a request no route took: 405 with `Allow` when the path exists
/// for other methods, else 404 (a problem document under `/api/`, a page otherwise).
pub async fn unmatched(req: HttpRequest) -> HttpResponse {
    miss(&req)
}

/// 405 (with `Allow`) or 404 for a request no handler serves: fixed paths
/// (`/api/v1/tenants/batch`, `/tenants/bulk`) win over patterns (`…/tenants/{id}`).
pub fn miss(req: &HttpRequest) -> HttpResponse {
    let api = req.path().starts_with(PREFIX);
    let table = if api {
        routes()
    } else {
        crate::web::console_routes()
    };
    let methods = crate::web::routes::allowed_methods(&table, req.path());
    // A GET route answers HEAD too (`routes::method`), so HEAD misses like GET does.
    let asked = match *req.method() {
        actix_web::http::Method::HEAD => "GET",
        ref m => m.as_str(),
    };
    let error = if methods.is_empty() || methods.iter().any(|m| m == asked) {
        AppError::NotFound
    } else if api {
        AppError::problem(
            ProblemKind::MethodNotAllowed,
            format!("This resource answers {}.", methods.join(", ")),
        )
    } else if methods.iter().all(|m| m == "POST") {
        AppError::problem(
            ProblemKind::MethodNotAllowed,
            "This address is where a form is sent, not a page to open. \
             Go back to the form and send it again.",
        )
    } else {
        AppError::problem(
            ProblemKind::MethodNotAllowed,
            format!("This address answers {}.", methods.join(", ")),
        )
    };
    let mut response = if api {
        error.problem_response()
    } else {
        actix_web::ResponseError::error_response(&error)
    };
    if !matches!(error, AppError::NotFound) {
        if let Ok(v) = header::HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(header::ALLOW, v);
        }
    }
    response
}

pub use crate::db::transaction::in_transaction;

/// Registers the API's routes (outside the console's session and CSRF layers).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    for route in routes() {
        (route.register)(cfg);
    }
}

#[cfg(test)]
mod tests {
    use super::in_plain_words;

    /// What serde_json says of `json` read as `T`, without where it found it.
    fn serde_says<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        let e = serde_json::from_str::<T>(json).unwrap_err().to_string();
        e[..e.rfind(" at line ").unwrap_or(e.len())].to_string()
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        id: i64,
        on: bool,
        kind: Kind,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        DenyList,
        AllowList,
    }

    #[test]
    fn serdes_messages_read_as_plain_words() {
        let cases = [
            (
                r#"{"id": "x", "on": true, "kind": "deny_list"}"#,
                r#"Expected a whole number, not the string "x"."#,
            ),
            (
                r#"{"id": 1.5, "on": true, "kind": "deny_list"}"#,
                "Expected a whole number, not the number 1.5.",
            ),
            (
                r#"{"id": 1, "on": "yes", "kind": "deny_list"}"#,
                r#"Expected a boolean, not the string "yes"."#,
            ),
            (
                r#"{"id": 1, "on": true, "kind": "nope"}"#,
                r#"Unknown value "nope": use "deny_list" or "allow_list"."#,
            ),
            (
                r#"{"id": 1, "on": true, "kind": "deny_list", "x": 1}"#,
                r#"Unknown field "x": the fields are "id", "on", "kind"."#,
            ),
            (r#"{"id": 1, "on": true}"#, r#"Missing: send "kind"."#),
            (
                r#"{"id": 1, "id": 2, "on": true, "kind": "deny_list"}"#,
                r#""id" is sent twice: send it once."#,
            ),
        ];
        for (json, plain) in cases {
            let said = serde_says::<Body>(json);
            assert_eq!(in_plain_words(&said), plain, "{json}: {said}");
        }
        assert_eq!(
            in_plain_words("invalid type: integer `5`, expected a string"),
            "Expected a string, not the number 5."
        );
        assert_eq!(
            in_plain_words("invalid type: null, expected a sequence"),
            "Expected a list, not null."
        );
        assert_eq!(in_plain_words("something else"), "something else");
    }
}

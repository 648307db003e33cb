//! CSRF protection for every state-changing request of the console.
//!
//! The token lives in the server-side session; forms send it as `csrf_token`,
//! htmx sends it as the `X-CSRF-Token` header (set once on `<body hx-headers>`).
//! A request without the right token is refused before any handler runs.

use super::session_keys::CSRF;
use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use actix_web::HttpMessage;
use futures_util::StreamExt;

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "X-CSRF-Token";
/// Forms of the console are small; anything larger is refused before parsing.
const MAX_FORM_BYTES: usize = 256 * 1024;

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Constant-time comparison so the token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The JSON API authenticates with bearer tokens, which browsers never send by themselves.
    if is_safe(req.method()) || req.path().starts_with("/api/") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let expected = req.get_session().get::<String>(CSRF).ok().flatten();
    let mut provided = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if provided.is_none() && is_form {
        // Read the form once, take the token, and hand the same bytes to the handler.
        let mut payload = req.take_payload();
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > MAX_FORM_BYTES {
                return Ok(refuse(
                    req,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is too large.",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        provided = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k == FORM_FIELD)
                    .map(|(_, v)| v)
            });
        req.set_payload(actix_web::dev::Payload::from(body));
    }

    match (expected, provided) {
        (Some(e), Some(p)) if same(&e, &p) => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        _ => Ok(refuse(
            req,
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )),
    }
}

fn refuse(req: ServiceRequest, status: StatusCode, message: &str) -> ServiceResponse<BoxBody> {
    let response = crate::web::page::error_page(status, "Request refused", message);
    req.into_response(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn compares_tokens() {
        assert!(super::same("abc", "abc"));
        assert!(!super::same("abc", "abd"));
        assert!(!super::same("abc", "ab"));
    }
}

//! CSRF protection for every state-changing request of the console.
//!
//! Forms send the token (`auth::csrf`) as `csrf_token`, htmx sends it as the
//! `X-CSRF-Token` header (set once on `<body hx-headers>`). Anonymous forms get
//! the signed token as a cookie and echo it in the form (double submit). A request
//! without the right token is refused before any handler runs.

use crate::auth::csrf::{anonymous_age, issue_anonymous, same, ANONYMOUS_TTL_SECS};
use crate::auth::session_keys::{self, CSRF};
use crate::web::AppState;
use actix_session::{Session, SessionExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use actix_web::{web, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use secrecy::ExposeSecret;

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "X-CSRF-Token";
/// The cookie holding the anonymous token (the form field must repeat it).
pub const COOKIE: &str = "tenantry_csrf";
/// Forms of the console are small; anything larger is refused before parsing.
const MAX_FORM_BYTES: usize = 256 * 1024;

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// An anonymous token issued while handling this request: the guard sets its cookie.
struct Issued(String);

/// The token for the forms of this page: the session's when there is a session
/// (logged in), otherwise the browser's anonymous token, or a new one (its cookie
/// goes out with the response). No session row is created.
pub fn form_token(req: &HttpRequest, session: &Session, state: &AppState) -> String {
    if session.contains_key(CSRF) {
        return session_keys::csrf_token(session);
    }
    if let Some(Issued(t)) = req.extensions().get::<Issued>() {
        return t.clone();
    }
    let key = state.settings.secret_key.expose_secret().as_bytes();
    let now = state.clock.now();
    // Keep the browser's token while it has more than half its life left, so several
    // open tabs keep working; renew it before it runs out under an open form.
    if let Some(c) = req.cookie(COOKIE) {
        if anonymous_age(key, c.value(), now).is_some_and(|age| age < ANONYMOUS_TTL_SECS / 2) {
            return c.value().to_string();
        }
    }
    let token = issue_anonymous(key, now);
    req.extensions_mut().insert(Issued(token.clone()));
    token
}

fn anonymous_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(
            ANONYMOUS_TTL_SECS,
        ))
        .finish()
}

/// Sets the cookie of an anonymous token the handler issued.
fn with_issued_cookie(mut res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let issued = res
        .request()
        .extensions()
        .get::<Issued>()
        .map(|i| i.0.clone());
    if let Some(token) = issued {
        let secure = res
            .request()
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.settings.cookies_secure());
        // Adding a cookie only fails for a value that is not a valid header; ours is
        // base64url, digits and dots.
        let _ = res
            .response_mut()
            .add_cookie(&anonymous_cookie(token, secure));
    }
    res
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
            .map(ServiceResponse::map_into_boxed_body)
            .map(with_issued_cookie);
    }
    let expected = req.get_session().get::<String>(CSRF).ok().flatten();
    let mut provided = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_form = content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    // A file upload (the branding page's logo): its `csrf_token` part, read here
    // from the body, which is put back for the handler.
    let is_multipart = super::upload::is_multipart(content_type.as_deref());
    if provided.is_none() && is_multipart {
        let payload = req.take_payload();
        let upload = match super::upload::read_upload(payload).await {
            Ok(upload) => upload,
            Err(e) => {
                let (_, message) = e.public_message();
                return Ok(refuse(req, e.status(), &message).await);
            }
        };
        // The token is the form's first field: found in a body cut for its size
        // too, whose handler then refuses the file as too large.
        provided = super::upload::leading_parts(req.headers(), upload.body.clone())
            .await
            .into_iter()
            .find(|(name, _)| name == FORM_FIELD)
            .and_then(|(_, value)| String::from_utf8(value.to_vec()).ok());
        if upload.cut {
            req.extensions_mut().insert(super::upload::UploadCut);
        }
        req.set_payload(actix_web::dev::Payload::from(upload.body));
    }
    if provided.is_none() && content_type.is_some() && !is_form && !is_multipart {
        // A body the console cannot read (multipart, JSON): say so, rather than that
        // the form expired. It is refused either way.
        let e = super::form::read_form(content_type.as_deref(), b"").err();
        return Ok(refuse(req, StatusCode::BAD_REQUEST, &unreadable(e)).await);
    }
    if provided.is_none() && is_form {
        // Read the form once, take the token, and hand the same bytes to the handler.
        let mut payload = req.take_payload();
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > MAX_FORM_BYTES {
                return Ok(
                    refuse(req, StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").await,
                );
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        match super::form::read_form(content_type.as_deref(), &body) {
            Ok(pairs) => {
                provided = pairs
                    .into_iter()
                    .find(|(k, _)| k == FORM_FIELD)
                    .map(|(_, v)| v);
            }
            Err(e) => return Ok(refuse(req, StatusCode::BAD_REQUEST, &unreadable(Some(e))).await),
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }

    let genuine = match (expected, provided) {
        (Some(e), Some(p)) => same(&e, &p),
        // No session: the anonymous token, in the cookie and repeated by the form.
        (None, Some(p)) => {
            let key_now = req.app_data::<web::Data<AppState>>().map(|s| {
                let key = s.settings.secret_key.expose_secret().as_bytes().to_vec();
                (key, s.clock.now())
            });
            let cookie = req.cookie(COOKIE);
            match (key_now, cookie) {
                (Some((key, now)), Some(c)) => {
                    same(c.value(), &p) && anonymous_age(&key, &p, now).is_some()
                }
                _ => false,
            }
        }
        (_, None) => false,
    };
    if genuine {
        next.call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body)
            .map(with_issued_cookie)
    } else {
        Ok(refuse(
            req,
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        ).await)
    }
}

/// The words of a form `read_form` could not read.
fn unreadable(e: Option<crate::error::AppError>) -> String {
    e.map_or_else(
        || super::form::UNREADABLE_FORM.to_string(),
        |e| e.public_message().1,
    )
}

/// The refusal page; for a logged-in user in the console's frame (who is asking is
/// read as a page reads it: no extractor has run before this guard).
async fn refuse(
    req: ServiceRequest,
    status: StatusCode,
    message: &str,
) -> ServiceResponse<BoxBody> {
    use actix_web::FromRequest;
    let _ = crate::auth::CurrentUser::extract(req.request()).await;
    let response = super::page::error_page(status, "Request refused", message);
    req.into_response(response)
}

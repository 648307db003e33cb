//! Logging: `RUST_LOG` filters, default `info`; and the request log line, which never
//! carries a secret (an invitation link's token is a bearer credential until used).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Logger, Next};
use tracing::Instrument;

tokio::task_local! {
    /// The id of the request being served, for error pages and problem documents.
    static REQUEST_ID: String;
}

/// The header that carries a request's id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request this task serves, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An id a proxy sent that is safe to log and echo: short, letters, digits, `-`, `_`.
fn usable_id(v: &str) -> bool {
    (8..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Gives every request an id (the proxy's `X-Request-Id` when usable, a new one
/// otherwise): every log line of the request carries it in its span, error pages and
/// problem documents show it, and the response echoes it in `X-Request-Id`.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| usable_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let span = tracing::info_span!("request", request_id = %id);
    let mut res = REQUEST_ID
        .scope(id.clone(), next.call(req).instrument(span))
        .await?;
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&id) {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(REQUEST_ID_HEADER),
            value,
        );
    }
    Ok(res)
}

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Route parameters that hold a secret: the request log shows the parameter's name.
const SECRET_PARAMS: [&str; 1] = ["token"];

/// Query keys whose values are never logged (matched as parts of the lower-cased key).
const SECRET_KEYS: [&str; 7] = [
    "token",
    "secret",
    "password",
    "key",
    "code",
    "signature",
    "auth",
];

/// What a redacted part of a path or query reads as in the log.
const REDACTED: &str = "{redacted}";

/// Longest path or query logged; the rest is cut (a forged 5000-character link
/// should not flood the log).
const MAX_LOGGED: usize = 300;

/// The access log for every request: `addr "METHOD /path?query HTTP/x" status bytes
/// time`, with secrets in the path and query replaced (see [`request_line`]).
pub fn request_logger() -> Logger {
    Logger::new("%a \"%{request}xi\" %s %b %Dms %{x-request-id}o")
        .custom_request_replace("request", request_line)
}

/// `METHOD target VERSION` of a request as the access log shows it.
fn request_line(req: &ServiceRequest) -> String {
    // Resolved from the router's resource map, so it works before routing too.
    let pattern = req.match_pattern();
    let mut target = redact_path(pattern.as_deref(), req.path());
    let query = req.query_string();
    if !query.is_empty() {
        target.push('?');
        target.push_str(&redact_query(query));
    }
    format!("{} {} {:?}", req.method(), target, req.version())
}

/// A secret-looking segment or value: long and made only of URL-safe token
/// characters (tokens here are 43 base64url characters; ids, names and file names
/// are short or contain a dot).
fn looks_secret(s: &str) -> bool {
    s.len() >= 20
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'%' | b'='))
}

fn cut(s: &str) -> &str {
    match s.char_indices().nth(MAX_LOGGED) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The path as the log may show it. Where `pattern` (the matched route, e.g.
/// `/invitations/{token}`) names a secret parameter, the segment becomes the
/// parameter's name; any other segment that looks like a token becomes `{redacted}`
/// (this catches links to routes that did not match, e.g. a mistyped suffix).
pub fn redact_path(pattern: Option<&str>, path: &str) -> String {
    let pattern_segments: Option<Vec<&str>> = pattern
        .map(|p| p.split('/').collect::<Vec<_>>())
        .filter(|p| p.len() == path.split('/').count());
    let redacted: Vec<String> = path
        .split('/')
        .enumerate()
        .map(|(i, segment)| {
            let param = pattern_segments
                .as_ref()
                .and_then(|p| p.get(i))
                .and_then(|p| p.strip_prefix('{'))
                .and_then(|p| p.strip_suffix('}'));
            match param {
                Some(name) if SECRET_PARAMS.contains(&name) => format!("{{{name}}}"),
                _ if looks_secret(segment) => REDACTED.to_string(),
                _ => segment.to_string(),
            }
        })
        .collect();
    cut(&redacted.join("/")).to_string()
}

/// The query string as the log may show it: values of secret-sounding keys and
/// secret-looking values become `{redacted}`.
pub fn redact_query(query: &str) -> String {
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => {
                let lower = key.to_ascii_lowercase();
                if SECRET_KEYS.iter().any(|k| lower.contains(k)) || looks_secret(value) {
                    format!("{key}={REDACTED}")
                } else {
                    pair.to_string()
                }
            }
            None if looks_secret(pair) => REDACTED.to_string(),
            None => pair.to_string(),
        })
        .collect();
    cut(&pairs.join("&")).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "Zq3xY9_kLm-2VbN8cD4eF6gH1iJ0kLmNoPqRsTuVwXy";

    #[test]
    fn the_token_of_an_invitation_link_is_never_logged() {
        let path = format!("/invitations/{TOKEN}");
        assert_eq!(
            redact_path(Some("/invitations/{token}"), &path),
            "/invitations/{token}"
        );
        assert_eq!(
            redact_path(
                Some("/invitations/{token}/accept"),
                &format!("{path}/accept")
            ),
            "/invitations/{token}/accept"
        );
        // Whatever the pattern says, a short forged token is named, not shown.
        assert_eq!(
            redact_path(Some("/invitations/{token}"), "/invitations/x"),
            "/invitations/{token}"
        );
        // An unmatched path (404): the token-looking segment goes all the same.
        let unmatched = redact_path(None, &format!("{path}/bogus"));
        assert_eq!(unmatched, "/invitations/{redacted}/bogus");
    }

    #[test]
    fn ordinary_paths_stay_readable() {
        for (pattern, path) in [
            (
                Some("/tenants/{id}/users/{user_id}"),
                "/tenants/12/users/345",
            ),
            (None, "/static/js/htmx.min.js"),
            (
                Some("/profile/tokens/{token_id}/revoke"),
                "/profile/tokens/9/revoke",
            ),
            (None, "/"),
            (
                Some("/tenants/{id}/invitations/new"),
                "/tenants/3/invitations/new",
            ),
        ] {
            assert_eq!(redact_path(pattern, path), path);
        }
    }

    #[test]
    fn long_paths_are_cut() {
        let path = format!("/invitations/{}", "é".repeat(5000));
        assert!(redact_path(None, &path).chars().count() <= MAX_LOGGED);
    }

    #[test]
    fn secret_query_values_are_redacted() {
        assert_eq!(redact_query("q=alice&page=2"), "q=alice&page=2");
        assert_eq!(
            redact_query(&format!("token={TOKEN}&page=2")),
            "token={redacted}&page=2"
        );
        assert_eq!(redact_query("api_key=abc"), "api_key={redacted}");
        assert_eq!(redact_query("Password=hunter2"), "Password={redacted}");
        assert_eq!(redact_query(&format!("next={TOKEN}")), "next={redacted}");
        assert_eq!(redact_query(TOKEN), "{redacted}");
        assert_eq!(redact_query("flag"), "flag");
    }
}

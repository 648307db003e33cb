//! CSRF tokens. Logged in, the token lives in the server-side session (see
//! `session_keys`); anonymous forms (login, accepting an invitation) get a signed,
//! expiring token instead, so showing a form to a stranger writes nothing to the
//! database. The middleware that checks them is `web::csrf`.

use super::signed;
use super::tokens::random_token;
use chrono::{DateTime, Utc};

/// How long an anonymous token is accepted after it was issued.
pub const ANONYMOUS_TTL_SECS: i64 = 12 * 3600;
/// Tolerated clock difference between the app processes of one installation.
const CLOCK_SKEW_SECS: i64 = 60;
const PURPOSE: &str = "csrf";

/// Constant-time comparison so the token cannot be guessed byte by byte.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new anonymous token issued at `at`: a random nonce and the time, signed.
pub fn issue_anonymous(key: &[u8], at: DateTime<Utc>) -> String {
    let nonce = random_token();
    signed::sign(key, PURPOSE, &format!("{nonce}.{}", at.timestamp()))
}

/// Seconds since an anonymous token was issued, if it is genuine and not expired.
pub fn anonymous_age(key: &[u8], token: &str, now: DateTime<Utc>) -> Option<i64> {
    let payload = signed::verify(key, PURPOSE, token)?;
    let (_, issued) = payload.rsplit_once('.')?;
    let age = now.timestamp() - issued.parse::<i64>().ok()?;
    (-CLOCK_SKEW_SECS..=ANONYMOUS_TTL_SECS)
        .contains(&age)
        .then_some(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_tokens() {
        assert!(super::same("abc", "abc"));
        assert!(!super::same("abc", "abd"));
        assert!(!super::same("abc", "ab"));
    }

    #[test]
    fn anonymous_tokens_expire() {
        let key = b"k".repeat(64);
        let now = Utc::now();
        let secs = chrono::Duration::seconds;
        let fresh = issue_anonymous(&key, now);
        assert_eq!(anonymous_age(&key, &fresh, now), Some(0));
        assert_ne!(fresh, issue_anonymous(&key, now), "a new nonce every time");
        let old = issue_anonymous(&key, now - secs(ANONYMOUS_TTL_SECS));
        assert!(anonymous_age(&key, &old, now).is_some(), "valid to the end");
        let expired = issue_anonymous(&key, now - secs(ANONYMOUS_TTL_SECS + 1));
        assert_eq!(anonymous_age(&key, &expired, now), None);
        let future = issue_anonymous(&key, now + secs(CLOCK_SKEW_SECS + 1));
        assert_eq!(anonymous_age(&key, &future, now), None);
        assert_eq!(anonymous_age(&b"x".repeat(64), &fresh, now), None);
        // A token signed for another purpose is not a CSRF token.
        let device = signed::sign(&key, "device", &format!("n.{}", now.timestamp()));
        assert_eq!(anonymous_age(&key, &device, now), None);
    }
}

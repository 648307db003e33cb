//! Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"):
//! a browser that once logged in to an account gets a signed cookie naming that
//! account. Its login attempts for the account are counted per device, so a
//! stranger's failed guesses, which lock the account for unknown browsers, never
//! lock out the account's own user on their own browser.

use super::signed;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};

pub const COOKIE: &str = "tenantry_device";
/// A device cookie is accepted this long after the last login that (re)issued it.
pub const TTL_DAYS: i64 = 90;
/// Accounts one browser is remembered for (people share browsers, admins hold test accounts).
const MAX_ACCOUNTS: usize = 8;
const PURPOSE: &str = "device";

/// What a genuine, unexpired device cookie says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Random, names this browser in throttle counters.
    pub id: String,
    issued: i64,
    /// Users who logged in from this browser, most recent first.
    users: Vec<i64>,
}

impl Device {
    /// The request's device cookie, if genuine and not expired.
    pub fn from_request(req: &HttpRequest, key: &[u8], now: DateTime<Utc>) -> Option<Self> {
        Self::parse(req.cookie(COOKIE)?.value(), key, now)
    }

    fn parse(value: &str, key: &[u8], now: DateTime<Utc>) -> Option<Self> {
        let payload = signed::verify(key, PURPOSE, value)?;
        let mut parts = payload.split('.');
        let (id, issued, users) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || id.is_empty() {
            return None;
        }
        let issued: i64 = issued.parse().ok()?;
        let age = now.timestamp() - issued;
        if !(-60..=TTL_DAYS * 86_400).contains(&age) {
            return None;
        }
        let users = users
            .split('-')
            .map(str::parse)
            .collect::<Result<Vec<i64>, _>>()
            .ok()?;
        Some(Self {
            id: id.to_string(),
            issued,
            users,
        })
    }

    /// Did `user_id` log in from this browser?
    pub fn knows(&self, user_id: i64) -> bool {
        self.users.contains(&user_id)
    }

    /// The cookie after `user_id` logged in: the same device (or a new one), this
    /// user first, valid for another `TTL_DAYS`.
    pub fn after_login(previous: Option<Self>, user_id: i64, now: DateTime<Utc>) -> Self {
        let (id, mut users) = match previous {
            Some(d) => (d.id, d.users),
            None => (super::tokens::random_token(), Vec::new()),
        };
        users.retain(|u| *u != user_id);
        users.insert(0, user_id);
        users.truncate(MAX_ACCOUNTS);
        Self {
            id,
            issued: now.timestamp(),
            users,
        }
    }

    /// The signed cookie (HttpOnly; only ever read by the login form's POST).
    pub fn cookie(&self, key: &[u8], secure: bool) -> Cookie<'static> {
        let users: Vec<String> = self.users.iter().map(i64::to_string).collect();
        let payload = format!("{}.{}.{}", self.id, self.issued, users.join("-"));
        Cookie::build(COOKIE, signed::sign(key, PURPOSE, &payload))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(actix_web::cookie::time::Duration::days(TTL_DAYS))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(d: &Device, key: &[u8]) -> String {
        d.cookie(key, false).value().to_string()
    }

    #[test]
    fn remembers_accounts_and_expires() {
        let key = b"k".repeat(64);
        let now = Utc::now();
        let d = Device::after_login(None, 7, now);
        let parsed = Device::parse(&value(&d, &key), &key, now).unwrap();
        assert_eq!(parsed, d);
        assert!(parsed.knows(7) && !parsed.knows(8));

        // A second account on the same browser keeps the device and the first account.
        let d2 = Device::after_login(Some(parsed), 8, now);
        assert_eq!(d2.id, d.id);
        assert!(d2.knows(7) && d2.knows(8));
        let many = (0..20).fold(d2, |d, u| Device::after_login(Some(d), 100 + u, now));
        assert_eq!(many.users.len(), MAX_ACCOUNTS);
        assert!(many.knows(119) && !many.knows(7));

        let later = now + chrono::Duration::days(TTL_DAYS) + chrono::Duration::seconds(1);
        assert_eq!(Device::parse(&value(&d, &key), &key, later), None);
        assert_eq!(Device::parse(&value(&d, &key), &b"x".repeat(64), now), None);
        let forged = value(&d, &key).replacen(".7.", ".1.", 1);
        assert_eq!(Device::parse(&forged, &key, now), None);
        assert_eq!(Device::parse("", &key, now), None);
        // A CSRF token (same key, another purpose) is not a device cookie.
        let csrf = crate::auth::csrf::issue_anonymous(&key, now);
        assert_eq!(Device::parse(&csrf, &key, now), None);
    }
}

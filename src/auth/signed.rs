//! Values the server signs with its secret key and later takes back from a client
//! (anonymous CSRF tokens, device cookies), so they need no database row.
//!
//! A signed value is `<payload>.<mac>`: the MAC is HMAC-SHA256 over a purpose label
//! and the payload, so a value signed for one purpose is worthless for another.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(key: &[u8], purpose: &str) -> Option<Hmac<Sha256>> {
    // HMAC accepts keys of any length: `None` is unreachable.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(b"tenantry ");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    Some(mac)
}

/// `payload` signed for `purpose`. The payload must not be empty.
pub fn sign(key: &[u8], purpose: &str, payload: &str) -> String {
    let tag = match mac(key, purpose) {
        Some(mut m) => {
            m.update(payload.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
        }
        None => String::new(),
    };
    format!("{payload}.{tag}")
}

/// The payload of a value signed for `purpose` with `key`, or `None` when the value
/// was made up or changed. The MAC is compared in constant time.
pub fn verify<'a>(key: &[u8], purpose: &str, signed: &'a str) -> Option<&'a str> {
    let (payload, tag) = signed.rsplit_once('.')?;
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tag)
        .ok()?;
    let mut m = mac(key, purpose)?;
    m.update(payload.as_bytes());
    m.verify_slice(&tag).ok()?;
    (!payload.is_empty()).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let key = b"k".repeat(64);
        let v = sign(&key, "csrf", "abc.123");
        assert_eq!(verify(&key, "csrf", &v), Some("abc.123"));
        // Another purpose, another key, a changed payload or MAC: refused.
        assert_eq!(verify(&key, "device", &v), None);
        assert_eq!(verify(&b"x".repeat(64), "csrf", &v), None);
        assert_eq!(verify(&key, "csrf", &v.replacen("abc", "abd", 1)), None);
        let mut cut = v.clone();
        cut.pop();
        assert_eq!(verify(&key, "csrf", &cut), None);
        for junk in ["", ".", "abc", "abc.", ".xyz", "a.b.c", "\0.\0"] {
            assert_eq!(verify(&key, "csrf", junk), None, "{junk:?}");
        }
    }
}

//! The secrets the application hands out (API tokens, invitation links, CSRF and
//! device nonces): how they are made and the only form in which they are stored.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A random URL-safe token of 256 bits.
pub fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token: hex SHA-256. Tokens carry 256 random bits, so a fast
/// hash is enough (nothing to brute-force) and lookups stay one indexed query.
pub fn stored_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Every API token starts with this, so secret scanners and people recognise it.
pub const API_TOKEN_PREFIX: &str = "tnt_";

/// A new random API token (`tnt_` + 43 URL-safe characters).
pub fn generate_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_token())
}

/// Whether a credential last used at `last_used` should record this use at `now`:
/// at most once a minute, so that concurrent requests with one credential do not
/// all write its row.
pub fn use_worth_recording(
    last_used: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    last_used.is_none_or(|t| now - t > chrono::Duration::minutes(1))
}

/// Every ingestion key (usage posting only, `POST /api/v1/usage`) starts with this.
pub const INGESTION_KEY_PREFIX: &str = "tni_";

/// A new random ingestion key (`tni_` + 43 URL-safe characters).
pub fn generate_ingestion_key() -> String {
    format!("{INGESTION_KEY_PREFIX}{}", random_token())
}

/// The secret in an invitation link. 256 bits: HMAC-SHA256 of a random stored seed
/// under the server's secret key. Only its SHA-256 is stored; the seed alone (without
/// the key) yields nothing, so the database never holds a working link.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(***)")
    }
}

/// Characters of an encoded token: 32 bytes in unpadded URL-safe base64.
const TOKEN_LEN: usize = 43;

impl InvitationToken {
    /// The token for `seed` under `key`.
    pub fn derive(key: &[u8], seed: &str) -> Self {
        use base64::Engine;
        // HMAC accepts keys of any length; the error branch is unreachable.
        let bytes = match Hmac::<Sha256>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(b"tenantry invitation\0");
                mac.update(seed.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Sha256::digest([key, seed.as_bytes()].concat()).to_vec(),
        };
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as it appears in a link; anything that cannot be one is `None`
    /// (answered like an unknown token, without a database lookup).
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == TOKEN_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(raw.to_string()))
    }

    /// What is stored: the SHA-256 of the token, in hex.
    pub fn hash(&self) -> String {
        stored_hash(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_derived_parsed_and_hashed() {
        let a = InvitationToken::derive(b"key-one", "seed");
        assert_eq!(a.as_str().len(), TOKEN_LEN);
        assert_eq!(a, InvitationToken::derive(b"key-one", "seed"));
        assert_ne!(a, InvitationToken::derive(b"key-two", "seed"));
        assert_ne!(a, InvitationToken::derive(b"key-one", "seed2"));
        assert_eq!(InvitationToken::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.as_str());
        assert!(!format!("{a:?}").contains(a.as_str()));
        for bad in [
            "",
            "short",
            &"a".repeat(42),
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
            &format!("{}/", "a".repeat(42)),
            &format!("{}é", "a".repeat(41)),
        ] {
            assert!(InvitationToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (generate_api_token(), generate_api_token());
        assert_ne!(a, b);
        assert!(a.starts_with(API_TOKEN_PREFIX) && a.len() == API_TOKEN_PREFIX.len() + 43);
        assert_eq!(stored_hash(&a).len(), 64);
        assert_ne!(stored_hash(&a), a);
    }
}

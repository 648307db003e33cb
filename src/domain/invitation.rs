//! Invitations: what one offers, its link token, and its state.

use super::{GrantRole, Scope};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// What an invitation offers the person who accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// A plain user of the tenant holding this user role of the tenant.
    Role(i64),
    /// A grant on the tenant.
    Grant {
        role: GrantRole,
        scope: Scope,
        manage_subtenants: bool,
    },
}

impl Offer {
    /// A grant offer; "may manage sub-tenants" needs the sub-tenant scope.
    pub fn grant(role: GrantRole, scope: Scope, manage_subtenants: bool) -> Result<Self, String> {
        if manage_subtenants && scope != Scope::Subtree {
            return Err(
                "Managing sub-tenants needs the scope “this tenant and all its sub-tenants”."
                    .into(),
            );
        }
        Ok(Offer::Grant {
            role,
            scope,
            manage_subtenants,
        })
    }

    /// The offer in words, e.g. "Administrator of Acme and all its sub-tenants, may
    /// manage sub-tenants" or "a user of Acme with the role “Support”".
    pub fn describe(&self, tenant_name: &str, role_name: Option<&str>) -> String {
        match self {
            Offer::Role(_) => match role_name {
                Some(name) => format!("a user of {tenant_name} with the role “{name}”"),
                None => format!("a user of {tenant_name} (the role offered no longer exists)"),
            },
            Offer::Grant {
                role,
                scope,
                manage_subtenants,
            } => {
                let mut s = format!("{} of {tenant_name}", role.label());
                if *scope == Scope::Subtree {
                    s.push_str(" and all its sub-tenants");
                } else {
                    s.push_str(" (this tenant only)");
                }
                if *manage_subtenants {
                    s.push_str(", may manage sub-tenants");
                }
                s
            }
        }
    }
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
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an invitation stands. `Expired` is derived: pending past its expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Expired,
    Accepted,
    Revoked,
}

impl InvitationStatus {
    pub fn of(stored: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        match stored {
            "accepted" => Self::Accepted,
            "revoked" => Self::Revoked,
            _ if expires_at <= now => Self::Expired,
            _ => Self::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Expired => "expired",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
        }
    }

    /// Still stored as pending: it may be revoked or resent.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Expired)
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
    fn offers() {
        assert!(Offer::grant(GrantRole::Viewer, Scope::Tenant, true).is_err());
        let o = Offer::grant(GrantRole::Administrator, Scope::Subtree, true).unwrap();
        assert_eq!(
            o.describe("Acme", None),
            "Administrator of Acme and all its sub-tenants, may manage sub-tenants"
        );
        assert_eq!(
            Offer::Role(3).describe("Acme", Some("Support")),
            "a user of Acme with the role “Support”"
        );
    }

    #[test]
    fn statuses() {
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let earlier = now - chrono::Duration::hours(1);
        assert_eq!(
            InvitationStatus::of("pending", later, now),
            InvitationStatus::Pending
        );
        assert_eq!(
            InvitationStatus::of("pending", earlier, now),
            InvitationStatus::Expired
        );
        assert_eq!(
            InvitationStatus::of("accepted", earlier, now),
            InvitationStatus::Accepted
        );
        assert_eq!(
            InvitationStatus::of("revoked", later, now),
            InvitationStatus::Revoked
        );
        assert!(InvitationStatus::Expired.is_open());
        assert!(!InvitationStatus::Accepted.is_open());
    }
}

//! Invitations: what one offers and its state (the link token is `auth::tokens`).

use super::text_enum::text_enum;
use super::{GrantRole, Scope};
use chrono::{DateTime, Utc};

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

text_enum! {
    /// What is stored of where an invitation stands; expiry is not stored but
    /// derived (see [`InvitationStatus`]).
    pub enum InvitationState {
        Pending = "pending",
        Accepted = "accepted",
        Revoked = "revoked",
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
    pub fn of(stored: InvitationState, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        match stored {
            InvitationState::Accepted => Self::Accepted,
            InvitationState::Revoked => Self::Revoked,
            InvitationState::Pending if expires_at <= now => Self::Expired,
            InvitationState::Pending => Self::Pending,
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
        for (stored, expires_at, status) in [
            (InvitationState::Pending, later, InvitationStatus::Pending),
            (InvitationState::Pending, earlier, InvitationStatus::Expired),
            (
                InvitationState::Accepted,
                earlier,
                InvitationStatus::Accepted,
            ),
            (InvitationState::Revoked, later, InvitationStatus::Revoked),
        ] {
            assert_eq!(InvitationStatus::of(stored, expires_at, now), status);
        }
        assert!(InvitationStatus::Expired.is_open());
        assert!(!InvitationStatus::Accepted.is_open());
    }
}

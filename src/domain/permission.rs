//! Features, levels and the cascading grant roles of DESIGN §3.

use std::fmt;
use std::str::FromStr;

/// What a user may do with a feature. Ordered: `None < Read < Full`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    None,
    Read,
    Full,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Read => "read",
            Level::Full => "full",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Level::None),
            "read" => Ok(Level::Read),
            "full" => Ok(Level::Full),
            other => Err(format!("unknown level {other:?}")),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The console's features, each governed by one permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feature {
    Tenants,
    Users,
    Roles,
    Invitations,
    Policies,
    Resources,
    Rules,
    Usage,
    Settings,
    Audit,
}

impl Feature {
    pub const ALL: [Feature; 10] = [
        Feature::Tenants,
        Feature::Users,
        Feature::Roles,
        Feature::Invitations,
        Feature::Policies,
        Feature::Resources,
        Feature::Rules,
        Feature::Usage,
        Feature::Settings,
        Feature::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Tenants => "tenants",
            Feature::Users => "users",
            Feature::Roles => "roles",
            Feature::Invitations => "invitations",
            Feature::Policies => "policies",
            Feature::Resources => "resources",
            Feature::Rules => "rules",
            Feature::Usage => "usage",
            Feature::Settings => "settings",
            Feature::Audit => "audit",
        }
    }
}

/// The cascading tenant-management roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantRole {
    Viewer,
    Administrator,
    Owner,
}

impl GrantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantRole::Owner => "owner",
            GrantRole::Administrator => "administrator",
            GrantRole::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GrantRole::Owner => "Owner",
            GrantRole::Administrator => "Administrator",
            GrantRole::Viewer => "Viewer",
        }
    }

    /// The level a grant of this role gives on every feature, before the tenant cap.
    pub fn level(self) -> Level {
        match self {
            GrantRole::Owner | GrantRole::Administrator => Level::Full,
            GrantRole::Viewer => Level::Read,
        }
    }
}

impl FromStr for GrantRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "owner" => Ok(GrantRole::Owner),
            "administrator" => Ok(GrantRole::Administrator),
            "viewer" => Ok(GrantRole::Viewer),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// How far down the tree a grant reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The granted tenant only.
    Tenant,
    /// The granted tenant and all of its sub-tenants.
    Subtree,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Tenant => "tenant",
            Scope::Subtree => "subtree",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tenant" => Ok(Scope::Tenant),
            "subtree" => Ok(Scope::Subtree),
            other => Err(format!("unknown scope {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered() {
        assert!(Level::None < Level::Read && Level::Read < Level::Full);
        assert_eq!(Level::Full.min(Level::Read), Level::Read);
    }

    #[test]
    fn round_trips() {
        for f in Feature::ALL {
            assert!(!f.as_str().is_empty());
        }
        for l in [Level::None, Level::Read, Level::Full] {
            assert_eq!(l.as_str().parse::<Level>().unwrap(), l);
        }
        for r in [
            GrantRole::Owner,
            GrantRole::Administrator,
            GrantRole::Viewer,
        ] {
            assert_eq!(r.as_str().parse::<GrantRole>().unwrap(), r);
        }
        assert!("root".parse::<GrantRole>().is_err());
        assert_eq!("subtree".parse::<Scope>().unwrap(), Scope::Subtree);
    }
}

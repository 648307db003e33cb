//! Features, levels and the cascading grant roles of DESIGN §3.

use super::text_enum::text_enum;
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

text_enum! {
    /// The cascading tenant-management roles, weakest first.
    #[derive(PartialOrd, Ord)]
    pub enum GrantRole {
        Viewer = "viewer",
        Administrator = "administrator",
        Owner = "owner",
    }
}

impl GrantRole {
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

text_enum! {
    /// How far down the tree a grant reaches.
    pub enum Scope {
        /// The granted tenant only.
        Tenant = "tenant",
        /// The granted tenant and all of its sub-tenants.
        Subtree = "subtree",
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

/// A feature -> level map: a user role or a tenant role. Missing features are `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permissions([Level; 10]);

impl Permissions {
    pub fn none() -> Self {
        Self([Level::None; 10])
    }

    pub fn all(level: Level) -> Self {
        Self([level; 10])
    }

    fn index(feature: Feature) -> usize {
        Feature::ALL.iter().position(|f| *f == feature).unwrap_or(0)
    }

    pub fn get(&self, feature: Feature) -> Level {
        self.0[Self::index(feature)]
    }

    pub fn set(&mut self, feature: Feature, level: Level) {
        self.0[Self::index(feature)] = level;
    }

    /// Each feature at the lower of the two levels (a cap applied).
    pub fn min(&self, other: &Permissions) -> Permissions {
        let mut out = self.clone();
        for f in Feature::ALL {
            out.set(f, self.get(f).min(other.get(f)));
        }
        out
    }

    /// Does any feature exceed `limit`?
    pub fn exceeds(&self, limit: &Permissions) -> Vec<Feature> {
        Feature::ALL
            .into_iter()
            .filter(|f| self.get(*f) > limit.get(*f))
            .collect()
    }

    /// Reads the stored JSON object; unknown keys and values are ignored (read as none).
    pub fn from_json(value: &serde_json::Value) -> Self {
        let mut p = Self::none();
        if let Some(map) = value.as_object() {
            for f in Feature::ALL {
                if let Some(level) = map
                    .get(f.as_str())
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.parse().ok())
                {
                    p.set(f, level);
                }
            }
        }
        p
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            Feature::ALL
                .into_iter()
                .map(|f| {
                    (
                        f.as_str().to_string(),
                        serde_json::Value::String(self.get(f).as_str().into()),
                    )
                })
                .collect(),
        )
    }

    /// Parses `perm_<feature>` form fields; every feature must be present and valid.
    pub fn from_form(
        fields: &std::collections::HashMap<String, String>,
    ) -> Result<Self, Vec<Feature>> {
        let mut p = Self::none();
        let mut bad = Vec::new();
        for f in Feature::ALL {
            match fields
                .get(&format!("perm_{}", f.as_str()))
                .map(|v| v.parse::<Level>())
            {
                Some(Ok(level)) => p.set(f, level),
                _ => bad.push(f),
            }
        }
        if bad.is_empty() {
            Ok(p)
        } else {
            Err(bad)
        }
    }
}

impl Feature {
    pub fn label(self) -> &'static str {
        match self {
            Feature::Tenants => "Tenants",
            Feature::Users => "Users",
            Feature::Roles => "Roles",
            Feature::Invitations => "Invitations",
            Feature::Policies => "Policies",
            Feature::Resources => "Resources",
            Feature::Rules => "Rules",
            Feature::Usage => "Usage",
            Feature::Settings => "Settings",
            Feature::Audit => "Audit",
        }
    }
}

#[cfg(test)]
mod permissions_tests {
    use super::*;

    #[test]
    fn json_round_trip_and_cap() {
        let mut p = Permissions::none();
        p.set(Feature::Users, Level::Full);
        p.set(Feature::Audit, Level::Read);
        assert_eq!(Permissions::from_json(&p.to_json()), p);
        let cap = Permissions::all(Level::Read);
        let capped = p.min(&cap);
        assert_eq!(capped.get(Feature::Users), Level::Read);
        assert_eq!(capped.get(Feature::Audit), Level::Read);
        assert_eq!(capped.get(Feature::Tenants), Level::None);
        assert_eq!(p.exceeds(&cap), vec![Feature::Users]);
        let junk = serde_json::json!({"users": "root", "tenants": 5, "nope": "full"});
        assert_eq!(Permissions::from_json(&junk), Permissions::none());
    }

    #[test]
    fn form_needs_every_feature() {
        let mut fields: std::collections::HashMap<String, String> = Feature::ALL
            .iter()
            .map(|f| (format!("perm_{}", f.as_str()), "read".to_string()))
            .collect();
        assert_eq!(
            Permissions::from_form(&fields).unwrap(),
            Permissions::all(Level::Read)
        );
        fields.insert("perm_users".into(), "admin".into());
        fields.remove("perm_audit");
        assert_eq!(
            Permissions::from_form(&fields).unwrap_err(),
            vec![Feature::Users, Feature::Audit]
        );
    }
}

//! The role form shared by user roles, templates and tenant roles: a name and a
//! feature × level matrix (`perm_<feature>` = none | read | full), one radio per cell.

use crate::domain::{Feature, Level, Permissions, RoleName};
use crate::error::FieldErrors;
use std::collections::HashMap;

/// One row of the matrix editor.
pub struct MatrixRow {
    pub field: String,
    pub label: &'static str,
    pub level: &'static str,
}

pub fn matrix(permissions: &Permissions) -> Vec<MatrixRow> {
    Feature::ALL
        .into_iter()
        .map(|f| MatrixRow {
            field: format!("perm_{}", f.as_str()),
            label: f.label(),
            level: permissions.get(f).as_str(),
        })
        .collect()
}

/// The level of each feature, in the order of `Feature::ALL` (a row of a roles table).
pub fn levels(permissions: &Permissions) -> Vec<&'static str> {
    Feature::ALL
        .iter()
        .map(|f| permissions.get(*f).as_str())
        .collect()
}

/// The features' names, the header of a roles table.
pub fn feature_labels() -> Vec<&'static str> {
    Feature::ALL.iter().map(|f| f.label()).collect()
}

/// The submitted form, kept as sent so it can be re-rendered.
#[derive(Clone, Debug, Default)]
pub struct RoleInput {
    pub name: String,
    pub multi_tenant: bool,
    pub fields: HashMap<String, String>,
}

impl RoleInput {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let fields: HashMap<String, String> = pairs.into_iter().collect();
        Self {
            name: fields.get("name").cloned().unwrap_or_default(),
            multi_tenant: crate::web::form::checked(&fields.get("multi_tenant").cloned()),
            fields,
        }
    }

    /// The matrix as submitted (unknown values shown as none).
    pub fn permissions_lenient(&self) -> Permissions {
        let mut p = Permissions::none();
        for f in Feature::ALL {
            if let Some(Ok(l)) = self
                .fields
                .get(&format!("perm_{}", f.as_str()))
                .map(|v| v.parse::<Level>())
            {
                p.set(f, l);
            }
        }
        p
    }

    pub fn validate(&self) -> Result<(RoleName, Permissions), FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = RoleName::parse(&self.name)
            .map_err(|e| errors.insert("name", e))
            .ok();
        let perms = Permissions::from_form(&self.fields)
            .map_err(|bad| {
                let names: Vec<&str> = bad.iter().map(|f| f.label()).collect();
                errors.insert(
                    "permissions",
                    format!("Choose none, read or full for: {}.", names.join(", ")),
                )
            })
            .ok();
        match (name, perms) {
            (Some(n), Some(p)) if errors.is_empty() => Ok((n, p)),
            _ => Err(errors),
        }
    }
}

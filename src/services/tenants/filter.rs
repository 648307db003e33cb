//! "The tenants this filter selects": the query parameters of the Tenants page and of
//! `GET /api/v1/tenants` (`q`, `status`, `kind`, `parent`, `within`, `label`) turned
//! into one [`TenantFilter`] by one function, [`parse_filter`], so that the page, the
//! API and a later bulk action on "all N matching" select the same set.
//!
//! `label` is one label per request (the tenants that have it); `parent` selects
//! direct children, `within` every descendant (not the tenant itself). A `parent` or
//! `within` the caller may not see is answered exactly as one that does not exist
//! ([`resolve`]: `AppError::NotFound`).

use crate::auth::{authz, Principal};
use crate::db::models::tenant::TenantFilter;
use crate::db::models::Tenant;
use crate::domain::label::Label;
use crate::domain::SearchText;
use crate::error::{AppError, FieldErrors};
use diesel_async::AsyncPgConnection;

/// The filter's query parameters as sent; empty for absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct FilterText<'a> {
    pub q: &'a str,
    pub status: &'a str,
    pub kind: &'a str,
    pub parent: &'a str,
    pub within: &'a str,
    pub label: &'a str,
}

/// A parsed filter: the filter itself and the tenant whose descendants it lists
/// (`None`: the caller's own context).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterSpec {
    pub filter: TenantFilter,
    pub within: Option<i64>,
}

impl FilterSpec {
    /// Whether anything narrows the list.
    pub fn is_empty(&self) -> bool {
        self == &FilterSpec::default()
    }
}

/// Parses the filter's parameters, or every field error at once.
pub fn parse_filter(text: FilterText<'_>) -> Result<FilterSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let q = SearchText::parse(text.q).unwrap_or_else(|e| {
        errors.insert("q", e.message());
        SearchText::default()
    });
    let enabled = match text.status.trim() {
        "" => None,
        "enabled" => Some(true),
        "disabled" => Some(false),
        _ => {
            errors.insert("status", "Status is “enabled” or “disabled”.".into());
            None
        }
    };
    let reseller = match text.kind.trim() {
        "" => None,
        "reseller" => Some(true),
        "customer" => Some(false),
        _ => {
            errors.insert("kind", "Kind is “reseller” or “customer”.".into());
            None
        }
    };
    let mut id = |field: &'static str, raw: &str| match raw.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                errors.insert(field, format!("“{raw}” is not a tenant id."));
                None
            }
        },
    };
    let parent = id("parent", text.parent);
    let within = id("within", text.within);
    let labels = match text.label.trim() {
        "" => Vec::new(),
        raw => match Label::parse(raw) {
            Ok(label) => vec![label.into_inner()],
            Err(e) => {
                errors.insert("label", e);
                Vec::new()
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(FilterSpec {
        filter: TenantFilter {
            name: Some(q.into_inner()).filter(|q| !q.is_empty()),
            enabled,
            reseller,
            parent,
            labels,
        },
        within,
    })
}

/// The tenants a filter names, read as `p` may see them.
#[derive(Clone, Debug, Default)]
pub struct Named {
    pub parent: Option<Tenant>,
    pub within: Option<Tenant>,
}

/// Reads the `parent` and `within` tenants of `spec` as `p` may see them, or a field
/// error for each that does not exist or that `p` may not see, alike (the API answers
/// them 404, the Tenants page shows the message).
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    spec: &FilterSpec,
) -> Result<Result<Named, FieldErrors>, AppError> {
    let mut named = Named::default();
    let mut errors = FieldErrors::new();
    for (field, id) in [("parent", spec.filter.parent), ("within", spec.within)] {
        let Some(id) = id else { continue };
        match authz::visible_tenant(p, id, conn).await {
            Ok(t) if field == "parent" => named.parent = Some(t),
            Ok(t) => named.within = Some(t),
            Err(AppError::NotFound) => {
                errors.insert(field, format!("There is no tenant {id}."));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if errors.is_empty() {
        Ok(named)
    } else {
        Err(errors)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_parses_and_combines() {
        let spec = parse_filter(FilterText {
            q: "  acme ",
            status: "disabled",
            kind: "reseller",
            parent: "7",
            within: "3",
            label: "Tier:Gold",
        })
        .unwrap();
        assert_eq!(
            spec.filter,
            TenantFilter {
                name: Some("acme".into()),
                enabled: Some(false),
                reseller: Some(true),
                parent: Some(7),
                labels: vec!["tier:gold".into()],
            }
        );
        assert_eq!(spec.within, Some(3));
        assert!(parse_filter(FilterText::default()).unwrap().is_empty());
        let customers = parse_filter(FilterText {
            status: "enabled",
            kind: "customer",
            ..Default::default()
        })
        .unwrap();
        assert_eq!(customers.filter.enabled, Some(true));
        assert_eq!(customers.filter.reseller, Some(false));
    }

    #[test]
    fn invalid_values_are_field_errors_all_at_once() {
        let long = "x".repeat(101);
        let errors = parse_filter(FilterText {
            q: &long,
            status: "off",
            kind: "partner",
            parent: "abc",
            within: "-1",
            label: "not a label",
        })
        .unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["kind", "label", "parent", "q", "status", "within"]
        );
        // Search text is refused, never cut short or cleaned silently.
        let nul = parse_filter(FilterText {
            q: "ac\0me",
            ..Default::default()
        });
        assert!(nul.unwrap_err().contains_key("q"));
    }
}

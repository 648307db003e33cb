//! What every HTML form of the console reads the same way: checkboxes, ids in
//! paths and fields, and a single field error.

use crate::error::{AppError, FieldErrors};

/// Whether a checkbox was checked. A browser sends a checked box with its `value`
/// (`true` in every template) and an unchecked one not at all. Scripts posting forms
/// by hand send `false` or `0` and mean no: only a yes-word counts, so a stray value
/// never turns on something like a force delete.
pub fn checked(field: &Option<String>) -> bool {
    field.as_deref().is_some_and(|v| {
        ["true", "on", "1", "yes"]
            .iter()
            .any(|yes| v.trim().eq_ignore_ascii_case(yes))
    })
}

/// An id in a path: a number; anything else names nothing (404).
pub fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.trim().parse().map_err(|_| AppError::NotFound)
}

/// An id chosen in a form field: `None` when empty or not a number.
pub fn field_id(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// The field errors of a form that failed on one field.
pub fn field_error(field: &'static str, message: impl Into<String>) -> FieldErrors {
    FieldErrors::from([(field, message.into())])
}

/// A form post's outcome with its field errors apart: they re-render the form, and
/// any other error answers as it is.
pub fn field_errors<T>(result: Result<T, AppError>) -> Result<Result<T, FieldErrors>, AppError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(AppError::Validation(errors)) => Ok(Err(errors)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_yes_word_checks_a_box() {
        for value in ["true", "on", "1", "yes", "TRUE", " On "] {
            assert!(checked(&Some(value.into())), "{value:?}");
        }
        for value in ["false", "0", "", "off", "no", "maybe"] {
            assert!(!checked(&Some(value.into())), "{value:?}");
        }
        assert!(!checked(&None));
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id("42").ok(), Some(42));
        assert_eq!(parse_id(" 42 ").ok(), Some(42));
        for bad in ["", "abc", "4x", "99999999999999999999"] {
            assert!(matches!(parse_id(bad), Err(AppError::NotFound)), "{bad}");
            assert_eq!(field_id(bad), None);
        }
        assert_eq!(field_id(" 7"), Some(7));
    }

    #[test]
    fn field_errors_stand_apart() {
        let errors = field_errors::<()>(Err(AppError::field("name", "Enter a name.")));
        assert!(matches!(errors, Ok(Err(e)) if e["name"] == "Enter a name."));
        assert!(matches!(field_errors(Ok(1)), Ok(Ok(1))));
        assert!(matches!(
            field_errors::<()>(Err(AppError::Forbidden)),
            Err(AppError::Forbidden)
        ));
    }

    #[test]
    fn one_field_error() {
        let errors = field_error("confirm", "Type it.");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors["confirm"], "Type it.");
    }
}

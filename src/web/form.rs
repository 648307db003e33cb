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

/// A query string that cannot be read: 400, naming the parameter given twice (a
/// page reads each once) or saying what is wrong with the one that is.
pub fn query_refusal(e: &actix_web::error::QueryPayloadError) -> AppError {
    let why = match e {
        actix_web::error::QueryPayloadError::Deserialize(inner) => inner.to_string(),
        other => other.to_string(),
    };
    // serde's words: "duplicate field `q`".
    let twice = why
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.strip_suffix('`'));
    AppError::BadRequest(match twice {
        Some(name) => {
            format!("The query parameter “{name}” is given more than once: give it once.")
        }
        None => format!("The query string could not be read: {why}."),
    })
}

/// What a form that cannot be read is told (400).
pub const UNREADABLE_FORM: &str = "The form could not be read";

/// The fields of a form body (`application/x-www-form-urlencoded`, as every form of
/// the console is sent), or why it cannot be read: another content type (a multipart
/// body), or a name or value that is not UTF-8 once decoded. Stricter than
/// `serde_urlencoded`, which reads bytes that are not UTF-8 as U+FFFD.
pub fn read_form(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, AppError> {
    let refused = |why: &str| AppError::BadRequest(format!("{UNREADABLE_FORM}: {why}"));
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/x-www-form-urlencoded" {
        return Err(refused(
            "the console's forms are sent as application/x-www-form-urlencoded.",
        ));
    }
    let mut pairs = Vec::new();
    for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match part.iter().position(|b| *b == b'=') {
            Some(at) => (&part[..at], &part[at + 1..]),
            None => (part, &b""[..]),
        };
        let text = |raw: &[u8]| {
            String::from_utf8(percent_decode(raw))
                .map_err(|_| refused("it is not valid UTF-8 text."))
        };
        pairs.push((text(name)?, text(value)?));
    }
    Ok(pairs)
}

/// `+` as a space and `%XX` as its byte; a `%` not followed by two hex digits stays.
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                raw.get(i + 1).and_then(|b| hex(*b)),
                raw.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_read_strictly() {
        let form = Some("application/x-www-form-urlencoded; charset=UTF-8");
        let pairs = read_form(form, b"a=1&b=x+y%21&c&&d=%E2%9C%93&e=50%&f=%zz").unwrap();
        let expected: Vec<(String, String)> = [
            ("a", "1"),
            ("b", "x y!"),
            ("c", ""),
            ("d", "✓"),
            ("e", "50%"),
            ("f", "%zz"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(pairs, expected);
        for bad in [&b"a=%FF"[..], b"a=\xff", b"%C3=1"] {
            let e = read_form(form, bad).unwrap_err();
            assert!(e.public_message().1.starts_with(UNREADABLE_FORM), "{bad:?}");
        }
        for other in [
            Some("multipart/form-data; boundary=x"),
            Some("text/plain"),
            None,
        ] {
            assert!(read_form(other, b"a=1").is_err(), "{other:?}");
        }
    }

    #[test]
    fn a_parameter_given_twice_is_named() {
        #[derive(serde::Deserialize, Debug)]
        #[expect(dead_code)]
        struct Q {
            q: String,
        }
        let e = serde_urlencoded::from_str::<Q>("q=a&q=b").unwrap_err();
        let refusal =
            query_refusal(&actix_web::error::QueryPayloadError::Deserialize(e)).public_message();
        assert_eq!(
            refusal.1,
            "The query parameter “q” is given more than once: give it once."
        );
    }

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

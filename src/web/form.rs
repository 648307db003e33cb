//! What every HTML form of the console reads the same way: checkboxes, ids in
//! paths and fields, and a single field error.

use crate::domain::resources::FORM_LEVEL;
use crate::domain::SearchText;
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

/// What a checkbox that sent something else than its value is told.
pub const CHECKBOX: &str = "Tick the box or leave it unticked: it sends “true” or nothing.";

/// A checkbox of a form this console renders (`value="true"`), read strictly:
/// ticked (`true`) or left out (`false`). Any other value (`maybe`, and `false` or
/// `on`, which no browser sends for it) is refused rather than guessed at.
pub fn checkbox(field: &Option<String>) -> Result<bool, String> {
    match field.as_deref() {
        None => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(CHECKBOX.into()),
    }
}

/// A form's `parse` with its checkbox `name` read by [`checkbox`]: the checkbox's
/// error joins the other fields' (which are read as if it were unticked).
pub fn with_checkbox<T>(
    name: &'static str,
    raw: &Option<String>,
    parse: impl FnOnce(bool) -> Result<T, FieldErrors>,
) -> Result<T, FieldErrors> {
    match checkbox(raw) {
        Ok(on) => parse(on),
        Err(e) => {
            let mut errors = parse(false).err().unwrap_or_default();
            errors.insert(name, e);
            Err(errors)
        }
    }
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

/// A conflict (a limit reached: nothing of this kind fits, whatever the fields say)
/// as the form's general error (`domain::resources::FORM_LEVEL`, shown above the
/// fields, the form kept); any other error as it is.
pub fn general_error(e: AppError) -> AppError {
    match e {
        AppError::Conflict(message) => {
            AppError::Validation(FieldErrors::from([(FORM_LEVEL, message)]))
        }
        e => e,
    }
}

/// As [`field_errors`], with a conflict as the form's general error ([`general_error`]).
pub fn form_errors<T>(result: Result<T, AppError>) -> Result<Result<T, FieldErrors>, AppError> {
    field_errors(result.map_err(general_error))
}

/// Whether `errors` hold a field's error (not only the form's general one).
pub fn any_field_error(errors: &FieldErrors) -> bool {
    errors.keys().any(|k| *k != FORM_LEVEL)
}

/// A query parameter that cannot be taken: 400, naming it and saying what it takes
/// (`expects` follows the name: "must be a whole number"). Every refusal of a query
/// string says it this way, whether `extract::Query` could not read it or a handler
/// refused its value.
pub fn bad_param(name: &str, expects: &str) -> AppError {
    AppError::BadRequest(format!("The query parameter “{name}” {expects}."))
}

/// A tenant id in a query parameter (`?parent=`, `?within=`): `None` when empty,
/// else a positive whole number, or a 400 naming the parameter. (In a path a
/// malformed id is 404, `parse_id`; in a form field, that field's error.)
pub fn query_id(name: &str, raw: &str) -> Result<Option<i64>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        raw => raw
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| bad_param(name, "must be a tenant id")),
    }
}

/// The highest page number a list's `page` takes (a link never goes further).
pub const PAGE_MAX: i64 = 1_000_000;

/// A list page's `page`: 1 when empty (a GET form sends its empty fields, meaning
/// the default), else a whole number from 1 to [`PAGE_MAX`], or a 400 naming it.
pub fn page_param(raw: &str) -> Result<i64, AppError> {
    count_param("page", raw, 1, PAGE_MAX)
}

/// One page of a list as shown: its rows, how many rows the list has, the page's
/// number and how many pages there are.
#[derive(Clone, Debug)]
pub struct Paged<R> {
    pub rows: Vec<R>,
    pub total: i64,
    pub page_no: i64,
    pub pages: i64,
}

/// The page `page` (the raw parameter: [`page_param`], 400 for one no link sends)
/// of a list of `per_page` rows a page, `load(n)` giving page `n`'s rows and the
/// list's total. A page past the end (an old link, a list that has fewer rows now)
/// shows the last page, numbered as such, as its links do — never "21 policies"
/// over an empty table. Every console list pages this way (the Tenants list too).
pub async fn paged<R>(
    page: &str,
    per_page: i64,
    mut load: impl AsyncFnMut(i64) -> Result<(i64, Vec<R>), AppError>,
) -> Result<Paged<R>, AppError> {
    let pages = |total: i64| ((total + per_page - 1) / per_page).max(1);
    let mut page_no = page_param(page)?;
    let (mut total, mut rows) = load(page_no).await?;
    if page_no > pages(total) {
        page_no = pages(total);
        (total, rows) = load(page_no).await?;
    }
    Ok(Paged {
        rows,
        total,
        page_no,
        pages: pages(total),
    })
}

/// A whole-number parameter of a list (`page`, `per_page`): `default` when empty,
/// else a number from 1 to `max`, or the 400 saying so (the API's words for `limit`).
pub fn count_param(name: &str, raw: &str, default: i64, max: i64) -> Result<i64, AppError> {
    match raw.trim() {
        "" => Ok(default),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| bad_param(name, &format!("must be a whole number from 1 to {max}"))),
    }
}

/// A list page's `dir`: ascending when empty, else `asc` or `desc` (true: descending).
pub fn dir_param(raw: &str) -> Result<bool, AppError> {
    one_of("dir", raw, &[("asc", false), ("desc", true)]).map(|d| d.unwrap_or(false))
}

/// A parameter that takes one of `values` (as (word, meaning)): `None` when empty,
/// else its meaning, or a 400 listing the words it takes (serde's wording).
pub fn one_of<T: Copy>(name: &str, raw: &str, values: &[(&str, T)]) -> Result<Option<T>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .find(|(word, _)| *word == raw)
        .map(|(_, v)| Some(*v))
        .ok_or_else(|| {
            let words: Vec<String> = values.iter().map(|(w, _)| format!("“{w}”")).collect();
            bad_param(name, &format!("must be one of {}", words.join(", ")))
        })
}

/// Query parameters a filter refused (field → message), as one 400 naming each.
pub fn bad_params(errors: FieldErrors) -> AppError {
    let each: Vec<String> = errors
        .iter()
        .map(|(name, why)| format!("The query parameter “{name}” is not valid: {why}"))
        .collect();
    AppError::BadRequest(each.join(" "))
}

/// A filter's refused choices — `names`: parameters that take one of a fixed list of
/// values (a status, a kind, a scope, an action from the list), which only a request
/// no page makes gets wrong — as one 400 naming each; `Ok` when none of them is
/// among `errors` (the others, such as search text or dates, stay field errors).
pub fn refuse_choices(errors: &FieldErrors, names: &[&str]) -> Result<(), AppError> {
    let refused: FieldErrors = errors
        .iter()
        .filter(|(name, _)| names.contains(name))
        .map(|(name, why)| (*name, why.clone()))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(bad_params(refused))
    }
}

/// Reads a query string into `T` (`extract::Query`), or the refusal that names the
/// parameter that could not be read.
pub fn read_query<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        query_error(
            Some(path.as_str()).filter(|p| *p != "."),
            &e.inner().to_string(),
        )
    })
}

/// A query string that `actix_web::web::Query` could not read (its error handler,
/// for the handlers that still use it): the parameter is known only where serde's
/// words name it (one given twice, one unknown or missing).
pub fn query_refusal(e: &actix_web::error::QueryPayloadError) -> AppError {
    let why = match e {
        actix_web::error::QueryPayloadError::Deserialize(inner) => inner.to_string(),
        other => other.to_string(),
    };
    query_error(None, &why)
}

/// The refusal of a query string that serde could not read into its struct: `why`
/// is serde's message, `field` the parameter it failed on when known.
fn query_error(field: Option<&str>, why: &str) -> AppError {
    // The first name in backquotes after `prefix`: serde names the parameter itself
    // where no path leads to it (`duplicate field `q``).
    let named = |prefix: &str| why.strip_prefix(prefix)?.split('`').next();
    if let Some(name) = named("duplicate field `") {
        return bad_param(name, "is given more than once: give it once");
    }
    if let Some(name) = named("unknown field `") {
        let known = quoted_after(why, "expected");
        return bad_param(
            name,
            &if known.is_empty() {
                "is not known here".to_string()
            } else {
                format!("is not known here (known: {})", known.join(", "))
            },
        );
    }
    if let Some(name) = named("missing field `") {
        return bad_param(name, "is required");
    }
    match field {
        Some(name) => bad_param(name, &expects(why)),
        None => AppError::BadRequest(format!("The query string could not be read: {why}.")),
    }
}

/// What a parameter must be, from the words of the parser that refused its value.
fn expects(why: &str) -> String {
    let int = ["invalid digit", "cannot parse integer"];
    if int.iter().any(|w| why.contains(w)) {
        return "must be a whole number".into();
    }
    if why.contains("number too large") || why.contains("number too small") {
        return "must be a whole number (this one is out of range)".into();
    }
    if why.contains("float") {
        return "must be a number".into();
    }
    if why.contains("`true` or `false`") {
        return "must be true or false".into();
    }
    if why.starts_with("unknown variant") {
        let values = quoted_after(why, "expected");
        return match values.as_slice() {
            [] => "takes no value here".into(),
            [one] => format!("must be {one}"),
            many => format!("must be one of {}", many.join(", ")),
        };
    }
    format!("cannot be read: {why}")
}

/// The names serde lists in backquotes after `word`, in quotation marks.
fn quoted_after(why: &str, word: &str) -> Vec<String> {
    why.split_once(word)
        .map(|(_, list)| {
            list.split('`')
                .skip(1)
                .step_by(2)
                .map(|n| format!("“{n}”"))
                .collect()
        })
        .unwrap_or_default()
}

/// A search box as a page reads it (the lists, the pickers, the switcher): the text
/// to search for, the text to show again in the box, and the message when it is
/// refused (`SearchText`'s rule) — then nothing is searched, and a whole page
/// answers 422 (`status`).
#[derive(Clone, Debug, Default)]
pub struct SearchBox {
    pub text: SearchText,
    pub shown: String,
    pub error: Option<String>,
}

impl SearchBox {
    pub fn read(raw: &str) -> Self {
        match SearchText::parse(raw) {
            Ok(text) => SearchBox {
                shown: text.as_str().to_string(),
                text,
                error: None,
            },
            Err(e) => SearchBox {
                text: SearchText::default(),
                shown: SearchText::shown(raw),
                error: Some(e.message()),
            },
        }
    }

    /// What to search for: `None` when there is nothing to search (empty or refused).
    pub fn query(&self) -> Option<&str> {
        Some(self.text.as_str()).filter(|t| !t.is_empty())
    }

    /// A whole page's status: 422 when the text was refused.
    pub fn status(&self) -> actix_web::http::StatusCode {
        if self.error.is_some() {
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        } else {
            actix_web::http::StatusCode::OK
        }
    }
}

/// No query parameters: any is refused (400 naming it), as the lists refuse an
/// unknown one.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// A form field that takes one value, sent more than once (400, as a serde form
/// refuses it).
pub fn given_twice(name: &str) -> AppError {
    AppError::BadRequest(format!(
        "{UNREADABLE_FORM}: duplicate field `{name}`: give it once."
    ))
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

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(rename_all = "lowercase")]
    enum Status {
        #[default]
        Enabled,
        Disabled,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code)]
    struct Params {
        q: Option<String>,
        limit: Option<i64>,
        status: Option<Status>,
        #[serde(default)]
        force: bool,
        ratio: Option<f64>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[expect(dead_code)]
    struct Required {
        tenant: i64,
    }

    /// The message `raw` is refused with.
    fn refusal<T: serde::de::DeserializeOwned + std::fmt::Debug>(raw: &str) -> String {
        read_query::<T>(raw).unwrap_err().public_message().1
    }

    #[test]
    fn every_refusal_of_a_query_string_names_the_parameter_and_what_it_takes() {
        for (raw, message) in [
            ("limit=abc", "The query parameter “limit” must be a whole number."),
            ("limit=", "The query parameter “limit” must be a whole number."),
            ("q=x&limit=1.5", "The query parameter “limit” must be a whole number."),
            (
                "limit=99999999999999999999",
                "The query parameter “limit” must be a whole number (this one is out of range).",
            ),
            ("force=yes", "The query parameter “force” must be true or false."),
            ("ratio=half", "The query parameter “ratio” must be a number."),
            (
                "status=on",
                "The query parameter “status” must be one of “enabled”, “disabled”.",
            ),
            (
                "limit=1&limit=2",
                "The query parameter “limit” is given more than once: give it once.",
            ),
            (
                "subtree=true",
                "The query parameter “subtree” is not known here (known: “q”, “limit”, “status”, “force”, “ratio”).",
            ),
        ] {
            assert_eq!(refusal::<Params>(raw), message, "{raw}");
        }
        assert_eq!(
            refusal::<Required>(""),
            "The query parameter “tenant” is required."
        );
        let read: Params = read_query("q=a%20b&limit=5&status=disabled&force=true").unwrap();
        assert_eq!(read.q.as_deref(), Some("a b"));
        assert_eq!(read.limit, Some(5));
        assert!(matches!(read.status, Some(Status::Disabled)));
        assert!(read.force);
        assert!(read_query::<Params>("").is_ok());
    }

    #[test]
    fn a_search_box_searches_for_valid_text_only() {
        let ok = SearchBox::read("  acme ");
        assert_eq!((ok.query(), ok.shown.as_str()), (Some("acme"), "acme"));
        assert_eq!(ok.status(), actix_web::http::StatusCode::OK);
        assert_eq!(SearchBox::read(" ").query(), None);
        let long = "x".repeat(5000);
        let refused = SearchBox::read(&long);
        assert_eq!(refused.query(), None);
        assert_eq!(refused.shown, long);
        assert_eq!(
            refused.error.as_deref(),
            Some("The search text must be at most 100 characters long.")
        );
        assert_eq!(
            refused.status(),
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        );
        let nul = SearchBox::read("a\0b");
        assert_eq!((nul.query(), nul.shown.as_str()), (None, "ab"));
    }

    #[test]
    fn only_refused_choices_are_a_bad_request() {
        let errors: FieldErrors = [
            (
                "scope",
                "Choose this tenant or its whole subtree.".to_string(),
            ),
            ("to", "Enter a date as YYYY-MM-DD.".to_string()),
        ]
        .into();
        let refusal = refuse_choices(&errors, &["action", "scope"]).unwrap_err();
        assert_eq!(
            refusal.public_message().1,
            "The query parameter “scope” is not valid: Choose this tenant or its whole subtree."
        );
        assert!(refuse_choices(&errors, &["action"]).is_ok());
    }

    #[test]
    fn a_refused_value_reads_as_one() {
        assert_eq!(
            bad_param("cursor", "must be the next_cursor of an earlier page")
                .public_message()
                .1,
            "The query parameter “cursor” must be the next_cursor of an earlier page."
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

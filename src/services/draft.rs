//! Input whose conversion failed for some fields, still checked for the others
//! (issue #14): a form with `storage_gb=abc` and an unknown cloud shows both errors
//! at once, not the first alone and the second after it is fixed.
//!
//! A [`Draft`] holds the converted value with a stand-in for each field that could
//! not be converted, and those fields' errors. An operation runs its own checks on
//! it as on any input ([`Draft::open`], then [`Unread::merged`] on their result):
//! every check error is about one field, so a stand-in's own error is replaced by
//! the conversion's, and the others are reported with them. Nothing is written
//! while any error stands: the merged result is an error, before the write.

use crate::error::{AppError, FieldErrors};

/// Converted input, with stand-ins and their errors (see the module comment).
#[derive(Clone, Debug)]
pub struct Draft<T> {
    /// `None`: nothing to check (a conversion that gives no stand-ins).
    value: Option<T>,
    errors: FieldErrors,
}

impl<T> Draft<T> {
    /// `value`, with a stand-in for each field of `errors`.
    pub fn new(value: T, errors: FieldErrors) -> Self {
        Draft {
            value: Some(value),
            errors,
        }
    }

    /// The value and the conversion's errors to merge the checks' into; without a
    /// value to check, those errors (422).
    pub fn open(self) -> Result<(T, Unread), AppError> {
        match self.value {
            Some(value) => Ok((value, Unread(self.errors))),
            None => Err(AppError::Validation(self.errors)),
        }
    }

    /// The value, stand-ins included, to check before [`Draft::with_errors`].
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The value, unless the conversion or the operation's checks (`errors`) found
    /// errors: then all of them, the conversion's winning on its fields (422).
    pub fn with_errors(self, errors: FieldErrors) -> Result<T, AppError> {
        match self.value {
            Some(value) => Unread(self.errors).merged(refused(errors)).map(|()| value),
            None => {
                let mut all = errors;
                all.extend(self.errors);
                Err(AppError::Validation(all))
            }
        }
    }

    /// A field converted apart from the others (`None`: not sent, the value keeps what
    /// it has there): its value set with `set`, or its error added, the value keeping
    /// its stand-in for it.
    pub fn with_field<V>(
        mut self,
        field: &'static str,
        sent: Option<Result<V, String>>,
        set: impl FnOnce(&mut T, V),
    ) -> Self {
        match sent {
            None => {}
            Some(Ok(v)) => {
                if let Some(value) = self.value.as_mut() {
                    set(value, v);
                }
            }
            Some(Err(e)) => {
                self.errors.insert(field, e);
            }
        }
        self
    }

    /// More conversion errors, each field keeping its stand-in.
    pub fn refusing(mut self, errors: FieldErrors) -> Self {
        self.errors.extend(errors);
        self
    }

    /// The value when every field converted, else the conversion's errors.
    pub fn into_result(self) -> Result<T, FieldErrors> {
        match self.value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(self.errors),
        }
    }
}

impl<T> From<Result<T, FieldErrors>> for Draft<T> {
    fn from(parsed: Result<T, FieldErrors>) -> Self {
        match parsed {
            Ok(value) => Draft::new(value, FieldErrors::new()),
            Err(errors) => Draft {
                value: None,
                errors,
            },
        }
    }
}

/// The field errors of a draft's conversion, to report with its checks' errors.
#[derive(Clone, Debug, Default)]
#[must_use = "the conversion's errors must refuse the write"]
pub struct Unread(FieldErrors);

impl Unread {
    /// `checked` (an operation's checks of the draft's value) with the conversion's
    /// errors: any of them makes it an error, and on its field it replaces what the
    /// checks said of the stand-in. Other errors than field errors stay as they are.
    pub fn merged<R>(self, checked: Result<R, AppError>) -> Result<R, AppError> {
        match checked {
            Ok(value) if self.0.is_empty() => Ok(value),
            Ok(_) => Err(AppError::Validation(self.0)),
            Err(AppError::Validation(mut errors)) => {
                errors.extend(self.0);
                Err(AppError::Validation(errors))
            }
            Err(other) => Err(other),
        }
    }

    /// No conversion errors: the operation's checks alone decide.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These errors of checks made before the operation's own too (a form's choices
    /// refused up front), the conversion's winning on their fields.
    pub fn with(self, mut checks: FieldErrors) -> Self {
        checks.extend(self.0);
        Unread(checks)
    }

    /// `Ok` when the conversion had no errors, else them (for a write without checks
    /// of its own).
    pub fn refuse(self) -> Result<(), AppError> {
        self.merged(Ok(()))
    }
}

/// A check's field errors (none when it passed) to add others to; any other
/// refusal (a conflict, an outage) ends the operation as it is.
pub fn field_errors(checked: Result<(), AppError>) -> Result<FieldErrors, AppError> {
    match checked {
        Ok(()) => Ok(FieldErrors::new()),
        Err(AppError::Validation(errors)) => Ok(errors),
        Err(other) => Err(other),
    }
}

/// `errors` as a check's result.
pub fn refused(errors: FieldErrors) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(pairs: &[(&'static str, &str)]) -> FieldErrors {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn conversion_errors_are_reported_with_the_checks_and_win_on_their_field() {
        let draft = Draft::new(0, errors(&[("storage_gb", "Not a number.")]));
        let (value, unread) = draft.open().unwrap();
        assert_eq!(value, 0);
        let checked: Result<(), AppError> = Err(AppError::Validation(errors(&[
            ("cloud_id", "Unknown cloud."),
            ("storage_gb", "about the stand-in"),
        ])));
        let Err(AppError::Validation(all)) = unread.merged(checked) else {
            panic!("refused");
        };
        assert_eq!(
            all,
            errors(&[
                ("cloud_id", "Unknown cloud."),
                ("storage_gb", "Not a number.")
            ])
        );
    }

    #[test]
    fn checks_that_pass_do_not_let_a_conversion_error_through() {
        let (_, unread) = Draft::new((), errors(&[("name", "Empty.")]))
            .open()
            .unwrap();
        assert!(matches!(unread.merged(Ok(())), Err(AppError::Validation(e)) if e.len() == 1));
        let (_, clean) = Draft::from(Ok::<_, FieldErrors>(())).open().unwrap();
        assert!(clean.merged(Ok(5)).is_ok());
        let none = Draft::<()>::from(Err(errors(&[("name", "Empty.")])));
        assert!(none.open().is_err());
        let conflict = Unread(errors(&[("a", "b")])).merged::<()>(Err(AppError::Busy));
        assert!(matches!(conflict, Err(AppError::Busy)));
    }
}

//! A tenant's user limit (`max_users`): the most users its whole subtree may have,
//! or none.

use crate::domain::number::grouped;
use crate::domain::resources::{plan_clause, LimitOrigin};

/// The most a limit may be (the column is a 32-bit integer).
pub const MAX: i64 = i32::MAX as i64;

const MESSAGE: &str = "Enter a whole number of users (0 or more), or leave it empty for no limit.";
const NEGATIVE: &str = "The user limit cannot be negative: enter 0 or more, or leave it empty.";

/// A limit as typed in a form: empty is none; thousands separators are allowed.
pub fn parse(raw: &str) -> Result<Option<i32>, String> {
    let raw = raw.trim().replace(['_', ','], "");
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(n) => check(n).map(Some),
        Err(_) if raw.starts_with('-') && raw[1..].bytes().all(|b| b.is_ascii_digit()) => {
            Err(NEGATIVE.into())
        }
        // Digits too many for any number: over the most, not "no number".
        Err(_) if raw.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("The user limit is at most {MAX}."))
        }
        Err(_) => Err(MESSAGE.into()),
    }
}

/// A limit sent as a number (the API): 0 up to [`MAX`].
pub fn check(n: i64) -> Result<i32, String> {
    if n < 0 {
        Err(NEGATIVE.into())
    } else {
        i32::try_from(n).map_err(|_| format!("The user limit is at most {MAX}."))
    }
}

/// "Users 50 of 50 used in Acme": what a refused create is told, `place` naming
/// where the limit is set, `origin` (where it may be said) whether it is a plan's
/// ("…; limit: plan Basic.").
pub fn reached(used: i64, max: i32, place: &str, origin: Option<&LimitOrigin>) -> String {
    let (used, max) = (grouped(used), grouped(max));
    format!(
        "Users {used} of {max} used in {place}: no more users can be created here until \
         some are deleted or the limit is raised{}.",
        plan_clause(origin)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_or_none() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse(" 1,000 "), Ok(Some(1000)));
        assert_eq!(parse("0"), Ok(Some(0)));
        assert_eq!(parse("-1"), Err(NEGATIVE.into()));
        assert_eq!(parse("ten"), Err(MESSAGE.into()));
        assert!(parse("2147483648").is_err());
        assert_eq!(
            parse("99999999999999999999"),
            Err(format!("The user limit is at most {MAX}."))
        );
        assert_eq!(check(2_147_483_647), Ok(i32::MAX));
        assert_eq!(
            reached(50, 50, "Acme", Some(&LimitOrigin::Own)),
            "Users 50 of 50 used in Acme: no more users can be created here until some are \
             deleted or the limit is raised."
        );
        assert_eq!(
            reached(5, 5, "Acme", Some(&LimitOrigin::Plan("Basic".into()))),
            "Users 5 of 5 used in Acme: no more users can be created here until some are \
             deleted or the limit is raised; limit: plan Basic."
        );
    }
}

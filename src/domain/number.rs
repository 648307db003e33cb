//! Numbers as pages and mails write them: digits grouped by thousands ("500,000").
//! The one formatter; templates call it as `crate::domain::number::grouped(n)`.

/// A whole number to be grouped: `i64`, `i32`, or a reference to one (as a
/// template's bindings are).
pub trait Count {
    fn count(&self) -> i64;
}

impl Count for i64 {
    fn count(&self) -> i64 {
        *self
    }
}

impl Count for i32 {
    fn count(&self) -> i64 {
        i64::from(*self)
    }
}

impl Count for usize {
    fn count(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl<T: Count + ?Sized> Count for &T {
    fn count(&self) -> i64 {
        (**self).count()
    }
}

/// A count as the pages and mails show it: digits grouped by thousands.
pub fn grouped(n: impl Count) -> String {
    let n = n.count();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(-1234), "-1,234");
        // Templates pass references to references.
        let in_template: &&i64 = &&2_000_000;
        assert_eq!(grouped(in_template), "2,000,000");
        assert_eq!(grouped(50_000_i32), "50,000");
    }
}

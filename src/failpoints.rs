//! Failpoints for the crash tests of rule-set migrations (issue #13): with the
//! cargo feature `failpoints` (test builds only, `make test`), `fail_point!(name)`
//! kills the process on the spot (SIGKILL-like: `abort`, nothing is cleaned up)
//! when the environment variable `FAILPOINTS` lists `name` (comma-separated, each
//! `name=abort`, or `name=error` to fail the step with an error instead).
//! Without the feature it compiles to nothing.

/// What a failpoint does when reached: `None` passes.
#[cfg(feature = "failpoints")]
pub fn action(name: &str) -> Option<&'static str> {
    let list = std::env::var("FAILPOINTS").ok()?;
    list.split(',').find_map(|item| {
        let (n, a) = item
            .trim()
            .split_once('=')
            .unwrap_or((item.trim(), "abort"));
        (n == name).then_some(if a == "error" { "error" } else { "abort" })
    })
}

/// Kills the process (`abort`) or fails the step (`return Err(..)`) at `name`
/// when `FAILPOINTS` says so; nothing without the feature `failpoints`.
#[macro_export]
macro_rules! fail_point {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        match $crate::failpoints::action($name) {
            Some("abort") => {
                eprintln!("failpoint {}: aborting", $name);
                std::process::abort()
            }
            Some(_) => {
                return Err($crate::error::AppError::Unavailable(anyhow::anyhow!(
                    "failpoint {}",
                    $name
                ))
                .into())
            }
            None => {}
        }
    };
}

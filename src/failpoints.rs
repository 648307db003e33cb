//! Failpoints for the crash tests of rule-set migrations (issue #13): with the
//! cargo feature `failpoints` (test builds only: `make test`, `make lint`; never
//! the release binary of `make run`), `fail_point!(name)` acts when the
//! environment variable `FAILPOINTS` lists `name` (comma-separated `name=action`):
//!
//! - `abort`: the process dies on the spot (`std::process::abort`: like SIGKILL,
//!   nothing is cleaned up, open transactions die with their connections);
//! - `pause`: writes `failpoint <name>: paused` to stderr and blocks its thread
//!   for good, so a test can SIGKILL the process exactly there;
//! - `sleep(<ms>)`: waits that long, then goes on (a slow step: the heartbeat test);
//! - `error`: fails the step with an error instead.
//!
//! Without the feature every failpoint compiles to nothing. The names are listed
//! in docs/ARCHITECTURE.md ("Rule-set migrations: jobs, lease, failpoints").

/// What a failpoint does when reached.
#[cfg(feature = "failpoints")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Abort,
    Pause,
    Sleep(std::time::Duration),
    Error,
}

/// What the failpoint `name` does, from `FAILPOINTS`; `None` passes. An action
/// not understood aborts: a typo in a crash test must not pass silently.
#[cfg(feature = "failpoints")]
pub fn action(name: &str) -> Option<Action> {
    let list = std::env::var("FAILPOINTS").ok()?;
    list.split(',').find_map(|item| {
        let (n, a) = item
            .trim()
            .split_once('=')
            .unwrap_or((item.trim(), "abort"));
        (n == name).then(|| parse(a))
    })
}

#[cfg(feature = "failpoints")]
fn parse(a: &str) -> Action {
    match a {
        "pause" => Action::Pause,
        "error" => Action::Error,
        _ => a
            .strip_prefix("sleep(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|ms| ms.parse().ok())
            .map_or(Action::Abort, |ms| {
                Action::Sleep(std::time::Duration::from_millis(ms))
            }),
    }
}

/// `pause`: tells the test where the process stands, then never returns (the
/// test kills the process).
#[cfg(feature = "failpoints")]
pub fn pause(name: &str) -> ! {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "failpoint {name}: paused");
    let _ = err.flush();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// Acts at the failpoint `name` as `FAILPOINTS` says; nothing without the
/// feature `failpoints`. Only in async functions returning `Result<_, E>` with
/// `E: From<AppError>`.
#[macro_export]
macro_rules! fail_point {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        if let Some(action) = $crate::failpoints::action($name) {
            match action {
                $crate::failpoints::Action::Abort => {
                    eprintln!("failpoint {}: aborting", $name);
                    std::process::abort()
                }
                $crate::failpoints::Action::Pause => $crate::failpoints::pause($name),
                $crate::failpoints::Action::Sleep(d) => {
                    eprintln!("failpoint {}: sleeping {d:?}", $name);
                    tokio::time::sleep(d).await
                }
                $crate::failpoints::Action::Error => {
                    return Err($crate::error::AppError::Unavailable(anyhow::anyhow!(
                        "failpoint {}",
                        $name
                    ))
                    .into())
                }
            }
        }
    };
}

#[cfg(all(test, feature = "failpoints"))]
mod tests {
    use super::*;

    #[test]
    fn actions_are_read_as_written() {
        assert_eq!(parse("pause"), Action::Pause);
        assert_eq!(parse("error"), Action::Error);
        assert_eq!(
            parse("sleep(250)"),
            Action::Sleep(std::time::Duration::from_millis(250))
        );
        assert_eq!(parse("abort"), Action::Abort);
        assert_eq!(parse("sleep(x)"), Action::Abort);
    }
}

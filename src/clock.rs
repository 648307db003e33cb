//! The time the application's rules run on (expiry, throttle windows, retries).
//!
//! Handlers and background tasks read it once and pass `now` down to services and
//! models, so tests move time forward with `advance` instead of rewriting rows.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex, PoisonError};

/// A cheap cloneable handle; clones share one time.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Mutex<Source>>);

#[derive(Debug)]
enum Source {
    /// The system's time, moved by whatever `advance` added (nothing in production).
    System { offset: TimeDelta },
    /// Stands still until advanced (unit tests).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self::from(Source::System {
            offset: TimeDelta::zero(),
        })
    }

    /// A time that only moves when advanced.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self::from(Source::Fixed(at))
    }

    fn from(source: Source) -> Self {
        Self(Arc::new(Mutex::new(source)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &*self.lock() {
            Source::System { offset } => Utc::now() + *offset,
            Source::Fixed(at) => *at,
        }
    }

    /// Moves this clock and every clone of it forward (backward if negative).
    pub fn advance(&self, by: TimeDelta) {
        match &mut *self.lock() {
            Source::System { offset } => *offset += by,
            Source::Fixed(at) => *at += by,
        }
    }

    /// A poisoned lock still holds a valid time: reading it cannot fail.
    fn lock(&self) -> std::sync::MutexGuard<'_, Source> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still_until_advanced_and_clones_share_it() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::fixed(t);
        let other = clock.clone();
        assert_eq!(clock.now(), t);
        other.advance(TimeDelta::days(8));
        assert_eq!(clock.now(), t + TimeDelta::days(8));
        clock.advance(TimeDelta::hours(-1));
        assert_eq!(other.now(), t + TimeDelta::days(8) - TimeDelta::hours(1));
    }

    #[test]
    fn the_system_clock_follows_the_system_time_plus_what_was_added() {
        let clock = Clock::system();
        let before = Utc::now();
        let read = clock.now();
        assert!(before <= read && read <= Utc::now());
        clock.clone().advance(TimeDelta::days(1));
        let moved = clock.now() - Utc::now();
        assert!(
            moved > TimeDelta::hours(23) && moved <= TimeDelta::days(1),
            "{moved}"
        );
    }
}

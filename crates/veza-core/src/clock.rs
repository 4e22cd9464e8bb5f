//! Time as a port: use cases ask a [`Clock`] instead of the system, so tests can move time
//! (expiring tokens) without sleeping, and wait on a [`Timer`], since the core names no runtime.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use time::OffsetDateTime;

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// Waits: lent by whoever runs the core (the binary's runtime; the tests' own).
pub trait Timer: Send + Sync + fmt::Debug {
    fn sleep(&self, duration: std::time::Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The real clock, in UTC, to the microsecond: the precision both databases store, so a time
/// returned at creation equals the same time read back later.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
    }
}

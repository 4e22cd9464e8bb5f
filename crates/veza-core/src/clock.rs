//! Time as a port: use cases ask a [`Clock`] instead of the system, so tests can move time
//! (expiring tokens) without sleeping.

use std::fmt;
use time::OffsetDateTime;

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
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

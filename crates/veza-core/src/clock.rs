//! Time as a port: use cases ask a [`Clock`] instead of the system, so tests can move time
//! (expiring tokens) without sleeping.

use std::fmt;
use time::OffsetDateTime;

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock, in UTC.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

//! Veza's Redis adapter. Today: the rate limiter every node shares ([`RedisRateLimiter`]).
//! The chat event bus and presence will live here too.

mod rate_limit;

pub use rate_limit::RedisRateLimiter;

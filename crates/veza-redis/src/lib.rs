//! Veza's Redis adapter: the rate limiter and the brute-force counters every node shares, the
//! chat event bus between nodes, and the protocol on it that keeps their permission caches exact.

mod attempts;
mod bus;
mod cache_sync;
mod rate_limit;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use attempts::RedisAttempts;
pub use bus::RedisBus;
pub use cache_sync::CacheSync;
pub use rate_limit::RedisRateLimiter;

/// A connection to `url` made on first use, re-made by itself after a failure; connecting and
/// each command give up after `timeout`.
fn connect(url: &str, timeout: Duration) -> Result<ConnectionManager, String> {
    let client = redis::Client::open(url).map_err(|e| format!("not a Redis URL: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    client.get_connection_manager_lazy(config).map_err(|e| format!("cannot use Redis: {e}"))
}

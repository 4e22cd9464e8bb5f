//! GCRA buckets kept in Redis: one round trip per request, however many buckets it is charged
//! against, through one Lua script that reads and updates them atomically.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use veza_core::rate_limit::{Check, LimiterError, Outcome, RateLimiter};

/// A Redis-backed [`RateLimiter`]. Connects lazily and reconnects by itself; every call gives
/// up after `timeout`, so a missing Redis costs a request at most that long (and [`Failover`]
/// stops asking it for a while).
///
/// [`Failover`]: veza_core::rate_limit::Failover
pub struct RedisRateLimiter {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter").field("prefix", &self.prefix).field("timeout", &self.timeout).finish()
    }
}

impl RedisRateLimiter {
    /// `url` is `redis://[user:password@]host[:port][/db]`; bucket keys start with `prefix`.
    /// Fails only on a malformed URL: the connection itself is made on first use.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("not a Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = client.get_connection_manager_lazy(config).map_err(|e| format!("cannot use Redis: {e}"))?;
        Ok(Self {
            connection,
            script: redis::Script::new(include_str!("gcra.lua")),
            prefix: prefix.to_string(),
            timeout,
        })
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, checks: &[Check]) -> Result<Vec<Outcome>, LimiterError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.script.prepare_invoke();
        for check in checks {
            let interval = u64::try_from(check.policy.interval().as_micros()).unwrap_or(u64::MAX).max(1);
            invocation.key(format!("{}{}", self.prefix, check.key())).arg(interval).arg(check.policy.limit);
        }
        let mut connection = self.connection.clone();
        let replies: Vec<(i64, i64, i64)> =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| LimiterError::Unavailable(format!("Redis did not answer within {:?}", self.timeout)))?
                .map_err(|e| LimiterError::Unavailable(e.to_string()))?;
        let micros = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or(0));
        Ok(replies
            .into_iter()
            .map(|(allowed, value, reset)| match allowed {
                1 => Outcome::Allowed { remaining: u32::try_from(value).unwrap_or(0), reset_after: micros(reset) },
                _ => Outcome::Limited { retry_after: micros(value), reset_after: micros(reset) },
            })
            .collect())
    }
}

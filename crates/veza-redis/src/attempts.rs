//! Brute-force counters in Redis, so that every node counts the same guesses: each operation is
//! one atomic script on the Redis server's clock.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use veza_core::rate_limit::attempts::{Attempt, AttemptKey, AttemptThrottle};
use veza_core::rate_limit::LimiterError;

pub struct RedisAttempts {
    connection: ConnectionManager,
    begin: redis::Script,
    forgive: redis::Script,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisAttempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAttempts").field("prefix", &self.prefix).field("timeout", &self.timeout).finish()
    }
}

impl RedisAttempts {
    /// Counters live under `prefix`; each call gives up after `timeout`. Connects on first use.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            connection: crate::connect(url, timeout)?,
            begin: redis::Script::new(include_str!("attempts_begin.lua")),
            forgive: redis::Script::new(include_str!("attempts_forgive.lua")),
            prefix: prefix.to_string(),
            timeout,
        })
    }

    async fn run<T: redis::FromRedisValue>(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<T, LimiterError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| LimiterError::Unavailable(format!("Redis did not answer within {:?}", self.timeout)))?
            .map_err(|e| LimiterError::Unavailable(e.to_string()))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[async_trait]
impl AttemptThrottle for RedisAttempts {
    async fn begin(&self, keys: &[AttemptKey]) -> Result<Attempt, LimiterError> {
        if keys.is_empty() {
            return Ok(Attempt::Go { delay: None });
        }
        let mut invocation = self.begin.prepare_invoke();
        for k in keys {
            let p = &k.policy;
            let keep_ms = u64::try_from(p.forget_after.as_millis()).unwrap_or(u64::MAX).max(1);
            invocation
                .key(format!("{}{}", self.prefix, k.key))
                .arg(p.free.max(1))
                .arg(micros(p.base_delay).max(1))
                .arg(micros(p.max_delay).max(1))
                .arg(keep_ms);
        }
        let (go, us): (i64, i64) = self.run(&invocation).await?;
        let duration = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or(0));
        Ok(match go {
            1 => Attempt::Go { delay: (us >= 0).then(|| duration(us)) },
            _ => Attempt::Wait(duration(us)),
        })
    }

    async fn forgive(&self, key: &AttemptKey, whole: bool) -> Result<(), LimiterError> {
        let mut invocation = self.forgive.prepare_invoke();
        invocation.key(format!("{}{}", self.prefix, key.key)).arg(u8::from(whole)).arg(key.policy.free.max(1));
        self.run::<i64>(&invocation).await.map(|_| ())
    }
}

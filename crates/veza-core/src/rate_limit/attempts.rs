//! Brute-force protection for guessable secrets (passwords today; TOTP codes, recovery codes
//! and magic links as they arrive): each failed attempt is counted per account and per client
//! address, and past a number of free tries every further attempt must wait a delay that doubles
//! with each failure, up to a ceiling.
//!
//! Exact under concurrency: an attempt is counted as a failure *before* the secret is checked,
//! atomically with the check that the caller may try at all, and forgiven only on success. Fifty
//! guesses sent at once therefore get exactly the free tries through, never more.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::LimiterError;
use crate::clock::Clock;

/// How many failures are free, and how the delays grow after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptPolicy {
    /// Failures allowed before delays start (the last free failure starts the first delay).
    pub free: u32,
    /// The first delay; each further failure doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A key with no attempt for this long starts again from zero.
    pub forget_after: Duration,
}

impl AttemptPolicy {
    /// Five wrong guesses for one account, then 1 s, 2 s, 4 s… up to 15 minutes between tries.
    pub const PER_ACCOUNT: Self = Self {
        free: 5,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(15 * 60),
        forget_after: Duration::from_secs(3600),
    };
    /// Twenty wrong guesses from one address (any accounts), then the same growing delays.
    pub const PER_ADDRESS: Self = Self { free: 20, ..Self::PER_ACCOUNT };

    /// The wait a key must serve after its `failures`-th failure, if any.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free.max(1))?;
        let factor = 1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX);
        Some(self.base_delay.saturating_mul(factor).min(self.max_delay))
    }
}

/// What the account use cases throttle guesses with.
#[derive(Debug, Clone)]
pub struct GuessLimits {
    pub throttle: Arc<dyn AttemptThrottle>,
    pub per_account: AttemptPolicy,
    pub per_address: AttemptPolicy,
}

impl GuessLimits {
    /// In-process counters on `clock` with the default policies (tests, and the embedded default).
    pub fn local(clock: Arc<dyn Clock>) -> Self {
        Self {
            throttle: Arc::new(LocalAttempts::new(clock)),
            per_account: AttemptPolicy::PER_ACCOUNT,
            per_address: AttemptPolicy::PER_ADDRESS,
        }
    }

    /// The counters for a guess at `secret` (`password`, later `totp`…) on the account known by
    /// `account` (a normalized login, whether or not such an account exists, so that throttling
    /// reveals nothing) from `ip`. The account's counter comes first.
    pub fn keys(&self, secret: &str, account: Option<&str>, ip: Option<&str>) -> Vec<AttemptKey> {
        let mut keys = Vec::with_capacity(2);
        if let Some(account) = account {
            keys.push(AttemptKey { key: format!("{secret}:account:{account}"), policy: self.per_account });
        }
        if let Some(ip) = ip.and_then(|ip| ip.parse().ok()) {
            keys.push(AttemptKey {
                key: format!("{secret}:ip:{}", super::address_bucket(ip)),
                policy: self.per_address,
            });
        }
        keys
    }
}

/// One counter: `password:account:nova`, `password:ip:203.0.113.9`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKey {
    pub key: String,
    pub policy: AttemptPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead; `delay` is the wait this attempt starts on the first key (the account) should
    /// it fail — worth telling the audit log.
    Go { delay: Option<Duration> },
    /// Refused without trying: a key is still in its delay.
    Wait(Duration),
}

#[async_trait]
pub trait AttemptThrottle: Send + Sync + std::fmt::Debug {
    /// Atomically: refuses when any key is in its delay; otherwise counts a failure against
    /// every key in advance (starting its delay once its free tries are used up).
    async fn begin(&self, keys: &[AttemptKey]) -> Result<Attempt, LimiterError>;
    /// The attempt succeeded: forgives `key` all its failures (`whole`), or only the one this
    /// attempt counted in advance (lifting the delay when that brings it back under the policy).
    async fn forgive(&self, key: &AttemptKey, whole: bool) -> Result<(), LimiterError>;
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: u32,
    wait_until: Option<OffsetDateTime>,
    last: OffsetDateTime,
}

/// The in-process throttle: exact for one node (a mutex around the counters), on the clock it
/// is given.
#[derive(Debug)]
pub struct LocalAttempts {
    counters: Mutex<HashMap<String, Counter>>,
    clock: Arc<dyn Clock>,
}

impl LocalAttempts {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { counters: Mutex::default(), clock }
    }

    /// Forgets counters idle for longer than their policy says; returns how many remain.
    pub fn sweep(&self, longest_forget_after: Duration) -> usize {
        let now = self.clock.now();
        let mut counters = self.lock();
        counters.retain(|_, c| now - c.last < longest_forget_after);
        counters.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Counter>> {
        self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl AttemptThrottle for LocalAttempts {
    async fn begin(&self, keys: &[AttemptKey]) -> Result<Attempt, LimiterError> {
        let now = self.clock.now();
        let mut counters = self.lock();
        let current = |k: &AttemptKey, counters: &HashMap<String, Counter>| {
            counters.get(&k.key).copied().filter(|c| now - c.last < k.policy.forget_after)
        };
        let wait = keys
            .iter()
            .filter_map(|k| current(k, &counters)?.wait_until)
            .filter(|&until| until > now)
            .map(|until| (until - now).unsigned_abs())
            .max();
        if let Some(wait) = wait {
            return Ok(Attempt::Wait(wait));
        }
        let mut first_delay = None;
        for (i, k) in keys.iter().enumerate() {
            let failures = current(k, &counters).map_or(0, |c| c.failures).saturating_add(1);
            let delay = k.policy.delay_after(failures);
            if i == 0 {
                first_delay = delay;
            }
            counters.insert(k.key.clone(), Counter { failures, wait_until: delay.map(|d| now + d), last: now });
        }
        Ok(Attempt::Go { delay: first_delay })
    }

    async fn forgive(&self, key: &AttemptKey, whole: bool) -> Result<(), LimiterError> {
        let mut counters = self.lock();
        if whole {
            counters.remove(&key.key);
        } else if let Some(c) = counters.get_mut(&key.key) {
            c.failures = c.failures.saturating_sub(1);
            if key.policy.delay_after(c.failures).is_none() {
                c.wait_until = None;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::ManualClock;

    fn policy(free: u32) -> AttemptPolicy {
        AttemptPolicy {
            free,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(900),
            forget_after: Duration::from_secs(3600),
        }
    }

    #[test]
    fn delays_double_up_to_the_ceiling() {
        let p = policy(5);
        assert_eq!(p.delay_after(4), None);
        assert_eq!(p.delay_after(5), Some(Duration::from_secs(1)));
        assert_eq!(p.delay_after(6), Some(Duration::from_secs(2)));
        assert_eq!(p.delay_after(9), Some(Duration::from_secs(16)));
        assert_eq!(p.delay_after(20), Some(Duration::from_secs(900)));
        assert_eq!(p.delay_after(u32::MAX), Some(Duration::from_secs(900)));
    }

    #[tokio::test]
    async fn parallel_guesses_get_exactly_the_free_tries() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let throttle = Arc::new(LocalAttempts::new(clock.clone()));
        let keys = vec![
            AttemptKey { key: "password:account:nova".into(), policy: policy(5) },
            AttemptKey { key: "password:ip:192.0.2.1".into(), policy: policy(20) },
        ];
        let mut all = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (throttle, keys) = (throttle.clone(), keys.clone());
            all.spawn(async move { throttle.begin(&keys).await.unwrap() });
        }
        let verdicts = all.join_all().await;
        let went = verdicts.iter().filter(|v| matches!(v, Attempt::Go { .. })).count();
        assert_eq!(went, 5);
        let delayed: Vec<_> = verdicts.iter().filter(|v| matches!(v, Attempt::Go { delay: Some(_) })).collect();
        assert_eq!(delayed, [&Attempt::Go { delay: Some(Duration::from_secs(1)) }]);
        // Another account from the same address: the address has used 5 of its 20.
        let other = [AttemptKey { key: "password:account:orion".into(), policy: policy(5) }, keys[1].clone()];
        assert_eq!(throttle.begin(&other).await.unwrap(), Attempt::Go { delay: None });
        // Success forgives the account all, the address only the successful attempt.
        throttle.forgive(&keys[0], true).await.unwrap();
        assert_eq!(throttle.begin(&keys).await.unwrap(), Attempt::Go { delay: None });
        throttle.forgive(&keys[1], false).await.unwrap();
        assert_eq!(throttle.lock()["password:ip:192.0.2.1"].failures, 6);
        // The delay runs out on the clock, and idle counters are forgotten after their time.
        let (go, fifth) = (Attempt::Go { delay: None }, Attempt::Go { delay: Some(Duration::from_secs(1)) });
        for expected in [go, go, go, fifth] {
            assert_eq!(throttle.begin(&keys[..1]).await.unwrap(), expected);
        }
        assert_eq!(throttle.begin(&keys[..1]).await.unwrap(), Attempt::Wait(Duration::from_secs(1)));
        clock.advance(time::Duration::milliseconds(999));
        assert_eq!(throttle.begin(&keys[..1]).await.unwrap(), Attempt::Wait(Duration::from_millis(1)));
        clock.advance(time::Duration::milliseconds(1));
        assert_eq!(throttle.begin(&keys[..1]).await.unwrap(), Attempt::Go { delay: Some(Duration::from_secs(2)) });
        assert_eq!(throttle.sweep(Duration::from_secs(3600)), 3);
        clock.advance(time::Duration::seconds(60));
        assert_eq!(throttle.sweep(Duration::from_secs(60)), 0);
    }
}

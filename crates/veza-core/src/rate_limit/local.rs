//! The in-process limiter: one `governor` keyed GCRA limiter per policy, buckets keyed by
//! subject. Exact for one node; in a cluster each node keeps its own buckets (the Redis adapter
//! shares them).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;

use super::{Check, LimiterError, Outcome, Policy, RateLimiter};

type Keyed = governor::RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

#[derive(Debug)]
struct Bucketed {
    limiter: Keyed,
    interval: Duration,
    limit: u32,
}

#[derive(Debug)]
pub struct LocalRateLimiter {
    by_policy: HashMap<&'static str, Bucketed>,
}

impl LocalRateLimiter {
    pub fn new(policies: &[Policy]) -> Self {
        let by_policy = policies
            .iter()
            .map(|p| {
                let burst = NonZeroU32::new(p.limit).unwrap_or(NonZeroU32::MIN);
                // `Policy::parse` guarantees an interval of at least a microsecond.
                let quota =
                    Quota::with_period(p.interval()).map_or_else(|| Quota::per_second(burst), |q| q.allow_burst(burst));
                let limiter = governor::RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
                (p.name, Bucketed { limiter, interval: p.interval(), limit: p.limit })
            })
            .collect();
        Self { by_policy }
    }

    /// Forgets buckets that have refilled completely (they behave exactly like absent ones), so
    /// memory follows the number of recently active callers. Run it periodically.
    pub fn sweep(&self) -> usize {
        self.by_policy
            .values()
            .map(|b| {
                b.limiter.retain_recent();
                b.limiter.shrink_to_fit();
                b.limiter.len()
            })
            .sum()
    }
}

#[async_trait]
impl RateLimiter for LocalRateLimiter {
    async fn check(&self, checks: &[Check]) -> Result<Vec<Outcome>, LimiterError> {
        let mut outcomes = Vec::with_capacity(checks.len());
        for check in checks {
            let bucket = self.by_policy.get(check.policy.name).ok_or(LimiterError::UnknownPolicy(check.policy.name))?;
            match bucket.limiter.check_key(&check.subject) {
                Ok(state) => {
                    let remaining = state.remaining_burst_capacity();
                    // governor does not expose the bucket's theoretical arrival time; the time
                    // to refill the used cells is at most one interval later than it.
                    let reset_after = bucket.interval * (bucket.limit - remaining.min(bucket.limit));
                    outcomes.push(Outcome::Allowed { remaining, reset_after });
                }
                Err(not_until) => {
                    let retry_after = not_until.wait_time_from(bucket.limiter.clock().now());
                    let reset_after = retry_after + bucket.interval * (bucket.limit - 1);
                    outcomes.push(Outcome::Limited { retry_after, reset_after });
                    break;
                }
            }
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::Scope;

    fn check(policy: &Policy, subject: &str) -> Check {
        Check { policy: policy.clone(), scope: Scope::Ip, subject: subject.into() }
    }

    #[tokio::test]
    async fn burst_then_refusal_then_per_subject() {
        // Slow refills (one login per 20 minutes, one global request per 86.4 s), so the counts
        // below are exact however slowly the machine runs the test.
        let login = Policy::parse("login", "3/1h").unwrap();
        let global = Policy::parse("global", "1000/24h").unwrap();
        let limiter = LocalRateLimiter::new(&[login.clone(), global.clone()]);
        let plan = [check(&login, "a"), check(&global, "")];
        for expected in [2, 1, 0] {
            let out = limiter.check(&plan).await.unwrap();
            assert_eq!(out.len(), 2);
            assert_eq!(out[0].remaining(), expected);
            assert!(out[0].reset_after() <= Duration::from_secs(3600));
        }
        let out = limiter.check(&plan).await.unwrap();
        assert_eq!(out.len(), 1, "the refusing bucket ends the checks: the global one is not charged");
        let Outcome::Limited { retry_after, reset_after } = out[0] else { panic!("{out:?}") };
        let (retry, reset) = (retry_after.as_secs_f64(), reset_after.as_secs_f64());
        assert!(retry > 1140.0 && retry <= 1200.0, "{retry_after:?}");
        assert!(reset > 3540.0 && reset <= 3600.0, "{reset_after:?}");
        // Another subject has its own bucket.
        assert_eq!(limiter.check(&[check(&login, "b")]).await.unwrap()[0].remaining(), 2);
        let global_left = limiter.check(&[check(&global, "")]).await.unwrap()[0].remaining();
        assert_eq!(global_left, 1000 - 4, "three allowed requests and this one");
        assert!(limiter.sweep() >= 2);
    }

    #[tokio::test]
    async fn unknown_policy_is_an_error() {
        let limiter = LocalRateLimiter::new(&[]);
        let p = Policy::parse("user", "1/1s").unwrap();
        assert!(matches!(limiter.check(&[check(&p, "x")]).await, Err(LimiterError::UnknownPolicy("user"))));
    }
}

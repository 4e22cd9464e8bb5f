//! The Redis limiter against a real Redis: the same GCRA arithmetic as the in-process one,
//! buckets shared between limiter instances (as between nodes), keys that expire, and a clear
//! error when Redis is away.

use std::time::Duration;

use veza_core::rate_limit::{Check, LimiterError, Outcome, Policy, RateLimiter, Scope};
use veza_redis::RedisRateLimiter;
use veza_testkit::proxy::CuttableProxy;
use veza_testkit::redis::{redis_addr, redis_url, unique_prefix};

fn check(policy: &str, name: &'static str, subject: &str) -> Check {
    Check { policy: Policy::parse(name, policy).unwrap(), scope: Scope::Ip, subject: subject.into() }
}

fn limiter(prefix: &str) -> RedisRateLimiter {
    redis_addr();
    RedisRateLimiter::new(&redis_url(), prefix, Duration::from_secs(2)).unwrap()
}

#[tokio::test]
async fn burst_refusal_and_sharing() {
    let prefix = unique_prefix();
    let (a, b) = (limiter(&prefix), limiter(&prefix));
    // Slow refills (one login per 20 minutes, one global request per 86.4 s), so the counts
    // below are exact however slowly the machine runs the test.
    let plan = [check("3/1h", "login", "203.0.113.9"), check("1000/24h", "global", "")];
    // Two limiters (two nodes) share the buckets: a, b, a use up the burst of three.
    for (node, expected) in [(&a, 2), (&b, 1), (&a, 0)] {
        let out = node.check(&plan).await.unwrap();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].remaining(), expected);
        let reset = out[0].reset_after();
        assert!(reset > Duration::from_secs(1200 * (3 - u64::from(expected)) - 60), "{reset:?}");
    }
    let out = b.check(&plan).await.unwrap();
    assert_eq!(out.len(), 1, "the global bucket is not charged for a refused request: {out:?}");
    let Outcome::Limited { retry_after, reset_after } = out[0] else { panic!("{out:?}") };
    let (retry, reset) = (retry_after.as_secs_f64(), reset_after.as_secs_f64());
    assert!(retry > 1140.0 && retry <= 1200.0, "{retry_after:?}");
    assert!(reset > 3540.0 && reset <= 3600.0, "{reset_after:?}");
    // The global bucket saw exactly the three allowed requests.
    let global = a.check(&plan[1..]).await.unwrap();
    assert_eq!(global[0].remaining(), 1000 - 4);
    // Another address has its own bucket.
    let other = a.check(&[check("3/1h", "login", "198.51.100.1")]).await.unwrap();
    assert_eq!(other[0].remaining(), 2);
}

#[tokio::test]
async fn buckets_refill_and_keys_expire() {
    let prefix = unique_prefix();
    let limiter = limiter(&prefix);
    let plan = [check("2/1s", "user", "42")];
    // One call, so one script run on one instant of Redis's clock: exact, however slow.
    let three = [plan[0].clone(), plan[0].clone(), plan[0].clone()];
    let out = limiter.check(&three).await.unwrap();
    assert!(
        matches!(
            out[..],
            [Outcome::Allowed { remaining: 1, .. }, Outcome::Allowed { remaining: 0, .. }, Outcome::Limited { .. }]
        ),
        "{out:?}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Full again, and the key is gone once full: Redis holds nothing for idle callers.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let exists: bool = redis::cmd("EXISTS").arg(format!("{prefix}user:ip:42")).query_async(&mut conn).await.unwrap();
    assert!(!exists, "a refilled bucket's key has expired");
    assert_eq!(limiter.check(&plan).await.unwrap()[0].remaining(), 1);
    // A bucket's key lives until it is full again: one request of a 2/1h bucket, 30 minutes.
    assert_eq!(limiter.check(&[check("2/1h", "user", "43")]).await.unwrap()[0].remaining(), 1);
    let ttl: i64 = redis::cmd("PTTL").arg(format!("{prefix}user:ip:43")).query_async(&mut conn).await.unwrap();
    assert!(ttl > 1_740_000 && ttl <= 1_800_000, "{ttl} ms");
}

#[tokio::test]
async fn unreachable_redis_is_an_error_not_a_hang() {
    let proxy = CuttableProxy::start(redis_addr()).await;
    let limiter =
        RedisRateLimiter::new(&format!("redis://{}/", proxy.addr), &unique_prefix(), Duration::from_millis(1000))
            .unwrap();
    let plan = [check("5/1h", "anonymous", "192.0.2.1")];
    assert_eq!(limiter.check(&plan).await.unwrap()[0].remaining(), 4);
    proxy.cut();
    let started = std::time::Instant::now();
    let err = limiter.check(&plan).await.unwrap_err();
    assert!(matches!(err, LimiterError::Unavailable(_)), "{err:?}");
    // A guard against hanging, not a measure: the timeout is 1 s.
    assert!(started.elapsed() < Duration::from_secs(30), "gave up by the timeout: {:?}", started.elapsed());
    proxy.restore();
    // The connection manager reconnects by itself.
    let mut ok = false;
    for _ in 0..40 {
        if let Ok(out) = limiter.check(&plan).await {
            // The check that timed out on our side may still have run on Redis's: 2 or 3 left,
            // never a fresh bucket's 4.
            let left = out[0].remaining();
            assert!((2..=3).contains(&left), "the bucket survived the outage on the Redis side: {left}");
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the limiter did not reconnect after Redis came back");
}

#[tokio::test]
async fn concurrent_checks_are_batched_without_losing_count() {
    let prefix = unique_prefix();
    let limiter = std::sync::Arc::new(limiter(&prefix));
    // 500 checks at once against a bucket of 300 (and each one's own bucket): exactly 300 pass,
    // however the driver groups them.
    let mut all = tokio::task::JoinSet::new();
    for i in 0..500 {
        let limiter = limiter.clone();
        all.spawn(async move {
            let plan = [check("1000/1m", "user", &format!("u{i}")), check("300/1h", "global", "")];
            limiter.check(&plan).await.unwrap()
        });
    }
    let outcomes = all.join_all().await;
    let passed =
        outcomes.iter().filter(|o| matches!(o[..], [Outcome::Allowed { .. }, Outcome::Allowed { .. }])).count();
    let refused =
        outcomes.iter().filter(|o| matches!(o[..], [Outcome::Allowed { .. }, Outcome::Limited { .. }])).count();
    assert_eq!((passed, refused), (300, 200));
    let mut left: Vec<u32> = outcomes.iter().filter(|o| o.len() == 2).map(|o| o[1].remaining()).collect();
    left.sort_unstable();
    left.dedup();
    assert_eq!(left.len(), 300, "each admitted request saw a different count: none was lost or doubled");
}

mod attempts {
    use super::*;
    use veza_core::rate_limit::attempts::{Attempt, AttemptKey, AttemptPolicy, AttemptThrottle};
    use veza_redis::RedisAttempts;

    fn keys(account: &str) -> Vec<AttemptKey> {
        vec![
            AttemptKey { key: format!("password:account:{account}"), policy: AttemptPolicy::PER_ACCOUNT },
            AttemptKey { key: "password:ip:192.0.2.1".into(), policy: AttemptPolicy::PER_ADDRESS },
        ]
    }

    #[tokio::test]
    async fn parallel_guesses_across_nodes_get_exactly_the_free_tries() {
        redis_addr();
        let prefix = unique_prefix();
        let nodes: Vec<_> = (0..2)
            .map(|_| std::sync::Arc::new(RedisAttempts::new(&redis_url(), &prefix, Duration::from_secs(2)).unwrap()))
            .collect();
        let mut all = tokio::task::JoinSet::new();
        for i in 0..50 {
            let node = nodes[i % 2].clone();
            all.spawn(async move { node.begin(&keys("nova")).await.unwrap() });
        }
        let verdicts = all.join_all().await;
        assert_eq!(verdicts.iter().filter(|v| matches!(v, Attempt::Go { .. })).count(), 5, "{verdicts:?}");
        let started: Vec<_> = verdicts.iter().filter(|v| matches!(v, Attempt::Go { delay: Some(_) })).collect();
        assert_eq!(started, [&Attempt::Go { delay: Some(Duration::from_secs(1)) }]);
        let Some(Attempt::Wait(wait)) = verdicts.iter().find(|v| matches!(v, Attempt::Wait(_))) else { panic!() };
        assert!(*wait <= Duration::from_secs(1));
        // After the delay, one more try, which doubles the next delay.
        tokio::time::sleep(Duration::from_millis(1050)).await;
        assert_eq!(nodes[0].begin(&keys("nova")).await.unwrap(), Attempt::Go { delay: Some(Duration::from_secs(2)) });
        assert!(matches!(nodes[1].begin(&keys("nova")).await.unwrap(), Attempt::Wait(_)));
        // Success: the account is forgiven, the address only the one attempt.
        nodes[1].forgive(&keys("nova")[0], true).await.unwrap();
        nodes[1].forgive(&keys("nova")[1], false).await.unwrap();
        assert_eq!(nodes[0].begin(&keys("nova")).await.unwrap(), Attempt::Go { delay: None });
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let failures: i64 = redis::cmd("HGET")
            .arg(format!("{prefix}password:ip:192.0.2.1"))
            .arg("f")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(failures, 6, "five, one after the delay, one forgiven, one more");
        let ttl: i64 =
            redis::cmd("PTTL").arg(format!("{prefix}password:ip:192.0.2.1")).query_async(&mut conn).await.unwrap();
        assert!(ttl > 3_500_000 && ttl <= 3_600_000, "idle counters are forgotten after an hour: {ttl}");
    }
}

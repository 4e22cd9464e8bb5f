//! GCRA buckets kept in Redis. Every check a node makes goes through one driver task that sends
//! them in batches: while one script call is on the wire, the checks that arrive meanwhile wait
//! and leave together in the next, so under load one round trip and one script run serve many
//! requests (group commit), and at low load a check leaves at once. The script reads and updates
//! all of a batch's buckets atomically.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot, Semaphore};
use veza_core::rate_limit::{Check, LimiterError, Outcome, RateLimiter};

/// Checks sent in one script call at most.
const MAX_BATCH: usize = 128;
/// Script calls on the wire at once: the second overlaps the first's round trip.
const MAX_IN_FLIGHT: usize = 2;
/// Checks waiting for the driver at most; beyond, a check fails at once (as if Redis were down)
/// rather than queueing without bound.
const QUEUE: usize = 8192;

type Reply = oneshot::Sender<Result<Vec<Outcome>, LimiterError>>;

/// The script's answer for one bucket: (allowed 1|0, remaining or retry-after µs, reset-after µs).
type Bucket = (i64, i64, i64);

/// One request's buckets: (key, interval in µs, limit), and where its answer goes.
struct Pending {
    buckets: Vec<(String, u64, u32)>,
    reply: Reply,
}

/// A Redis-backed [`RateLimiter`]. Connects lazily and reconnects by itself; every check gives
/// up after `timeout`, so a missing Redis costs a request at most that long (and [`Failover`]
/// stops asking it for a while).
///
/// [`Failover`]: veza_core::rate_limit::Failover
pub struct RedisRateLimiter {
    queue: mpsc::Sender<Pending>,
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
    /// Fails only on a malformed URL: the connection itself is made on first use. Must be called
    /// inside a Tokio runtime (it starts the driver task, which ends when the limiter is dropped).
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        let connection = crate::connect(url, timeout)?;
        let (queue, pending) = mpsc::channel(QUEUE);
        tokio::spawn(drive(pending, connection, Arc::new(redis::Script::new(include_str!("gcra.lua")))));
        Ok(Self { queue, prefix: prefix.to_string(), timeout })
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, checks: &[Check]) -> Result<Vec<Outcome>, LimiterError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        let buckets = checks
            .iter()
            .map(|c| {
                let interval = u64::try_from(c.policy.interval().as_micros()).unwrap_or(u64::MAX).max(1);
                (format!("{}{}", self.prefix, c.key()), interval, c.policy.limit)
            })
            .collect();
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Pending { buckets, reply })
            .map_err(|_| LimiterError::Unavailable("too many rate-limit checks waiting for Redis".into()))?;
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(LimiterError::Unavailable("the Redis driver stopped".into())),
            Err(_) => Err(LimiterError::Unavailable(format!("Redis did not answer within {:?}", self.timeout))),
        }
    }
}

/// Gathers waiting checks into batches and sends each as one script call.
async fn drive(mut pending: mpsc::Receiver<Pending>, connection: ConnectionManager, script: Arc<redis::Script>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(first) = pending.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else { break };
        // Everything that arrived while the previous calls were on the wire goes in this one.
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let (connection, script) = (connection.clone(), script.clone());
        tokio::spawn(async move {
            run_batch(connection, &script, batch).await;
            drop(permit);
        });
    }
}

async fn run_batch(mut connection: ConnectionManager, script: &redis::Script, batch: Vec<Pending>) {
    let mut invocation = script.prepare_invoke();
    invocation.arg(batch.len());
    for p in &batch {
        invocation.arg(p.buckets.len());
        for (key, interval, limit) in &p.buckets {
            invocation.key(key).arg(*interval).arg(*limit);
        }
    }
    let replies: redis::RedisResult<Vec<Vec<Bucket>>> = invocation.invoke_async(&mut connection).await;
    match replies {
        Ok(replies) if replies.len() == batch.len() => {
            for (p, reply) in batch.into_iter().zip(replies) {
                let _ = p.reply.send(Ok(reply.into_iter().map(outcome).collect()));
            }
        }
        Ok(replies) => fail(batch, &format!("the script answered {} requests, not the batch's", replies.len())),
        Err(e) => fail(batch, &e.to_string()),
    }
}

fn fail(batch: Vec<Pending>, why: &str) {
    for p in batch {
        let _ = p.reply.send(Err(LimiterError::Unavailable(why.to_string())));
    }
}

fn outcome((allowed, value, reset): Bucket) -> Outcome {
    let micros = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or(0));
    match allowed {
        1 => Outcome::Allowed { remaining: u32::try_from(value).unwrap_or(0), reset_after: micros(reset) },
        _ => Outcome::Limited { retry_after: micros(value), reset_after: micros(reset) },
    }
}

//! The worker that drains the mail queue: claims a due message, delivers it, and records the
//! outcome — sent, retried later with a growing delay, or given up (kept in the queue, marked
//! failed, with the server's answer). Any number of nodes may run it: a claim holds a message
//! for one worker at a time.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use veza_core::clock::Clock;
use veza_core::mail::{MailError, MailQueue, Mailer};

/// How deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The first retry's delay; each further one doubles it.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Attempts in all before a message is given up.
    pub max_attempts: u32,
    /// How long a claimed message is held by its worker (longer than a delivery can take).
    pub lease: Duration,
    /// How often an idle worker looks for due messages.
    pub poll: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            max_attempts: 10,
            lease: Duration::from_secs(300),
            poll: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    fn delay_after(&self, attempts: u32) -> Duration {
        let factor = 1u32.checked_shl(attempts.saturating_sub(1).min(31)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

fn later(now: OffsetDateTime, d: Duration) -> OffsetDateTime {
    now + time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// Runs until `stop` resolves, delivering everything due (then waiting `poll` before looking
/// again). A store error is logged and retried after `poll`: the queue is never lost, only late.
pub async fn dispatch(
    queue: Arc<dyn MailQueue>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    loop {
        let now = clock.now();
        let claimed = queue.claim(now, later(now, policy.lease)).await;
        let idle = match claimed {
            Ok(Some(job)) => {
                let result = mailer.send(job.id, &job.mail).await;
                let now = clock.now();
                let recorded = match result {
                    Ok(()) => queue.delivered(job.id, now).await,
                    Err(MailError::Transient(e)) if job.attempts < policy.max_attempts => {
                        let retry_at = later(now, policy.delay_after(job.attempts));
                        tracing::warn!(id = job.id, attempts = job.attempts, error = %e, %retry_at, "mail delivery failed; will retry");
                        queue.failed(job.id, &e, Some(retry_at), now).await
                    }
                    Err(e) => {
                        tracing::error!(id = job.id, attempts = job.attempts, error = %e, to = %job.mail.to, "mail given up");
                        queue.failed(job.id, &e.to_string(), None, now).await
                    }
                };
                if let Err(e) = recorded {
                    tracing::warn!(id = job.id, error = %e, "could not record a delivery; the lease will expire");
                }
                false
            }
            Ok(None) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the mail queue");
                true
            }
        };
        // Busy: straight on to the next message, unless told to stop. Idle: wait a poll.
        let pause = if idle { policy.poll } else { Duration::ZERO };
        tokio::select! {
            biased;
            () = &mut stop => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use veza_core::clock::SystemClock;
    use veza_core::fakes::MemoryStore;
    use veza_core::mail::OutgoingMail;

    #[derive(Debug, Default)]
    struct Flaky {
        /// Failures to give before succeeding, per message id.
        failures: Mutex<Vec<(i64, MailError)>>,
        sent: Mutex<Vec<i64>>,
    }

    #[async_trait::async_trait]
    impl Mailer for Flaky {
        async fn send(&self, id: i64, _: &OutgoingMail) -> Result<(), MailError> {
            let mut failures = self.failures.lock().unwrap();
            if let Some(i) = failures.iter().position(|(f, _)| *f == id) {
                return Err(failures.remove(i).1);
            }
            self.sent.lock().unwrap().push(id);
            Ok(())
        }
    }

    #[tokio::test]
    async fn retries_transient_failures_and_gives_up_permanent_ones() {
        let store = MemoryStore::default();
        let mail = veza_core::mail::from_paragraphs("a@example.com", "s", &["t".into()]);
        let now = SystemClock.now();
        for id in [1, 2, 3] {
            store.enqueue(id, &mail, now).await.unwrap();
        }
        let mailer = Arc::new(Flaky::default());
        mailer.failures.lock().unwrap().extend([
            (1, MailError::Transient("421 busy".into())),
            (1, MailError::Transient("421 busy".into())),
            (2, MailError::Permanent("550 no such user".into())),
        ]);
        let policy = RetryPolicy {
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(40),
            max_attempts: 5,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(5),
        };
        // Stops once the outcomes are in (with a bound, should they never come), however long the
        // retries took on this machine.
        let (watched, queue) = (mailer.clone(), store.clone());
        let stop = async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            let settled = || {
                watched.sent.lock().unwrap().len() == 2 && queue.mail().iter().any(|m| m.id == 2 && m.failed.is_some())
            };
            while !settled() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        dispatch(Arc::new(store.clone()), mailer.clone(), Arc::new(SystemClock), policy, stop).await;
        let mut sent = mailer.sent.lock().unwrap().clone();
        sent.sort_unstable();
        assert_eq!(sent, [1, 3], "the busy server's message went through on its third attempt");
        let kept = store.mail();
        let one = kept.iter().find(|m| m.id == 1).unwrap();
        assert_eq!((one.sent, one.attempts), (true, 3));
        let two = kept.iter().find(|m| m.id == 2).unwrap();
        assert_eq!((two.sent, two.failed.as_deref()), (false, Some("permanent mail failure: 550 no such user")));
        assert_eq!(policy.delay_after(1), Duration::from_millis(20));
        assert_eq!(policy.delay_after(9), Duration::from_millis(40));
    }
}

//! The node's transcoding workers: a fixed number of tasks (the configured concurrency), each
//! running one processing job at a time. They start work at once when this node queues a job
//! (an upload wakes one), and otherwise poll the queue, which is how they find jobs queued by
//! other nodes, retries that have come due, and jobs whose worker died.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use veza_core::catalog::{Catalog, JobWake};
use veza_core::clock::Timer;

/// How often an idle worker looks at the queue without being woken.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// The catalog's timer (its workers renew their leases on it): tokio's.
#[derive(Debug, Clone, Copy)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Wakes one idle worker (or the next to become idle).
#[derive(Debug, Default)]
pub struct Wake(Notify);

impl JobWake for Wake {
    fn wake(&self) {
        self.0.notify_one();
    }
}

/// Starts `count` workers; each stops taking jobs once `stop` turns true.
pub fn spawn(catalog: &Catalog, count: usize, wake: &Arc<Wake>, stop: &watch::Receiver<bool>) -> JoinSet<()> {
    let mut workers = JoinSet::new();
    for _ in 0..count {
        workers.spawn(work(catalog.clone(), wake.clone(), stop.clone()));
    }
    workers
}

async fn work(catalog: Catalog, wake: Arc<Wake>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let handled = match catalog.run_next_job().await {
            Ok(handled) => handled,
            Err(e) => {
                tracing::warn!(error = %e, "the job queue cannot be read; retrying");
                false
            }
        };
        if handled {
            continue; // there may be more
        }
        tokio::select! {
            () = wake.0.notified() => {}
            () = tokio::time::sleep(POLL_EVERY) => {}
            changed = stop.changed() => if changed.is_err() { return },
        }
    }
}

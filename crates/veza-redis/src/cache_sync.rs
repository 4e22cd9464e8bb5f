//! Keeps the permission caches of a cluster's nodes exact over the event bus.
//!
//! A node that changes what a permission reads (through [`CachedChat`], after the change is
//! committed) publishes `{node} {n}` on the [`CACHE_TOPIC`], to which every node subscribes.
//! Each node that receives it drops its whole cache, then acknowledges on the origin's own
//! topic (`cache-ack:{node}`). The origin counts acknowledgements against the number of
//! subscribers Redis said the announcement reached (`PUBLISH`'s answer, itself included) and
//! answers the change only once all have come, so a request to any node that follows the
//! answer reads the change. An acknowledgement that does not come within the bus's timeout
//! (a node stalled) is logged and waited for no longer.
//!
//! A node whose subscriber connection breaks reads past its cache from the moment it notices
//! ([`BusDelivery::Lost`]) until the connection is re-made and re-subscribed
//! ([`BusDelivery::Gap`]), when it starts afresh. Between a link breaking silently and the node
//! noticing, the cache's time to live bounds how stale it can be.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use veza_core::chat::cache::CachedChat;
use veza_core::ports::{BusDelivery, CachePeers, EventBus};

/// Where changes are announced; every node listens.
pub const CACHE_TOPIC: &str = "cache";
/// The prefix of each node's acknowledgements topic.
const ACK_PREFIX: &str = "cache-ack:";
/// Waits between attempts to subscribe while the bus is away at start.
const RETRY_EVERY: Duration = Duration::from_millis(500);
/// Waits between attempts to announce a change while `PUBLISH` fails.
const RETRY_PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// One announcement of this node's, waiting for its acknowledgements.
#[derive(Debug)]
struct Waiting {
    acks: u64,
    /// How many subscribers the announcement reached, once `PUBLISH` has answered.
    expected: Option<u64>,
    done: Option<oneshot::Sender<()>>,
}

impl Waiting {
    fn settle(&mut self) {
        if self.expected.is_some_and(|expected| self.acks >= expected) {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

/// Whether the other nodes' announcements reach this one: subscribed once, and the
/// subscriber connection up (it re-subscribes by itself when re-made).
#[derive(Debug)]
struct Link {
    subscribed: bool,
    up: bool,
}

impl Link {
    fn update(link: &Mutex<Link>, cache: &CachedChat, change: impl FnOnce(&mut Link)) {
        let mut link = link.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut link);
        cache.set_reachable(link.subscribed && link.up);
    }
}

/// This node's end of the protocol: announces its changes and answers the others'.
#[derive(Debug)]
pub struct CacheSync {
    bus: Arc<dyn EventBus>,
    /// Names this process on the bus (random, so that two nodes given one `VEZA_NODE_ID` by
    /// mistake still count their acknowledgements apart).
    node: String,
    next: AtomicU64,
    waiting: Arc<Mutex<HashMap<u64, Waiting>>>,
    timeout: Duration,
}

impl CacheSync {
    /// Acknowledgements are waited for at most `timeout`.
    pub fn new(bus: Arc<dyn EventBus>, timeout: Duration) -> Self {
        let node = format!("{:016x}", rand::random::<u64>());
        Self { bus, node, next: AtomicU64::new(0), waiting: Arc::default(), timeout }
    }

    fn ack_topic(&self) -> String {
        format!("{ACK_PREFIX}{}", self.node)
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waiting>> {
        lock(&self.waiting)
    }

    /// Subscribes to the announcements and this node's acknowledgements (retrying while the
    /// bus is away), then lets `cache` serve; spawns the task that takes the bus's deliveries,
    /// keeps this protocol's and passes every other one on to `rest`, in order.
    pub fn start(
        self: Arc<Self>,
        cache: Arc<CachedChat>,
        deliveries: mpsc::Receiver<BusDelivery>,
        rest: mpsc::Sender<BusDelivery>,
    ) {
        let link = Arc::new(Mutex::new(Link { subscribed: false, up: true }));
        tokio::spawn(self.clone().route(cache.clone(), deliveries, rest, link.clone()));
        tokio::spawn(async move {
            for topic in [CACHE_TOPIC.to_string(), self.ack_topic()] {
                while let Err(e) = self.bus.subscribe(&topic).await {
                    tracing::warn!(error = %e, topic, "cannot subscribe to the cache's announcements yet");
                    tokio::time::sleep(RETRY_EVERY).await;
                }
            }
            Link::update(&link, &cache, |link| link.subscribed = true);
        });
    }

    async fn route(
        self: Arc<Self>,
        cache: Arc<CachedChat>,
        mut deliveries: mpsc::Receiver<BusDelivery>,
        rest: mpsc::Sender<BusDelivery>,
        link: Arc<Mutex<Link>>,
    ) {
        let ack_topic = self.ack_topic();
        while let Some(delivery) = deliveries.recv().await {
            match &delivery {
                BusDelivery::Event { topic, payload } if topic == CACHE_TOPIC => {
                    cache.forget_all();
                    self.acknowledge(payload);
                    continue;
                }
                BusDelivery::Event { topic, payload } if *topic == ack_topic => {
                    self.acknowledged(payload);
                    continue;
                }
                BusDelivery::Lost => Link::update(&link, &cache, |link| link.up = false),
                BusDelivery::Gap => Link::update(&link, &cache, |link| link.up = true),
                BusDelivery::Event { .. } => {}
            }
            if rest.send(delivery).await.is_err() {
                // Nobody takes the deliveries any more, and so neither the announcements.
                Link::update(&link, &cache, |link| link.up = false);
                return;
            }
        }
    }

    /// Answers an announcement (`{node} {n}`) on its origin's topic, off the delivery task.
    fn acknowledge(&self, announcement: &str) {
        let Some((origin, n)) = announcement.split_once(' ') else {
            tracing::warn!(announcement, "ignoring a cache announcement this node cannot read");
            return;
        };
        let (bus, topic, n): (_, String, Arc<str>) = (self.bus.clone(), format!("{ACK_PREFIX}{origin}"), n.into());
        tokio::spawn(async move {
            if let Err(e) = bus.publish(&topic, n).await {
                tracing::warn!(error = %e, "cannot acknowledge a cache announcement");
            }
        });
    }

    fn acknowledged(&self, n: &str) {
        let Ok(n) = n.parse::<u64>() else { return };
        if let Some(waiting) = self.waiting().get_mut(&n) {
            waiting.acks += 1;
            waiting.settle();
        }
    }
}

#[async_trait]
impl CachePeers for CacheSync {
    // Runs on a task of its own, so that a request given up on (a timeout, a client gone) still
    // announces its committed change and forgets its wait.
    async fn changed(&self) {
        let (bus, node, timeout) = (self.bus.clone(), self.node.clone(), self.timeout);
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let (done, settled) = oneshot::channel();
        self.waiting().insert(n, Waiting { acks: 0, expected: None, done: Some(done) });
        let waiting = self.waiting.clone();
        let announced = tokio::spawn(async move {
            let announcement: Arc<str> = format!("{node} {n}").into();
            let deadline = tokio::time::Instant::now() + timeout;
            // A failed PUBLISH says nothing of the other nodes' own links: retried until the
            // bound, it is then logged as an error.
            let reached = loop {
                match bus.publish(CACHE_TOPIC, announcement.clone()).await {
                    Ok(reached) => break Some(reached),
                    Err(e) if tokio::time::Instant::now() >= deadline => {
                        tracing::error!(error = %e, "cannot announce a permission change to the other nodes");
                        break None;
                    }
                    Err(_) => tokio::time::sleep(RETRY_PUBLISH_EVERY).await,
                }
            };
            if let Some(reached) = reached {
                if let Some(waiting) = lock(&waiting).get_mut(&n) {
                    waiting.expected = Some(reached);
                    waiting.settle();
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if tokio::time::timeout(left, settled).await.is_err() {
                    let acks = lock(&waiting).get(&n).map_or(0, |w| w.acks);
                    tracing::warn!(reached, acks, "not every node acknowledged a permission change in time");
                }
            }
            lock(&waiting).remove(&n);
        });
        let _ = announced.await;
    }
}

fn lock(waiting: &Mutex<HashMap<u64, Waiting>>) -> std::sync::MutexGuard<'_, HashMap<u64, Waiting>> {
    waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

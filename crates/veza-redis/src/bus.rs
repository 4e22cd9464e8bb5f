//! The chat event bus across nodes: Redis pub/sub, one topic per Redis channel under a prefix.
//! Each node publishes through its shared command connection and receives through **one**
//! subscriber connection, on which it subscribes to a topic only while a local session listens
//! to it (the gateway's hub counts the listeners). Redis delivers a connection's messages in the
//! order it received the publishes, so every node sees each channel's events in one order.
//!
//! When the subscriber connection breaks, the node is told at once ([`BusDelivery::Lost`]); it
//! is re-made with every topic re-subscribed, and the node is told of the gap
//! ([`BusDelivery::Gap`]): events published meanwhile never reached it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};
use veza_core::ports::{BusDelivery, BusError, EventBus};

/// Waits between attempts to re-make the subscriber connection.
const RECONNECT_EVERY: Duration = Duration::from_millis(500);

/// The Redis side of the event bus.
#[derive(Clone)]
pub struct RedisBus {
    publisher: ConnectionManager,
    control: mpsc::UnboundedSender<Control>,
    prefix: Arc<str>,
    timeout: Duration,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

enum Control {
    Subscribe(String, oneshot::Sender<Result<(), String>>),
    Unsubscribe(String, oneshot::Sender<Result<(), String>>),
}

impl RedisBus {
    /// Connects lazily to `url`; what arrives for subscribed topics goes to `deliveries`.
    pub fn start(
        url: &str,
        prefix: &str,
        timeout: Duration,
        deliveries: mpsc::Sender<BusDelivery>,
    ) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("not a Redis URL: {e}"))?;
        let publisher = crate::connect(url, timeout)?;
        let (control, requests) = mpsc::unbounded_channel();
        let prefix: Arc<str> = prefix.into();
        tokio::spawn(subscriber(client, prefix.clone(), timeout, requests, deliveries));
        Ok(Self { publisher, control, prefix, timeout })
    }

    async fn ask(&self, make: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Control) -> Result<(), BusError> {
        let (reply, answer) = oneshot::channel();
        self.control.send(make(reply)).map_err(|_| BusError("the bus subscriber has stopped".into()))?;
        answer.await.map_err(|_| BusError("the bus subscriber has stopped".into()))?.map_err(BusError)
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<u64, BusError> {
        let mut conn = self.publisher.clone();
        let mut command = redis::cmd("PUBLISH");
        command.arg(format!("{}{topic}", self.prefix)).arg(payload.as_bytes());
        match tokio::time::timeout(self.timeout, command.query_async::<u64>(&mut conn)).await {
            Ok(Ok(receivers)) => Ok(receivers),
            Ok(Err(e)) => Err(BusError(e.to_string())),
            Err(_) => Err(BusError("Redis did not answer in time".into())),
        }
    }

    async fn subscribe(&self, topic: &str) -> Result<(), BusError> {
        let channel = format!("{}{topic}", self.prefix);
        self.ask(|reply| Control::Subscribe(channel, reply)).await
    }

    async fn unsubscribe(&self, topic: &str) -> Result<(), BusError> {
        let channel = format!("{}{topic}", self.prefix);
        self.ask(|reply| Control::Unsubscribe(channel, reply)).await
    }
}

/// Keeps the one subscriber connection: (re)connects, re-subscribes, forwards messages in
/// order, and applies subscription changes.
async fn subscriber(
    client: redis::Client,
    prefix: Arc<str>,
    timeout: Duration,
    mut control: mpsc::UnboundedReceiver<Control>,
    deliveries: mpsc::Sender<BusDelivery>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    let mut connected_before = false;
    loop {
        let pubsub = match tokio::time::timeout(timeout, client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => Some(pubsub),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot reach Redis for the event bus; retrying");
                None
            }
            Err(_) => None,
        };
        let Some(pubsub) = pubsub else {
            // While away, changes are remembered and answered as failures.
            let wait = tokio::time::sleep(RECONNECT_EVERY);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    () = &mut wait => break,
                    request = control.recv() => match request {
                        None => return,
                        Some(request) => remember(&mut channels, request, Err("Redis is unreachable".into())),
                    },
                }
            }
            continue;
        };
        let (mut sink, mut stream) = pubsub.split();
        if !channels.is_empty() {
            let all: Vec<&String> = channels.iter().collect();
            if let Err(e) = sink.subscribe(all).await {
                tracing::warn!(error = %e, "cannot re-subscribe the event bus; retrying");
                tokio::time::sleep(RECONNECT_EVERY).await;
                continue;
            }
        }
        if connected_before {
            tracing::warn!("the event bus connection was re-made; events of the gap are lost");
            if deliveries.send(BusDelivery::Gap).await.is_err() {
                return;
            }
        }
        connected_before = true;
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { break };
                    let Some(topic) = message.get_channel_name().strip_prefix(&*prefix) else { continue };
                    let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else { continue };
                    let delivery = BusDelivery::Event { topic: topic.to_string(), payload: payload.into() };
                    if deliveries.send(delivery).await.is_err() {
                        return;
                    }
                }
                request = control.recv() => {
                    let Some(request) = request else { return };
                    let result = match &request {
                        Control::Subscribe(channel, _) => tokio::time::timeout(timeout, sink.subscribe(channel)).await,
                        Control::Unsubscribe(channel, _) => tokio::time::timeout(timeout, sink.unsubscribe(channel)).await,
                    };
                    let result = match result {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err("Redis did not answer in time".to_string()),
                    };
                    let failed = result.is_err();
                    remember(&mut channels, request, result);
                    if failed {
                        break;
                    }
                }
            }
        }
        tracing::warn!("the event bus connection to Redis was lost; reconnecting");
        if deliveries.send(BusDelivery::Lost).await.is_err() {
            return;
        }
    }
}

/// Records a subscription change (to redo after a reconnect) and answers it.
fn remember(channels: &mut HashSet<String>, request: Control, result: Result<(), String>) {
    let reply = match request {
        Control::Subscribe(channel, reply) => {
            channels.insert(channel);
            reply
        }
        Control::Unsubscribe(channel, reply) => {
            channels.remove(&channel);
            reply
        }
    };
    let _ = reply.send(result);
}

//! The node's side of fan-out: the sessions living here, which topics each listens to, and
//! the one task that takes events from the bus, in the order the bus delivered them, and offers
//! each to the sessions interested. A topic is subscribed on the bus while at least one local
//! session listens to it (reference-counted), so a node holds one bus subscription per topic,
//! never one per client.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use veza_core::chat::communities::Communities;
use veza_core::chat::event::Topic;
use veza_core::id::{ChannelId, CommunityId};
use veza_core::ports::{BusDelivery, BusError, EventBus};
use veza_core::CoreError;

use crate::gateway::event::{Envelope, GAP_TOPIC};
use crate::gateway::protocol::Close;
use crate::gateway::session::{Follow, Session};

/// Events queued between the bus and the dispatching task: a burst past it makes publishers
/// (in-process) or the bus reader (Redis) wait, rather than memory grow.
pub const DELIVERY_QUEUE: usize = 4096;

/// The in-process bus of a single node: publishing is delivering.
#[derive(Debug, Clone)]
pub struct LocalBus {
    to_hub: mpsc::Sender<BusDelivery>,
}

impl LocalBus {
    pub fn new() -> (Self, mpsc::Receiver<BusDelivery>) {
        let (to_hub, from_bus) = mpsc::channel(DELIVERY_QUEUE);
        (Self { to_hub }, from_bus)
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<u64, BusError> {
        let delivery = BusDelivery::Event { topic: topic.to_string(), payload };
        self.to_hub.send(delivery).await.map_err(|_| BusError("the gateway has stopped".into()))?;
        Ok(1)
    }

    // Every event reaches the node; the hub drops those nobody listens to.
    async fn subscribe(&self, _: &str) -> Result<(), BusError> {
        Ok(())
    }

    async fn unsubscribe(&self, _: &str) -> Result<(), BusError> {
        Ok(())
    }
}

/// The sessions of this node.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<HubState>,
    /// Subscription changes, applied to the bus in order by one task.
    subscriptions: mpsc::UnboundedSender<Subscription>,
    communities: Communities,
    /// This node's name in the presence store: the connections it holds are leased under it.
    pub node: Arc<str>,
}

#[derive(Debug)]
enum Subscription {
    Change(Topic, bool),
    /// Answered once every change before it is in effect on the bus.
    Barrier(tokio::sync::oneshot::Sender<()>),
}

#[derive(Debug, Default)]
struct HubState {
    sessions: HashMap<Arc<str>, Arc<Session>>,
    topics: HashMap<Topic, Vec<Arc<Session>>>,
    /// The topics each session was made a listener of, so forgetting it forgets them all (a
    /// community listened to before READY or a recompute read it included).
    listening: HashMap<Arc<str>, HashSet<Topic>>,
}

impl HubState {
    /// Whether `session` is the one registered under its id (not removed meanwhile).
    fn holds(&self, session: &Arc<Session>) -> bool {
        self.sessions.get(&session.id).is_some_and(|s| Arc::ptr_eq(s, session))
    }

    /// Makes `session` a listener of `topic`; true when it is the topic's first.
    fn listen(&mut self, session: &Arc<Session>, topic: Topic) -> bool {
        if !self.listening.entry(session.id.clone()).or_default().insert(topic) {
            return false;
        }
        let listeners = self.topics.entry(topic).or_default();
        listeners.push(session.clone());
        listeners.len() == 1
    }

    /// Stops `session` listening to `topic`; true when it was the topic's last.
    fn stop(&mut self, session: &Arc<Session>, topic: Topic) -> bool {
        if !self.listening.get_mut(&session.id).is_some_and(|topics| topics.remove(&topic)) {
            return false;
        }
        let Some(listeners) = self.topics.get_mut(&topic) else { return false };
        listeners.retain(|s| !Arc::ptr_eq(s, session));
        let last = listeners.is_empty();
        if last {
            self.topics.remove(&topic);
        }
        last
    }
}

impl Hub {
    /// Starts the hub's tasks: dispatching what `deliveries` brings, applying subscriptions to
    /// `bus`, and forgetting sessions whose resume window passed.
    pub fn start(
        bus: Arc<dyn EventBus>,
        deliveries: mpsc::Receiver<BusDelivery>,
        communities: Communities,
        resume_window: Duration,
    ) -> Arc<Self> {
        let (subscriptions, requests) = mpsc::unbounded_channel();
        let node = uuid::Uuid::new_v4().simple().to_string().into();
        let hub = Arc::new(Self { state: Mutex::default(), subscriptions, communities, node });
        tokio::spawn(apply_subscriptions(bus, requests));
        tokio::spawn(dispatch(Arc::downgrade(&hub), deliveries));
        tokio::spawn(sweep(Arc::downgrade(&hub), resume_window));
        tokio::spawn(renew_presence(Arc::downgrade(&hub)));
        hub
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.state().sessions.get(id).cloned()
    }

    /// Sessions on this node, and how many of them have a connection.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.state();
        (state.sessions.len(), state.sessions.values().filter(|s| s.attached()).count())
    }

    /// Registers a new session, listening to its own topic; it holds events until started.
    pub fn register(self: &Arc<Self>, session: Arc<Session>) {
        session.hold_until_started();
        self.state().sessions.insert(session.id.clone(), session.clone());
        self.carry_out(&session, Follow { subscribe: vec![Topic::User(session.me())], ..Follow::default() });
    }

    /// Subscribes and unsubscribes for a session, and starts the recompute it asked for. A
    /// session no longer registered (swept while a recompute or its READY ran) listens to
    /// nothing more, so it cannot come back into the topics with nobody left to remove it.
    pub fn carry_out(self: &Arc<Self>, session: &Arc<Session>, follow: Follow) {
        let registered = {
            let mut state = self.state();
            let registered = state.holds(session);
            // Sent under the lock, so one topic's changes reach the bus in the order decided.
            for topic in follow.subscribe.into_iter().filter(|_| registered) {
                if state.listen(session, topic) {
                    let _ = self.subscriptions.send(Subscription::Change(topic, true));
                }
            }
            for topic in follow.unsubscribe {
                if state.stop(session, topic) {
                    let _ = self.subscriptions.send(Subscription::Change(topic, false));
                }
            }
            registered
        };
        if let (true, Some(community)) = (registered, follow.recompute) {
            tokio::spawn(recompute(self.clone(), session.clone(), community));
        }
    }

    /// Makes `session` listen to `topics` and returns once the bus delivers them to this node:
    /// from then on their events reach the session (held until it is started, or behind a
    /// recompute), so what is read next cannot miss a change.
    pub async fn listen_first(self: &Arc<Self>, session: &Arc<Session>, topics: Vec<Topic>) {
        self.carry_out(session, Follow { subscribe: topics, ..Follow::default() });
        self.subscriptions_applied().await;
    }

    /// Returns once the bus delivers every topic subscribed so far (a new session's READY
    /// waits for it, so nothing published after READY can miss the node).
    pub async fn subscriptions_applied(&self) {
        let (done, applied) = tokio::sync::oneshot::channel();
        if self.subscriptions.send(Subscription::Barrier(done)).is_ok() {
            let _ = applied.await;
        }
    }

    /// The tracks `session` watches.
    pub fn watched(&self, session: &Arc<Session>) -> Vec<veza_core::id::TrackId> {
        let state = self.state();
        let topics = state.listening.get(&session.id).into_iter().flatten();
        topics.filter_map(|t| if let Topic::Track(id) = t { Some(*id) } else { None }).collect()
    }

    /// Forgets a session and everything it listened to.
    pub fn remove(&self, session: &Arc<Session>) {
        let mut state = self.state();
        if !state.holds(session) {
            return;
        }
        state.sessions.remove(&session.id);
        let topics = state.listening.get(&session.id).cloned().unwrap_or_default();
        for topic in topics {
            if state.stop(session, topic) {
                let _ = self.subscriptions.send(Subscription::Change(topic, false));
            }
        }
        state.listening.remove(&session.id);
    }

    /// Offers an event to every local session listening to its topic.
    fn deliver(self: &Arc<Self>, topic: Topic, envelope: Arc<Envelope>) {
        let listeners = match self.state().topics.get(&topic) {
            Some(listeners) => listeners.clone(),
            None => return,
        };
        for session in listeners {
            let follow = session.offer(topic, &envelope);
            self.carry_out(&session, follow);
        }
    }

    /// The node is stopping: every connection is closed with 1012, and once they are (or after
    /// `wait`) this returns.
    pub async fn close_all(&self, wait: Duration) {
        let sessions: Vec<_> = self.state().sessions.values().cloned().collect();
        for session in &sessions {
            session.invalidate(Close::ServiceRestart);
        }
        let deadline = tokio::time::Instant::now() + wait;
        while sessions.iter().any(|s| s.attached()) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The bus lost events: no session here can be sure it has everything.
    fn gap(&self, why: &'static str) {
        let sessions: Vec<_> = self.state().sessions.values().cloned().collect();
        tracing::warn!(sessions = sessions.len(), why, "events were lost; sessions must re-sync");
        for session in sessions {
            session.invalidate(Close::ResyncRequired);
        }
    }
}

/// Asks the use case which channels of `community` the session's member may view now. Listens
/// to the community first (a no-op when the session already does): whatever is published
/// while the channels are read is held behind the recompute rather than missed.
async fn recompute(hub: Arc<Hub>, session: Arc<Session>, community: CommunityId) {
    hub.listen_first(&session, vec![Topic::Community(community)]).await;
    let visible: Option<Vec<(ChannelId, Arc<str>)>> =
        match hub.communities.list_channels(&session.principal, community).await {
            Ok(views) => Some(
                views
                    .into_iter()
                    .map(|v| {
                        let id = v.channel.id;
                        let data = serde_json::to_string(&crate::wire::ChannelResponse::from(v)).expect("serializes");
                        (id, Arc::<str>::from(data))
                    })
                    .collect(),
            ),
            Err(CoreError::NotFound(_)) => None,
            Err(e) => {
                // Without knowing what the member may see, nothing more can be sent safely.
                tracing::warn!(error = %e, session = %session.id, "cannot recompute a session's channels");
                session.invalidate(Close::ResyncRequired);
                return;
            }
        };
    let follow = session.recomputed(community, visible);
    hub.carry_out(&session, follow);
}

/// Takes events off the bus in order and offers them to the sessions.
async fn dispatch(hub: std::sync::Weak<Hub>, mut deliveries: mpsc::Receiver<BusDelivery>) {
    while let Some(delivery) = deliveries.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        match delivery {
            BusDelivery::Event { topic, .. } if topic == GAP_TOPIC => hub.gap("a node could not publish an event"),
            BusDelivery::Event { topic, payload } => match (parse_topic(&topic), Envelope::from_bus(&payload)) {
                (Some(topic), Some(envelope)) => hub.deliver(topic, Arc::new(envelope)),
                _ => tracing::warn!(topic, "ignoring an event this node cannot read"),
            },
            BusDelivery::Gap => hub.gap("the bus connection was re-made"),
            // The sessions are closed when it is re-made, with what they missed.
            BusDelivery::Lost => {}
        }
    }
}

/// `g:1` → `Topic::Community(1)`; the inverse of `Topic`'s `Display`.
pub fn parse_topic(s: &str) -> Option<Topic> {
    let (kind, id) = s.split_once(':')?;
    let id: i64 = id.parse().ok()?;
    match kind {
        "g" => Some(Topic::Community(CommunityId(id))),
        "u" => Some(Topic::User(veza_core::id::UserId(id))),
        "t" => Some(Topic::Track(veza_core::id::TrackId(id))),
        _ => None,
    }
}

async fn apply_subscriptions(bus: Arc<dyn EventBus>, mut requests: mpsc::UnboundedReceiver<Subscription>) {
    // Every node hears of gaps, whatever its sessions follow; first, so the barrier a session
    // waits on before READY covers it. (Refused while the bus is away, it is re-made with the
    // connection.)
    if let Err(e) = bus.subscribe(GAP_TOPIC).await {
        tracing::warn!(error = %e, "cannot subscribe to gap announcements yet");
    }
    while let Some(request) = requests.recv().await {
        let (topic, on) = match request {
            Subscription::Change(topic, on) => (topic.to_string(), on),
            Subscription::Barrier(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let result = match on {
            true => bus.subscribe(&topic).await,
            false => bus.unsubscribe(&topic).await,
        };
        if let Err(e) = result {
            // The bus adapter re-subscribes everything when its connection comes back.
            tracing::warn!(error = %e, topic, on, "bus subscription change failed");
        }
    }
}

/// How often this node renews the leases of its connections in the presence store, and
/// forgets those of nodes that stopped (a third of the lease).
const RENEW_PRESENCE_EVERY: Duration = Duration::from_secs(30);

async fn renew_presence(hub: std::sync::Weak<Hub>) {
    let mut tick = tokio::time::interval(RENEW_PRESENCE_EVERY);
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        match hub.communities.renew_presence(&hub.node).await {
            Ok(0) => {}
            Ok(lapsed) => tracing::info!(lapsed, "people whose node stopped are offline now"),
            Err(e) => tracing::warn!(error = %e, "cannot renew presence leases"),
        }
    }
}

/// How often sessions past their resume window are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

async fn sweep(hub: std::sync::Weak<Hub>, window: Duration) {
    let mut tick = tokio::time::interval(SWEEP_EVERY.min(window));
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        let expired: Vec<_> = hub.state().sessions.values().filter(|s| s.expired(window)).cloned().collect();
        for session in expired {
            hub.remove(&session);
        }
    }
}

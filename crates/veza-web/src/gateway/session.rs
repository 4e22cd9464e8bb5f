//! One gateway session: who it is, what it may see, and the dispatches it has been sent. A
//! session outlives its connection for the resume window; every dispatch gets the next sequence
//! number and stays in a bounded buffer until the client acknowledges it (the `d` of its
//! heartbeats), so a client that reconnects in time resumes without losing anything.
//!
//! What a session may see is the set of channels its member may view, per community. An event
//! that can change that set (a role, an overwrite, a membership) is held, with everything after
//! it, while the set is recomputed through the same use case REST lists channels with; then the
//! held events are released in order against the new set. So delivery is exact and ordered:
//! nothing from a channel after access to it is lost.
//!
//! The hub listens to a community's topic *before* the state the session is given about it is
//! read (READY, the recompute after a join), and the session holds what comes meanwhile: every
//! event held is judged against that state when released, and an event of a community's topic
//! counts only while the session follows the community. So a ban, a kick or an overwrite that
//! lands while the state is read is never missed, and nothing of a community the session was
//! never shown, or has just left, reaches it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;
use veza_core::accounts::Principal;
use veza_core::chat::event::Topic;
use veza_core::id::{ChannelId, CommunityId, UserId};

use crate::gateway::event::{member_gone, ChannelGone, Effect, Envelope};
use crate::gateway::protocol::Close;

/// Dispatches kept for resuming, acknowledged or not: past it the oldest unacknowledged one
/// would be lost, and the session cannot be resumed.
pub const BUFFER_MAX: usize = 1000;
/// Room an idle session's resume buffer keeps once everything in it is acknowledged.
const IDLE_BUFFER: usize = 8;
/// Dispatches waiting to be written: past it the client is a slow consumer and is disconnected
/// (it can still resume, since the buffer holds more).
pub const OUTBOUND_MAX: u64 = 256;

#[derive(Debug)]
pub struct Session {
    pub id: Arc<str>,
    pub principal: Principal,
    state: Mutex<State>,
    /// Rung when there is something to write or the connection must close.
    pub wake: Notify,
}

/// A change the hub carries out for a session: topics to (un)subscribe and a community whose
/// visible channels must be recomputed.
#[derive(Debug, Default)]
pub struct Follow {
    pub subscribe: Vec<Topic>,
    pub unsubscribe: Vec<Topic>,
    pub recompute: Option<CommunityId>,
}

#[derive(Debug)]
struct State {
    /// The last sequence number given.
    seq: u64,
    /// Dispatches not yet acknowledged, oldest first.
    buffer: VecDeque<(u64, Arc<Envelope>)>,
    /// The last sequence number written to the current connection.
    written: u64,
    /// The connection attached now (0: none); each attach gets a new one.
    connection: u64,
    connections: u64,
    detached_at: Option<Instant>,
    /// Why the attached connection must close.
    close: Option<Close>,
    /// Cannot be resumed any more.
    invalid: bool,
    channels: HashMap<ChannelId, CommunityId>,
    communities: HashSet<CommunityId>,
    /// Events waiting for a recompute or the start, each with the topic it came on, oldest (the
    /// one that asked for the recompute) first.
    held: VecDeque<(Topic, Arc<Envelope>)>,
    /// Registered but not yet started: every event waits in `held` until READY is out.
    starting: bool,
    /// When the credential was last checked against the store (`None`: at the next heartbeat).
    /// Sign-outs arrive as events; this check is the backstop for one that was not announced.
    sign_in_checked: Option<Instant>,
}

/// What a resume found.
#[derive(Debug, PartialEq, Eq)]
pub enum Resumed {
    /// Attached as this connection; the missed dispatches will be written.
    Attached(u64),
    /// The session cannot give back what the client missed.
    Invalid,
    /// The client claims a sequence number never sent.
    BadSeq,
}

impl Session {
    pub fn new(id: Arc<str>, principal: Principal) -> Self {
        let state = State {
            seq: 0,
            buffer: VecDeque::new(),
            written: 0,
            connection: 0,
            connections: 0,
            detached_at: None,
            close: None,
            invalid: false,
            channels: HashMap::new(),
            communities: HashSet::new(),
            held: VecDeque::new(),
            starting: false,
            sign_in_checked: None,
        };
        Self { id, principal, state: Mutex::new(state), wake: Notify::new() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn me(&self) -> UserId {
        self.principal.user_id
    }

    /// Sets what the session sees at identify and attaches the identifying connection; events
    /// that arrived meanwhile were held and are released after `ready`, judged against
    /// `visible` (the hub listened to its communities before they were read).
    pub fn start(&self, visible: Vec<(CommunityId, Vec<ChannelId>)>, ready: Arc<Envelope>) -> (u64, Follow) {
        let mut s = self.state();
        for (community, channels) in visible {
            s.communities.insert(community);
            for channel in channels {
                s.channels.insert(channel, community);
            }
        }
        s.connections += 1;
        s.connection = s.connections;
        s.written = 0;
        s.push(ready, &self.wake);
        s.starting = false;
        let mut follow = Follow::default();
        s.release(self.me(), &self.wake, &mut follow);
        (s.connection, follow)
    }

    /// Holds every event until [`Session::start`]: set before subscribing, so nothing published
    /// between subscribing and READY is lost or sent before READY.
    pub fn hold_until_started(&self) {
        self.state().starting = true;
    }

    /// Offers an event from one of the session's topics.
    pub fn offer(&self, topic: Topic, envelope: &Arc<Envelope>) -> Follow {
        // An ended sign-in closes the sessions it covered at once, starting or not; it is
        // never dispatched nor held.
        if let Effect::SignOut(ended) = envelope.effect {
            if ended.ends(&self.principal.credential) {
                self.invalidate(Close::AuthenticationFailed);
            }
            return Follow::default();
        }
        let mut s = self.state();
        if s.invalid {
            return Follow::default();
        }
        if s.starting || !s.held.is_empty() {
            s.held.push_back((topic, envelope.clone()));
            return Follow::default();
        }
        let mut follow = Follow::default();
        s.decide(topic, envelope, self.me(), &self.wake, &mut follow);
        follow
    }

    /// Applies a recompute of `community`: the channels the member may view now (with each
    /// one's dispatch payload), or `None` when they are no longer a member. Channels that
    /// appeared or vanished are announced to the session, then the held events are released.
    pub fn recomputed(&self, community: CommunityId, now_visible: Option<Vec<(ChannelId, Arc<str>)>>) -> Follow {
        let mut s = self.state();
        let mut follow = Follow::default();
        let mut old: Vec<ChannelId> = s.channels.iter().filter(|(_, c)| **c == community).map(|(ch, _)| *ch).collect();
        old.sort();
        let new: Vec<(ChannelId, Arc<str>)> = now_visible.clone().unwrap_or_default();
        let was = |ch: &ChannelId| old.contains(ch);
        let is = |ch: &ChannelId| new.iter().any(|(c, _)| c == ch);
        for gone in old.iter().filter(|ch| !is(ch)) {
            s.channels.remove(gone);
        }
        for (came, _) in new.iter().filter(|(ch, _)| !was(ch)) {
            s.channels.insert(*came, community);
        }
        // The hub listened to the community before it was read; a member no more (or not yet)
        // stops listening.
        let left = s.communities.contains(&community) && now_visible.is_none();
        match now_visible {
            Some(_) => {
                s.communities.insert(community);
            }
            None => {
                s.communities.remove(&community);
                follow.unsubscribe.push(Topic::Community(community));
            }
        }
        // The event that asked for the recompute, judged against the sets before and after.
        let trigger = s.held.pop_front().map(|(_, envelope)| envelope);
        let about = trigger.as_ref().and_then(|t| t.channel);
        if let Some(trigger) = trigger {
            match (trigger.channel, trigger.name.as_ref()) {
                (Some(ch), "CHANNEL_DELETE") if was(&ch) => s.push(trigger, &self.wake),
                (Some(_), "CHANNEL_DELETE") => {}
                (Some(ch), _) if is(&ch) => {
                    let event = match was(&ch) {
                        true => trigger,
                        false => Arc::new(trigger.renamed("CHANNEL_CREATE")),
                    };
                    s.push(event, &self.wake);
                }
                (Some(ch), _) if was(&ch) => s.push(channel_gone(community, ch), &self.wake),
                (Some(_), _) => {}
                // Community-wide news reaches those still in it, and the one who left.
                (None, _) if now_visible.is_some() || !old.is_empty() => s.push(trigger, &self.wake),
                (None, _) => {}
            }
        }
        // Every other channel that came into view or left it.
        for (ch, data) in new.iter().filter(|(ch, _)| !was(ch) && Some(*ch) != about) {
            let created = Envelope::plain("CHANNEL_CREATE", data.clone()).in_channel(community, *ch);
            s.push(Arc::new(created), &self.wake);
        }
        if now_visible.is_some() {
            for ch in old.iter().filter(|ch| !is(ch) && Some(**ch) != about) {
                s.push(channel_gone(community, *ch), &self.wake);
            }
        }
        if left {
            // Told here, since the community's own events (its MEMBER_REMOVE among them, if it
            // was held behind the trigger) no longer reach a session that left it.
            s.push(Arc::new(member_gone(community, self.me())), &self.wake);
        }
        s.release(self.me(), &self.wake, &mut follow);
        follow
    }

    /// Whether the credential is due a check against the store: at the first heartbeat, then
    /// every `every`.
    pub fn sign_in_due(&self, every: std::time::Duration) -> bool {
        self.state().sign_in_checked.is_none_or(|at| at.elapsed() >= every)
    }

    pub fn sign_in_checked(&self) {
        self.state().sign_in_checked = Some(Instant::now());
    }

    /// Ends the session for good: its connection closes with `close`.
    pub fn invalidate(&self, close: Close) {
        let mut s = self.state();
        s.invalid = true;
        s.close.get_or_insert(close);
        drop(s);
        self.wake.notify_one();
    }

    /// The dispatches connection `connection` should write now, or why it must close.
    pub fn to_write(&self, connection: u64) -> Result<Vec<(u64, Arc<Envelope>)>, Close> {
        let mut s = self.state();
        if s.connection != connection {
            return Err(Close::SessionReplaced);
        }
        if let Some(close) = s.close.take() {
            return Err(close);
        }
        // The buffer holds consecutive sequence numbers: what is unwritten is its tail.
        let first = s.buffer.front().map_or(0, |(seq, _)| *seq);
        let skip = usize::try_from((s.written + 1).saturating_sub(first)).unwrap_or(usize::MAX);
        let out: Vec<_> = s.buffer.iter().skip(skip).cloned().collect();
        if let Some((last, _)) = out.last() {
            s.written = *last;
        }
        Ok(out)
    }

    /// Returns once the attached connection is told to close (a slow consumer, a replaced or
    /// invalidated session), so a write blocked on a full socket need not wait out its
    /// timeout. Takes the wake-ups it sees; the connection looks at its session again after.
    pub async fn closing(&self) {
        while self.close_reason().is_none() {
            self.wake.notified().await;
        }
    }

    /// Why the attached connection must close, if it must.
    pub fn close_reason(&self) -> Option<Close> {
        self.state().close
    }

    /// The client has everything up to `seq`: drops it from the buffer.
    pub fn acknowledge(&self, seq: u64) {
        let mut s = self.state();
        // Nobody can have read what was not written yet.
        let seq = seq.min(s.written);
        while s.buffer.front().is_some_and(|(n, _)| *n <= seq) {
            s.buffer.pop_front();
        }
        // A burst (a READY, a storm of presence updates) grew the buffer; once it is all
        // acknowledged, an idle session gives the room back.
        if s.buffer.is_empty() && s.buffer.capacity() > IDLE_BUFFER {
            s.buffer = VecDeque::with_capacity(IDLE_BUFFER);
        }
    }

    /// The connection ended; the session waits for a resume.
    pub fn detach(&self, connection: u64) {
        let mut s = self.state();
        if s.connection == connection {
            s.connection = 0;
            s.close = None;
            s.detached_at = Some(Instant::now());
        }
    }

    /// Whether a connection is attached.
    pub fn attached(&self) -> bool {
        self.state().connection != 0
    }

    /// Whether the session is done: invalid, or detached longer than `window`.
    pub fn expired(&self, window: std::time::Duration) -> bool {
        let s = self.state();
        s.connection == 0 && (s.invalid || s.detached_at.is_some_and(|at| at.elapsed() > window))
    }

    /// Attaches a resuming connection that has seen everything up to `seq`.
    pub fn resume(&self, seq: u64) -> Resumed {
        let mut s = self.state();
        if s.invalid {
            return Resumed::Invalid;
        }
        if seq > s.seq {
            return Resumed::BadSeq;
        }
        // Everything after `seq` must still be buffered.
        let oldest = s.buffer.front().map_or(s.seq + 1, |(n, _)| *n);
        if oldest > seq + 1 {
            return Resumed::Invalid;
        }
        if s.connection != 0 {
            // Wakes the old connection (not just one waiter: the new one may be waiting too),
            // which then finds it was replaced; if busy, it finds out before it waits again.
            self.wake.notify_waiters();
        }
        s.connections += 1;
        s.connection = s.connections;
        s.written = seq;
        s.close = None;
        s.detached_at = None;
        Resumed::Attached(s.connection)
    }

    /// Adds a dispatch that is not an event (RESUMED).
    pub fn push_own(&self, envelope: Envelope) {
        self.state().push(Arc::new(envelope), &self.wake);
    }

    #[cfg(test)]
    fn sequence(&self) -> Vec<(u64, String)> {
        self.state().buffer.iter().map(|(n, e)| (*n, e.name.to_string())).collect()
    }
}

/// `CHANNEL_DELETE` for a session that may no longer see the channel: its id, nothing more.
fn channel_gone(community: CommunityId, ch: ChannelId) -> Arc<Envelope> {
    let gone = ChannelGone { id: ch, community_id: community };
    let data = serde_json::to_string(&gone).expect("serializes");
    Arc::new(Envelope::plain("CHANNEL_DELETE", data).in_channel(community, ch))
}

impl State {
    /// Gives the event the next sequence number and buffers it for writing.
    fn push(&mut self, envelope: Arc<Envelope>, wake: &Notify) {
        self.seq += 1;
        self.buffer.push_back((self.seq, envelope));
        if self.buffer.len() > BUFFER_MAX {
            // The oldest unacknowledged dispatch goes. Written already, it only means resuming
            // from before it is impossible (resume checks that); never written, it is lost to
            // this session, which therefore ends.
            if let Some((dropped, _)) = self.buffer.pop_front() {
                if dropped > self.written {
                    self.invalid = true;
                    if self.connection != 0 {
                        self.close.get_or_insert(Close::SlowConsumer);
                    }
                }
            }
        }
        if self.connection != 0 && self.seq - self.written > OUTBOUND_MAX {
            self.close.get_or_insert(Close::SlowConsumer);
        }
        wake.notify_one();
    }

    /// Sends, drops or holds one event not held behind others.
    fn decide(&mut self, topic: Topic, envelope: &Arc<Envelope>, me: UserId, wake: &Notify, follow: &mut Follow) {
        // A community's topic counts only while the session follows the community: not one
        // READY left out, nor one a recompute or a departure has just taken away.
        if let Topic::Community(c) = topic {
            if !self.communities.contains(&c) {
                return;
            }
        }
        let community = envelope.community;
        let recompute = match envelope.effect {
            Effect::Recompute | Effect::Join => true,
            Effect::RecomputeFor(user) => user == me,
            Effect::None | Effect::Leave(_) | Effect::Dissolve | Effect::SignOut(_) => false,
        };
        if let (true, Some(community)) = (recompute, community) {
            self.held.push_back((topic, envelope.clone()));
            follow.recompute = Some(community);
            return;
        }
        if envelope.channel.is_some_and(|ch| !self.channels.contains_key(&ch)) {
            return;
        }
        self.push(envelope.clone(), wake);
        let leaving = match envelope.effect {
            Effect::Leave(user) => user == me,
            Effect::Dissolve => true,
            _ => false,
        };
        if let (true, Some(community)) = (leaving, community) {
            self.communities.remove(&community);
            follow.unsubscribe.push(Topic::Community(community));
            self.channels.retain(|_, c| *c != community);
        }
    }

    /// Releases held events in order until one asks for a recompute.
    fn release(&mut self, me: UserId, wake: &Notify, follow: &mut Follow) {
        while let Some((topic, next)) = self.held.pop_front() {
            self.decide(topic, &next, me, wake, follow);
            if follow.recompute.is_some() {
                // `decide` held it again, at the back: it belongs at the front.
                if let Some(again) = self.held.pop_back() {
                    self.held.push_front(again);
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use veza_core::accounts::Credential;
    use veza_core::id::SessionId;

    use super::*;

    fn session() -> Session {
        let principal = Principal {
            user_id: UserId(1),
            role: veza_core::user::Role::User,
            credential: Credential::Session(SessionId(1)),
        };
        Session::new("s".into(), principal)
    }

    fn event(name: &str, channel: Option<i64>, effect: Effect) -> Arc<Envelope> {
        Arc::new(Envelope {
            name: name.into(),
            data: "{}".into(),
            community: Some(CommunityId(9)),
            channel: channel.map(ChannelId),
            effect,
        })
    }

    const G9: Topic = Topic::Community(CommunityId(9));

    fn started() -> Session {
        let s = session();
        s.hold_until_started();
        let (_, follow) = s.start(vec![(CommunityId(9), vec![ChannelId(1)])], event("READY", None, Effect::None));
        assert!(follow.subscribe.is_empty() && follow.unsubscribe.is_empty(), "the hub listened before READY");
        s
    }

    fn names(s: &Session) -> Vec<String> {
        s.sequence().into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn a_removal_held_during_ready_is_sent_after_it_and_ends_the_community() {
        let s = session();
        s.hold_until_started();
        // Published after READY's read, before the start: held, then judged against READY.
        s.offer(G9, &event("MEMBER_REMOVE", None, Effect::Leave(UserId(1))));
        s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        let (_, follow) = s.start(vec![(CommunityId(9), vec![ChannelId(1)])], event("READY", None, Effect::None));
        assert_eq!(follow.unsubscribe, [G9]);
        assert_eq!(names(&s), ["READY", "MEMBER_REMOVE"]);
        s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        assert_eq!(names(&s), ["READY", "MEMBER_REMOVE"], "nothing of the community after");
    }

    #[test]
    fn a_sign_out_closes_the_sessions_it_covers_at_once_and_is_never_dispatched() {
        use veza_core::accounts::SignedOut;
        let me = Topic::User(UserId(1));
        let sign_out = |ended| Arc::new(Envelope::plain("SIGNED_OUT", "{}").with_effect(Effect::SignOut(ended)));
        let s = started();
        s.offer(me, &sign_out(SignedOut::Session(SessionId(2))));
        s.offer(me, &sign_out(SignedOut::Sessions { keep: Some(SessionId(1)) }));
        s.offer(me, &sign_out(SignedOut::ApiKey(veza_core::id::ApiKeyId(1))));
        assert_eq!(s.to_write(1).map(|f| f.len()), Ok(1), "READY only: other sign-ins' ends pass it by");
        s.offer(me, &sign_out(SignedOut::Sessions { keep: None }));
        assert_eq!(s.to_write(1).map(|f| f.len()), Err(Close::AuthenticationFailed));
        assert_eq!(s.resume(1), Resumed::Invalid, "and it cannot be resumed");
        // A session still starting is closed too, not held behind READY.
        let starting = session();
        starting.hold_until_started();
        starting.offer(me, &sign_out(SignedOut::Account));
        assert_eq!(starting.resume(0), Resumed::Invalid);
    }

    #[test]
    fn a_community_ready_left_out_sends_nothing() {
        let s = session();
        s.hold_until_started();
        s.offer(G9, &event("MEMBER_UPDATE", None, Effect::None));
        s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        s.start(vec![], event("READY", None, Effect::None));
        s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        assert_eq!(names(&s), ["READY"]);
    }

    #[test]
    fn a_recompute_that_finds_the_member_gone_drops_what_was_held_and_says_so_once() {
        let s = started();
        let follow = s.offer(G9, &event("ROLE_UPDATE", None, Effect::Recompute));
        assert_eq!(follow.recompute, Some(CommunityId(9)));
        // Channel-less news of the community, held behind the recompute.
        s.offer(G9, &event("MEMBER_UPDATE", None, Effect::None));
        let mut presence = (*event("PRESENCE_UPDATE", None, Effect::None)).clone();
        presence.community = None;
        s.offer(G9, &Arc::new(presence));
        s.offer(G9, &event("MEMBER_REMOVE", None, Effect::Leave(UserId(1))));
        s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        let follow = s.recomputed(CommunityId(9), None);
        assert_eq!(follow.unsubscribe, [G9]);
        assert_eq!(names(&s), ["READY", "ROLE_UPDATE", "MEMBER_REMOVE"]);
    }

    #[test]
    fn a_recompute_of_a_community_never_joined_stops_listening_to_it() {
        let s = started();
        let follow = s.recomputed(CommunityId(7), None);
        assert_eq!(follow.unsubscribe, [Topic::Community(CommunityId(7))]);
        assert_eq!(names(&s), ["READY"]);
    }

    #[test]
    fn events_wait_behind_a_recompute_and_are_judged_by_its_result() {
        let s = started();
        s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        s.offer(G9, &event("MESSAGE_CREATE", Some(2), Effect::None)); // not visible: dropped
        let follow = s.offer(G9, &event("CHANNEL_UPDATE", Some(2), Effect::Recompute));
        assert_eq!(follow.recompute, Some(CommunityId(9)));
        s.offer(G9, &event("MESSAGE_UPDATE", Some(2), Effect::None)); // held behind it
        let follow = s.recomputed(CommunityId(9), Some(vec![(ChannelId(2), "{}".into())]));
        assert!(follow.subscribe.is_empty() && follow.unsubscribe.is_empty(), "still in the community");
        let names: Vec<_> = s.sequence().into_iter().map(|(_, n)| n).collect();
        // #2 came into view (announced as created), #1 left it, then the held update of #2.
        assert_eq!(names, ["READY", "MESSAGE_CREATE", "CHANNEL_CREATE", "CHANNEL_DELETE", "MESSAGE_UPDATE"]);
        assert_eq!(s.sequence().iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_reader_too_slow_is_told_to_go_and_a_buffer_overrun_ends_the_session() {
        let s = started();
        for _ in 0..OUTBOUND_MAX {
            s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        }
        assert_eq!(s.to_write(1).map(|f| f.len()), Err(Close::SlowConsumer));
        s.detach(1);
        assert!(matches!(s.resume(100), Resumed::Attached(2)), "nothing was lost yet");
        s.acknowledge(100);
        s.detach(2);
        for _ in 0..=BUFFER_MAX {
            s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
        }
        assert_eq!(s.resume(100), Resumed::Invalid);
        assert_eq!(s.resume(1_000_000), Resumed::Invalid);
    }

    #[test]
    fn a_live_client_that_never_acknowledges_keeps_receiving() {
        let s = started();
        assert_eq!(s.to_write(1).map(|f| f.len()), Ok(1), "READY");
        for _ in 0..3 * BUFFER_MAX {
            s.offer(G9, &event("MESSAGE_CREATE", Some(1), Effect::None));
            let written = s.to_write(1).expect("still attached");
            assert_eq!(written.len(), 1);
        }
        assert_eq!(s.resume(0), Resumed::Invalid, "the oldest dispatches are gone");
    }
}

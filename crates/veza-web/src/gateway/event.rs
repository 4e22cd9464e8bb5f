//! Chat events as the gateway sends them: each committed change is encoded once into a dispatch
//! name and JSON payload (the same wire types REST answers with), plus what a session needs to
//! route it without parsing it: the channel it concerns and whether it changes what the session
//! may see. The [`Publisher`] hands encoded events to the bus, one per topic.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use veza_core::accounts::SignedOut;
use veza_core::chat::channel::{Channel, ChannelKind};
use veza_core::chat::event::{ChatEvent, Place, Topic};
use veza_core::id::{ApiKeyId, ChannelId, CommunityId, MessageId, RoleId, SessionId, UserId};
use veza_core::ports::{ChatEvents, EventBus};

use crate::wire::{
    ChannelResponse, CommunityResponse, DirectChannelResponse, MemberResponse, MessageResponse, PresenceResponse,
    ReadStateResponse, RoleResponse,
};

/// How an event changes what sessions may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Anyone in the community may see different channels now.
    Recompute,
    /// This member may see different channels now.
    RecomputeFor(UserId),
    /// This member is out of the community.
    Leave(UserId),
    /// The community is gone.
    Dissolve,
    /// The receiving person (a `u:` topic) is in a new community.
    Join,
    /// Sign-ins of the receiving person ended: the sessions they covered close (4004). Never
    /// dispatched.
    SignOut(SignedOut),
}

/// One event, encoded for every session that will receive it.
///
/// `channel` is the channel whose view permission gates the event: for a thread's events, the
/// thread's parent (a thread is visible exactly to those who may view its parent), so sessions
/// keep only channels, never threads, in what they may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The dispatch name, `MESSAGE_CREATE`.
    pub name: Arc<str>,
    /// The dispatch payload, JSON.
    pub data: Arc<str>,
    pub community: Option<CommunityId>,
    /// The channel the event is about: a session that may not view it gets nothing.
    pub channel: Option<ChannelId>,
    pub effect: Effect,
}

impl Envelope {
    /// A dispatch of `data` (already JSON) concerning no channel and changing nothing.
    pub fn plain(name: &str, data: impl Into<Arc<str>>) -> Self {
        Self { name: name.into(), data: data.into(), community: None, channel: None, effect: Effect::None }
    }

    fn new(name: &str, data: &impl Serialize) -> Self {
        Self::plain(name, serde_json::to_string(data).expect("wire types serialize"))
    }

    /// The same, about one channel of a community.
    pub fn in_channel(mut self, community: CommunityId, channel: ChannelId) -> Self {
        self.community = Some(community);
        self.channel = Some(channel);
        self
    }

    fn in_community(mut self, community: CommunityId, effect: Effect) -> Self {
        self.community = Some(community);
        self.effect = effect;
        self
    }

    /// The same payload under another name (a channel a session now sees is, to it, created).
    pub fn renamed(&self, name: &str) -> Self {
        Self { name: name.into(), ..self.clone() }
    }

    /// The bus's form: one header line (`NAME effect community channel`), then the payload.
    pub fn to_bus(&self) -> String {
        let id = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
        let effect = match self.effect {
            Effect::None => "-".to_string(),
            Effect::Recompute => "r".to_string(),
            Effect::RecomputeFor(u) => format!("r:{u}"),
            Effect::Leave(u) => format!("l:{u}"),
            Effect::Dissolve => "x".to_string(),
            Effect::Join => "j".to_string(),
            Effect::SignOut(SignedOut::Session(s)) => format!("o:s{s}"),
            Effect::SignOut(SignedOut::Sessions { keep: Some(s) }) => format!("o:o{s}"),
            Effect::SignOut(SignedOut::Sessions { keep: None }) => "o:o".to_string(),
            Effect::SignOut(SignedOut::ApiKey(k)) => format!("o:k{k}"),
            Effect::SignOut(SignedOut::Account) => "o:a".to_string(),
        };
        format!(
            "{} {effect} {} {}\n{}",
            self.name,
            id(self.community.map(|c| c.0)),
            id(self.channel.map(|c| c.0)),
            self.data
        )
    }

    /// Reads the bus's form back; `None` for anything else (another version's or garbage).
    pub fn from_bus(payload: &str) -> Option<Self> {
        let (header, data) = payload.split_once('\n')?;
        let mut parts = header.split(' ');
        let name = parts.next().filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))?;
        let user = |s: &str| s.parse::<i64>().ok().map(UserId);
        let effect = match parts.next()? {
            "-" => Effect::None,
            "r" => Effect::Recompute,
            "x" => Effect::Dissolve,
            "j" => Effect::Join,
            other => match other.split_once(':')? {
                ("r", u) => Effect::RecomputeFor(user(u)?),
                ("l", u) => Effect::Leave(user(u)?),
                ("o", ended) => Effect::SignOut(sign_out_from_bus(ended)?),
                _ => return None,
            },
        };
        let id = |s: Option<&str>| -> Option<Option<i64>> {
            match s? {
                "-" => Some(None),
                n => n.parse().ok().map(Some),
            }
        };
        let community = id(parts.next())?.map(CommunityId);
        let channel = id(parts.next())?.map(ChannelId);
        if parts.next().is_some() || serde_json::from_str::<&serde_json::value::RawValue>(data).is_err() {
            return None;
        }
        Some(Self { name: name.into(), data: data.into(), community, channel, effect })
    }
}

/// `s1` one session, `o` / `o1` every session (but one), `k1` a key, `a` the account.
fn sign_out_from_bus(s: &str) -> Option<SignedOut> {
    let id = |n: &str| n.parse::<i64>().ok();
    Some(match s.split_at_checked(1)? {
        ("s", n) => SignedOut::Session(SessionId(id(n)?)),
        ("o", "") => SignedOut::Sessions { keep: None },
        ("o", n) => SignedOut::Sessions { keep: Some(SessionId(id(n)?)) },
        ("k", n) => SignedOut::ApiKey(ApiKeyId(id(n)?)),
        ("a", "") => SignedOut::Account,
        _ => return None,
    })
}

#[derive(Serialize)]
struct MessageRef {
    id: MessageId,
    channel_id: ChannelId,
}

#[derive(Serialize)]
struct Purge {
    community_id: CommunityId,
    user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
}

#[derive(Serialize)]
struct Reaction<'a> {
    channel_id: ChannelId,
    message_id: MessageId,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emoji: Option<&'a str>,
}

#[derive(Serialize)]
struct DirectChannelGone {
    id: ChannelId,
}

#[derive(Serialize)]
struct ThreadMemberChange {
    thread_id: ChannelId,
    user_id: UserId,
    joined: bool,
}

#[derive(Serialize)]
struct PinChange {
    channel_id: ChannelId,
    message_id: MessageId,
    pinned: bool,
}

#[derive(Serialize)]
struct Typing {
    channel_id: ChannelId,
    user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    until: OffsetDateTime,
}

/// What a session that can no longer see a channel is told: that it is gone, and nothing more.
#[derive(Debug, Serialize)]
pub struct ChannelGone {
    pub id: ChannelId,
    pub community_id: CommunityId,
}

#[derive(Serialize)]
struct TrackProcessed {
    id: veza_core::id::TrackId,
    state: veza_core::catalog::track::TrackState,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

#[derive(Serialize)]
struct CommunityGone {
    id: CommunityId,
}

#[derive(Serialize)]
struct RoleGone {
    community_id: CommunityId,
    role_id: RoleId,
}

#[derive(Serialize)]
struct MemberGone {
    community_id: CommunityId,
    user_id: UserId,
}

/// `MEMBER_REMOVE` of `user` from `community`, for a session that finds it was removed (a
/// recompute that no longer sees the community) rather than hearing the event itself.
pub fn member_gone(community: CommunityId, user: UserId) -> Envelope {
    Envelope::new("MEMBER_REMOVE", &MemberGone { community_id: community, user_id: user })
        .in_community(community, Effect::Leave(user))
}

/// The event as sent on each of its topics.
pub fn encode(event: ChatEvent) -> Vec<(Topic, Envelope)> {
    let topics = event.topics();
    let envelope = match event {
        ChatEvent::MessageCreated { place, message } => {
            Envelope::new("MESSAGE_CREATE", &MessageResponse::from(message)).at(place)
        }
        ChatEvent::MessageUpdated { place, message } => {
            Envelope::new("MESSAGE_UPDATE", &MessageResponse::from(message)).at(place)
        }
        ChatEvent::MessageDeleted { place, channel_id, message_id } => {
            Envelope::new("MESSAGE_DELETE", &MessageRef { id: message_id, channel_id }).at(place)
        }
        ChatEvent::MessagesPurged { community_id, user_id, since } => {
            Envelope::new("MESSAGE_PURGE", &Purge { community_id, user_id, since })
                .in_community(community_id, Effect::None)
        }
        ChatEvent::ReactionAdded { place, channel_id, message_id, user_id, emoji } => {
            let d = Reaction { channel_id, message_id, user_id: Some(user_id), emoji: Some(&emoji) };
            Envelope::new("REACTION_ADD", &d).at(place)
        }
        ChatEvent::ReactionRemoved { place, channel_id, message_id, user_id, emoji } => {
            let d = Reaction { channel_id, message_id, user_id: Some(user_id), emoji: Some(&emoji) };
            Envelope::new("REACTION_REMOVE", &d).at(place)
        }
        ChatEvent::ReactionsCleared { place, channel_id, message_id, emoji } => {
            let d = Reaction { channel_id, message_id, user_id: None, emoji: emoji.as_deref() };
            Envelope::new("REACTION_REMOVE_ALL", &d).at(place)
        }
        ChatEvent::PinsChanged { place, channel_id, message_id, pinned } => {
            Envelope::new("PINS_UPDATE", &PinChange { channel_id, message_id, pinned }).at(place)
        }
        ChatEvent::Typing { place, channel_id, user_id, until } => {
            Envelope::new("TYPING_START", &Typing { channel_id, user_id, until }).at(place)
        }
        ChatEvent::ThreadMemberChanged { place, thread_id, user_id, joined } => {
            Envelope::new("THREAD_MEMBER_UPDATE", &ThreadMemberChange { thread_id, user_id, joined }).at(place)
        }
        ChatEvent::ChannelCreated(c) => channel_event("CHANNEL_CREATE", c),
        ChatEvent::DirectChannelSaved { channel, created } => {
            let name = if created { "CHANNEL_CREATE" } else { "CHANNEL_UPDATE" };
            Envelope::new(name, &DirectChannelResponse::from(channel))
        }
        ChatEvent::DirectChannelLeft { channel_id, .. } => {
            Envelope::new("CHANNEL_DELETE", &DirectChannelGone { id: channel_id })
        }
        ChatEvent::ChannelUpdated(c) => channel_event("CHANNEL_UPDATE", c),
        ChatEvent::ChannelDeleted(c) => {
            let (id, community_id, place) = (c.id, c.community_id, Place::of(&c));
            let gone = Envelope::new("CHANNEL_DELETE", &ChannelGone { id, community_id }).at(place);
            // A thread's going changes nothing of what anyone may view.
            match c.kind {
                ChannelKind::Thread => gone,
                _ => gone.with_effect(Effect::Recompute),
            }
        }
        ChatEvent::CommunityCreated(c) => {
            let id = c.id;
            Envelope::new("COMMUNITY_CREATE", &CommunityResponse::from(c)).in_community(id, Effect::Join)
        }
        ChatEvent::CommunityUpdated(c) => {
            let id = c.id;
            Envelope::new("COMMUNITY_UPDATE", &CommunityResponse::from(c)).in_community(id, Effect::None)
        }
        ChatEvent::CommunityDeleted(id) => {
            Envelope::new("COMMUNITY_DELETE", &CommunityGone { id }).in_community(id, Effect::Dissolve)
        }
        ChatEvent::RoleSaved(r) => {
            let id = r.community_id;
            Envelope::new("ROLE_UPDATE", &RoleResponse::from(r)).in_community(id, Effect::Recompute)
        }
        ChatEvent::RoleDeleted { community_id, role_id } => {
            Envelope::new("ROLE_DELETE", &RoleGone { community_id, role_id })
                .in_community(community_id, Effect::Recompute)
        }
        ChatEvent::MemberJoined(m) => {
            let id = m.community_id;
            Envelope::new("MEMBER_ADD", &MemberResponse::from(m)).in_community(id, Effect::None)
        }
        ChatEvent::MemberUpdated(m) => {
            let (id, user) = (m.community_id, m.user_id);
            Envelope::new("MEMBER_UPDATE", &MemberResponse::from(m)).in_community(id, Effect::RecomputeFor(user))
        }
        ChatEvent::MemberRemoved { community_id, user_id } => {
            Envelope::new("MEMBER_REMOVE", &MemberGone { community_id, user_id })
                .in_community(community_id, Effect::Leave(user_id))
        }
        ChatEvent::ReadStateChanged { state, .. } => {
            Envelope::new("READ_STATE_UPDATE", &ReadStateResponse::from(state))
        }
        ChatEvent::PresenceChanged { presence, .. } => {
            Envelope::new("PRESENCE_UPDATE", &PresenceResponse::from(presence))
        }
        ChatEvent::TrackProcessed { track_id, state, failure, .. } => {
            Envelope::new("TRACK_UPDATE", &TrackProcessed { id: track_id, state, failure })
        }
        ChatEvent::CommentPosted { comment, author, .. } => {
            Envelope::new("TRACK_COMMENT_CREATE", &crate::wire::CommentResponse::new(comment, author.map(|a| *a)))
        }
        ChatEvent::SignedOut { ended, .. } => Envelope::plain("SIGNED_OUT", "{}").with_effect(Effect::SignOut(ended)),
    };
    topics
        .into_iter()
        .map(|topic| {
            // A newcomer's own sessions learn of the join on their personal topic.
            let envelope = match (topic, envelope.name.as_ref()) {
                (Topic::User(_), "MEMBER_ADD") => envelope.clone().with_effect(Effect::Join),
                _ => envelope.clone(),
            };
            (topic, envelope)
        })
        .collect()
}

fn channel_event(name: &str, channel: Channel) -> Envelope {
    let (kind, place) = (channel.kind, Place::of(&channel));
    let envelope = Envelope::new(name, &ChannelResponse::from(channel)).at(place);
    // A thread is seen through its parent: making or changing one changes nobody's view.
    match kind {
        ChannelKind::Thread => envelope,
        _ => envelope.with_effect(Effect::Recompute),
    }
}

impl Envelope {
    /// About a channel (or thread) of a community, seen by whoever may view its gate; or about
    /// a conversation, which goes to its people only and so needs no gate.
    fn at(self, place: Place) -> Self {
        match place {
            Place::Community { community_id, gate } => self.in_channel(community_id, gate),
            Place::Direct { .. } => self,
        }
    }

    pub fn with_effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }
}

/// The bus topic that tells every node its sessions may have missed events: an event a node
/// committed could not be published.
pub const GAP_TOPIC: &str = "gap";

/// How often an owed gap announcement is tried while the bus refuses it.
const GAP_RETRY_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// How long it is tried at most.
const GAP_ANNOUNCE_FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// The chat use cases' announcements, encoded and put on the bus. An event the bus refuses is
/// stored but may have reached no session, on any node: the publisher then owes
/// the cluster a gap, which it announces on [`GAP_TOPIC`] as soon as the bus takes it, and
/// every node closes its sessions with 4012 so their clients re-sync.
#[derive(Debug, Clone)]
pub struct Publisher {
    bus: Arc<dyn EventBus>,
    failures: Arc<std::sync::atomic::AtomicU64>,
    gap_owed: Arc<std::sync::atomic::AtomicBool>,
}

impl Publisher {
    pub fn new(bus: Arc<dyn EventBus>) -> Self {
        Self { bus, failures: Arc::default(), gap_owed: Arc::default() }
    }

    /// Announces a gap once the bus takes it, however long that is. Only one announcer runs
    /// at a time; a failure after it cleared the debt starts another (a second gap is harmless,
    /// a missed one is not).
    fn owe_gap(&self) {
        use std::sync::atomic::Ordering;
        if self.gap_owed.swap(true, Ordering::SeqCst) {
            return;
        }
        let (bus, owed) = (self.bus.clone(), self.gap_owed.clone());
        tokio::spawn(async move {
            let give_up = tokio::time::Instant::now() + GAP_ANNOUNCE_FOR;
            loop {
                tokio::time::sleep(GAP_RETRY_EVERY).await;
                if tokio::time::Instant::now() > give_up {
                    // Every node's own subscriber will have been re-made (a gap of its own) in
                    // any outage this long; this one is the node stopping.
                    tracing::warn!("gave up announcing a gap: the bus has not taken it for an hour");
                    return;
                }
                owed.store(false, Ordering::SeqCst);
                // Taken once it reached a subscriber (this node's own at least, which every node
                // keeps): published while no subscriber is connected, it would reach no one.
                match bus.publish(GAP_TOPIC, "{}".into()).await {
                    Ok(receivers) if receivers > 0 => {
                        tracing::warn!(receivers, "announced a gap: every node's sessions re-sync");
                        return;
                    }
                    _ if owed.swap(true, Ordering::SeqCst) => return, // another announcer took over
                    _ => {}
                }
            }
        });
    }

    /// Events the bus refused since start (they are stored; live delivery missed them).
    pub fn failures(&self) -> u64 {
        self.failures.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl ChatEvents for Publisher {
    async fn publish(&self, event: ChatEvent) {
        for (topic, envelope) in encode(event) {
            // Not retried: a publish that timed out may still be carried out by the bus, and a
            // retry would then deliver the event twice. The gap covers it either way.
            if let Err(e) = self.bus.publish(&topic.to_string(), envelope.to_bus().into()).await {
                self.failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, %topic, event = %envelope.name, "event not published; sessions will be told to re-sync");
                self.owe_gap();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bus_form_reads_back_and_garbage_does_not() {
        let e = Envelope {
            name: "MEMBER_REMOVE".into(),
            data: r#"{"a":1}"#.into(),
            community: Some(CommunityId(5)),
            channel: None,
            effect: Effect::Leave(UserId(9)),
        };
        assert_eq!(Envelope::from_bus(&e.to_bus()), Some(e.clone()));
        let e = Envelope { channel: Some(ChannelId(3)), effect: Effect::RecomputeFor(UserId(2)), ..e };
        assert_eq!(Envelope::from_bus(&e.to_bus()), Some(e));
        for ended in [
            SignedOut::Session(SessionId(7)),
            SignedOut::Sessions { keep: None },
            SignedOut::Sessions { keep: Some(SessionId(8)) },
            SignedOut::ApiKey(ApiKeyId(9)),
            SignedOut::Account,
        ] {
            let e = Envelope::plain("SIGNED_OUT", "{}").with_effect(Effect::SignOut(ended));
            assert_eq!(Envelope::from_bus(&e.to_bus()), Some(e), "{ended:?}");
        }
        for bad in ["", "X - - -", "X - - -\nnot json", "x - - -\n{}", "X q - -\n{}", "X - 1 2 3\n{}", "X r:z - -\n{}"]
            .into_iter()
            .chain(["X o:x1 - -\n{}", "X o:s - -\n{}", "X o:a1 - -\n{}", "X o:kz - -\n{}", "X o: - -\n{}"])
        {
            assert_eq!(Envelope::from_bus(bad), None, "{bad:?}");
        }
    }
}

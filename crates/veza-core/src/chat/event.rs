//! What the chat use cases announce once a change is committed, and to whom: each event names
//! the topics it goes out on (a channel, a community, or one person). The gateway turns events
//! into its dispatches and decides, session by session, who may see them; the bus carries them
//! between nodes. Nothing is announced before it is stored.

use time::OffsetDateTime;

use crate::catalog::track::TrackState;
use crate::chat::channel::{Channel, DirectChannel};
use crate::chat::community::{Community, CommunityRole, Member};
use crate::chat::message::{Message, ReadState};
use crate::chat::presence::Presence;
use crate::id::{ChannelId, CommunityId, MessageId, RoleId, TrackId, UserId};
use crate::social::comments::Comment;
use crate::social::Person;

/// Where a change in a channel happened, and so who hears of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A community's channel: its members who may view `gate` (the channel itself, or a
    /// thread's parent: see [`Channel::gate`]).
    Community { community_id: CommunityId, gate: ChannelId },
    /// A direct conversation: the people in it.
    Direct { recipients: Vec<UserId> },
}

impl Place {
    pub fn of(channel: &Channel) -> Self {
        Self::Community { community_id: channel.community_id, gate: channel.gate() }
    }

    pub fn direct(channel: &DirectChannel) -> Self {
        Self::Direct { recipients: channel.recipients.clone() }
    }

    fn topics(&self) -> Vec<Topic> {
        match self {
            Self::Community { community_id, .. } => vec![Topic::Community(*community_id)],
            Self::Direct { recipients } => recipients.iter().map(|u| Topic::User(*u)).collect(),
        }
    }
}

/// A committed change in chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    MessageCreated {
        place: Place,
        message: Message,
    },
    MessageUpdated {
        place: Place,
        message: Message,
    },
    MessageDeleted {
        place: Place,
        channel_id: ChannelId,
        message_id: MessageId,
    },
    /// A ban removed what `user_id` posted in the community since `since`.
    MessagesPurged {
        community_id: CommunityId,
        user_id: UserId,
        since: OffsetDateTime,
    },
    ReactionAdded {
        place: Place,
        channel_id: ChannelId,
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    ReactionRemoved {
        place: Place,
        channel_id: ChannelId,
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    /// Every reaction (or every one with `emoji`) was removed by a moderator.
    ReactionsCleared {
        place: Place,
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: Option<String>,
    },
    PinsChanged {
        place: Place,
        channel_id: ChannelId,
        message_id: MessageId,
        pinned: bool,
    },
    /// Someone started typing; clients show it until `until` unless a message comes first.
    Typing {
        place: Place,
        channel_id: ChannelId,
        user_id: UserId,
        until: OffsetDateTime,
    },
    ChannelCreated(Channel),
    /// A direct conversation started (`created`), or changed (someone came or went): to the
    /// people in it now.
    DirectChannelSaved {
        channel: DirectChannel,
        created: bool,
    },
    /// Someone left (or was removed from) a group conversation: to them.
    DirectChannelLeft {
        channel_id: ChannelId,
        user_id: UserId,
    },
    /// Someone joined (`joined`) or left a thread.
    ThreadMemberChanged {
        place: Place,
        thread_id: ChannelId,
        user_id: UserId,
        joined: bool,
    },
    /// Also sent when the channel's overwrites change.
    ChannelUpdated(Channel),
    ChannelDeleted(Channel),
    CommunityCreated(Community),
    CommunityUpdated(Community),
    CommunityDeleted(CommunityId),
    RoleSaved(CommunityRole),
    RoleDeleted {
        community_id: CommunityId,
        role_id: RoleId,
    },
    MemberJoined(Member),
    MemberUpdated(Member),
    /// Left, kicked or banned.
    MemberRemoved {
        community_id: CommunityId,
        user_id: UserId,
    },
    /// What others see of someone changed (or may have: it is sent on every change of their
    /// connections and setting); to every community they are in.
    PresenceChanged {
        communities: Vec<CommunityId>,
        presence: Presence,
    },
    /// One of the person's sessions acknowledged a channel; their other sessions follow.
    ReadStateChanged {
        user_id: UserId,
        state: ReadState,
    },
    /// Sign-ins of the person ended (a logout, a revoked key, a disabled account): their
    /// gateway connections close. (Not chat, but it travels the same bus to the same sessions.)
    SignedOut {
        user_id: UserId,
        ended: crate::accounts::SignedOut,
    },
    /// One of the person's tracks finished processing: ready, or failed with a reason. (Not
    /// chat, but it travels the same bus to the same sessions.)
    TrackProcessed {
        owner_id: UserId,
        track_id: TrackId,
        state: TrackState,
        failure: Option<String>,
    },
    /// A timed comment was posted on a track, for the sessions watching it; `author` is `None`
    /// when the account is disabled. On a private track (one that may have gone private since
    /// someone watched it) it goes to the owner's own sessions only.
    CommentPosted {
        comment: Comment,
        author: Option<Box<Person>>,
        owner_only: Option<UserId>,
    },
}

/// Where an event goes out. A channel's events go to its community's topic, where every member
/// listens whichever channels they may view (sessions filter by what they may see): so a
/// member who comes to see a channel is already listening, and misses nothing of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every member of the community.
    Community(CommunityId),
    /// One person's sessions.
    User(UserId),
    /// The sessions watching a track (its new comments).
    Track(TrackId),
}

impl std::fmt::Display for Topic {
    /// `g:456`, `u:789`: the bus's topic names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Community(id) => write!(f, "g:{id}"),
            Self::User(id) => write!(f, "u:{id}"),
            Self::Track(id) => write!(f, "t:{id}"),
        }
    }
}

impl ChatEvent {
    /// The topics the event is published on, in order.
    pub fn topics(&self) -> Vec<Topic> {
        use ChatEvent::*;
        match self {
            MessageCreated { place, .. }
            | MessageUpdated { place, .. }
            | MessageDeleted { place, .. }
            | ReactionAdded { place, .. }
            | ReactionRemoved { place, .. }
            | ReactionsCleared { place, .. }
            | PinsChanged { place, .. }
            | Typing { place, .. }
            | ThreadMemberChanged { place, .. } => place.topics(),
            DirectChannelSaved { channel, .. } => Place::direct(channel).topics(),
            DirectChannelLeft { user_id, .. } => vec![Topic::User(*user_id)],
            ChannelCreated(c) | ChannelUpdated(c) | ChannelDeleted(c) => vec![Topic::Community(c.community_id)],
            CommunityCreated(c) => vec![Topic::User(c.owner_id)],
            CommunityUpdated(c) => vec![Topic::Community(c.id)],
            CommunityDeleted(id) => vec![Topic::Community(*id)],
            MessagesPurged { community_id, .. }
            | RoleDeleted { community_id, .. }
            | MemberRemoved { community_id, .. } => vec![Topic::Community(*community_id)],
            RoleSaved(r) => vec![Topic::Community(r.community_id)],
            // The newcomer's sessions are not listening to the community yet.
            MemberJoined(m) => vec![Topic::Community(m.community_id), Topic::User(m.user_id)],
            MemberUpdated(m) => vec![Topic::Community(m.community_id)],
            ReadStateChanged { user_id, .. } => vec![Topic::User(*user_id)],
            PresenceChanged { communities, .. } => communities.iter().map(|c| Topic::Community(*c)).collect(),
            TrackProcessed { owner_id, .. } => vec![Topic::User(*owner_id)],
            CommentPosted { owner_only: Some(owner), .. } => vec![Topic::User(*owner)],
            CommentPosted { comment, .. } => vec![Topic::Track(comment.track_id)],
            SignedOut { user_id, .. } => vec![Topic::User(*user_id)],
        }
    }
}

/// A typing indicator lasts this long unless renewed (Discord's figure).
pub const TYPING_LASTS: time::Duration = time::Duration::seconds(10);

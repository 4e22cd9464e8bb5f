//! Presence: whether someone is connected (any gateway connection, on any node) and the status
//! they chose — online, idle, do not disturb, or invisible, which others see as offline — with
//! an optional activity, "listening to" one of Veza's public tracks. The chosen status is a
//! setting kept across connections; being connected is a set of live connections, each kept
//! alive by its node and forgotten when it closes or its node stops renewing it.
//!
//! Every change is announced to the communities the person is in; what others see is worked
//! out here once, so one dispatch suits every member.

use time::OffsetDateTime;

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::chat::communities::Communities;
use crate::chat::event::ChatEvent;
use crate::chat::message::TrackEmbed;
use crate::error::{CoreError, FieldError};
use crate::id::{CommunityId, TrackId, UserId};

/// The status a person chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Online,
    Idle,
    /// Do not disturb.
    Dnd,
    /// Connected, but shown to others as offline.
    Invisible,
}

impl Status {
    pub const ALL: [Self; 4] = [Self::Online, Self::Idle, Self::Dnd, Self::Invisible];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Idle => "idle",
            Self::Dnd => "dnd",
            Self::Invisible => "invisible",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a person chose: their status, and the track they say they are listening to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceSetting {
    pub user_id: UserId,
    pub status: Status,
    pub listening_to: Option<TrackId>,
    /// When the listening started (the activity's own clock).
    pub since: OffsetDateTime,
}

/// What the others see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shown {
    Online,
    Idle,
    Dnd,
    Offline,
}

impl Shown {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Idle => "idle",
            Self::Dnd => "dnd",
            Self::Offline => "offline",
        }
    }
}

/// A person's presence as everyone may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub user_id: UserId,
    pub status: Shown,
    /// "Listening to": the track's card, while it stays public; never shown when offline.
    pub listening_to: Option<TrackEmbed>,
    pub since: Option<OffsetDateTime>,
}

/// How long a node's renewal keeps a connection counted: renewed every third of it, so one
/// missed renewal does not show anyone offline, and a stopped node's people go offline within it.
pub const CONNECTION_LEASE: time::Duration = time::Duration::seconds(90);
/// Presences a community lists at most (READY, and `GET …/presences`): the ones online first
/// come; larger communities' others arrive as updates.
pub const LISTED_MAX: u32 = 1000;

impl Communities {
    /// Sets the caller's status and activity (`None` clears it) and announces what others see.
    pub async fn set_presence(
        &self,
        principal: &Principal,
        status: Status,
        listening_to: Option<TrackId>,
    ) -> Result<Presence, CoreError> {
        principal.require(Scope::ChatWrite)?;
        if let Some(id) = listening_to {
            // Others are shown the track: it must be one anyone may see. One the caller cannot
            // see does not exist for them.
            let track = self.deps.tracks.track(id).await?;
            let track = track.filter(|t| t.visible_to(Some(principal.user_id), None));
            if !track.ok_or(CoreError::NotFound("track"))?.visible_to(None, None) {
                return Err(CoreError::invalid(FieldError::new(
                    "activity.track_id",
                    "not_public",
                    "others are shown what you listen to: the track must be public",
                )));
            }
        }
        let now = self.now();
        let previous = self.deps.presence.setting(principal.user_id).await?;
        // The listening clock runs on while the track stays the same.
        let since = match &previous {
            Some(p) if p.listening_to.is_some() && p.listening_to == listening_to => p.since,
            _ => now,
        };
        let setting = PresenceSetting { user_id: principal.user_id, status, listening_to, since };
        self.deps.presence.set_setting(&setting).await?;
        self.announce_presence(principal.user_id).await
    }

    /// A connection of the caller's came up (or resumed) on `node`.
    pub async fn connected(&self, user: UserId, connection: &str, node: &str) -> Result<(), CoreError> {
        let until = self.now() + CONNECTION_LEASE;
        self.deps.presence.connect(user, connection, node, until).await?;
        self.announce_presence(user).await?;
        Ok(())
    }

    /// A connection closed; the person goes offline with their last one.
    pub async fn disconnected(&self, user: UserId, connection: &str) -> Result<(), CoreError> {
        self.deps.presence.disconnect(connection).await?;
        self.announce_presence(user).await?;
        Ok(())
    }

    /// Renews this node's connections, and forgets those of any node that stopped renewing
    /// (announcing who went offline with them). Every node runs this periodically.
    pub async fn renew_presence(&self, node: &str) -> Result<usize, CoreError> {
        let now = self.now();
        self.deps.presence.renew(node, now + CONNECTION_LEASE).await?;
        let lapsed = self.deps.presence.expire(now).await?;
        for user in &lapsed {
            self.announce_presence(*user).await?;
        }
        Ok(lapsed.len())
    }

    /// What others see of `user` now.
    pub async fn presence_of(&self, user: UserId) -> Result<Presence, CoreError> {
        let connected = self.deps.presence.is_connected(user, self.now()).await?;
        let setting = self.deps.presence.setting(user).await?;
        Ok(self.shown(user, connected, setting).await)
    }

    /// The presences of a community's members who are not shown offline, for one of them.
    pub async fn community_presences(
        &self,
        principal: &Principal,
        id: CommunityId,
    ) -> Result<Vec<Presence>, CoreError> {
        self.actor(principal, id, Scope::ChatRead).await?;
        self.listed_presences(id).await
    }

    /// What a session's start shows of a community: its member count, and its presences unless
    /// it has more than `large_threshold` members (then `None`: a client of a large community
    /// asks for them when it shows the member list, rather than every connection carrying
    /// them).
    pub async fn starting_presences(
        &self,
        principal: &Principal,
        id: CommunityId,
        large_threshold: u64,
    ) -> Result<(u64, Option<Vec<Presence>>), CoreError> {
        self.actor(principal, id, Scope::ChatRead).await?;
        let members = self.deps.communities.member_count(id).await?;
        if members > large_threshold {
            return Ok((members, None));
        }
        Ok((members, Some(self.listed_presences(id).await?)))
    }

    async fn listed_presences(&self, id: CommunityId) -> Result<Vec<Presence>, CoreError> {
        let online = self.deps.presence.connected_in(id, self.now(), LISTED_MAX).await?;
        let mut shown = Vec::with_capacity(online.len());
        for setting in online {
            let presence = self.shown(setting.user_id, true, Some(setting)).await;
            if presence.status != Shown::Offline {
                shown.push(presence);
            }
        }
        Ok(shown)
    }

    async fn shown(&self, user: UserId, connected: bool, setting: Option<PresenceSetting>) -> Presence {
        let offline = Presence { user_id: user, status: Shown::Offline, listening_to: None, since: None };
        if !connected {
            return offline;
        }
        let setting = setting.unwrap_or(PresenceSetting {
            user_id: user,
            status: Status::Online,
            listening_to: None,
            since: self.now(),
        });
        let status = match setting.status {
            Status::Online => Shown::Online,
            Status::Idle => Shown::Idle,
            Status::Dnd => Shown::Dnd,
            Status::Invisible => return offline,
        };
        let listening_to = match setting.listening_to {
            Some(id) => match self.deps.tracks.track(id).await {
                Ok(Some(track)) if track.visible_to(None, None) => Some(TrackEmbed::from(&track)),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(track = %id, error = %e, "a presence's track cannot be looked up");
                    None
                }
            },
            None => None,
        };
        let since = listening_to.as_ref().map(|_| setting.since);
        Presence { user_id: user, status, listening_to, since }
    }

    /// Tells every community the person is in what others see of them now.
    async fn announce_presence(&self, user: UserId) -> Result<Presence, CoreError> {
        let presence = self.presence_of(user).await?;
        let communities: Vec<CommunityId> =
            self.deps.communities.communities_of(user).await?.into_iter().map(|c| c.id).collect();
        if !communities.is_empty() {
            self.announce(ChatEvent::PresenceChanged { communities, presence: presence.clone() }).await;
        }
        Ok(presence)
    }
}

//! Where messages live: a community's channel (or thread), seen as a member through the
//! permission model, or a direct conversation, seen as one of its people. The message use cases
//! ask the room what the caller may do there and where its events go, and are the same for both.

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::chat::channel::{Channel, ChannelKind, DirectChannel};
use crate::chat::communities::{require_within, Actor, Communities};
use crate::chat::event::Place;
use crate::chat::permissions::Permissions;
use crate::error::CoreError;
use crate::id::{ChannelId, RoleId};

/// What anyone in a direct conversation may do there: everything but managing others' messages.
pub const IN_DIRECT: Permissions = Permissions(
    Permissions::VIEW_CHANNEL.0
        | Permissions::SEND_MESSAGES.0
        | Permissions::READ_MESSAGE_HISTORY.0
        | Permissions::ADD_REACTIONS.0
        | Permissions::ATTACH_FILES.0
        | Permissions::EMBED_LINKS.0
        | Permissions::PIN_MESSAGES.0,
);

pub(super) enum Access {
    /// A community's channel, and the caller as its member.
    Member { actor: Box<Actor>, channel: Channel },
    /// A conversation the caller is in.
    Recipient { direct: DirectChannel },
}

pub(super) struct Room {
    pub id: ChannelId,
    /// What the caller may do here.
    pub permissions: Permissions,
    pub access: Access,
}

impl Room {
    /// The community channel's kind; `None` for a conversation.
    pub fn kind(&self) -> Option<ChannelKind> {
        match &self.access {
            Access::Member { channel, .. } => Some(channel.kind),
            Access::Recipient { .. } => None,
        }
    }

    pub fn place(&self) -> Place {
        match &self.access {
            Access::Member { channel, .. } => Place::of(channel),
            Access::Recipient { direct } => Place::direct(direct),
        }
    }

    pub fn require(&self, permission: Permissions) -> Result<(), CoreError> {
        require_within(self.permissions, permission)
    }

    /// The caller's roles, for counting the mentions of them.
    pub fn roles(&self) -> &[RoleId] {
        match &self.access {
            Access::Member { actor, .. } => &actor.member.roles,
            Access::Recipient { .. } => &[],
        }
    }

    pub fn slowmode_secs(&self) -> u32 {
        match &self.access {
            Access::Member { channel, .. } => channel.slowmode_secs,
            Access::Recipient { .. } => 0,
        }
    }

    pub fn channel(&self) -> Option<&Channel> {
        match &self.access {
            Access::Member { channel, .. } => Some(channel),
            Access::Recipient { .. } => None,
        }
    }
}

impl Communities {
    /// The channel or conversation `id` as the caller sees it; one they may not view, or are
    /// not in, does not exist for them.
    pub(super) async fn room(&self, principal: &Principal, id: ChannelId, scope: Scope) -> Result<Room, CoreError> {
        match self.visible(principal, id, scope).await {
            Ok((channel, actor)) => {
                let permissions = actor.in_channel(&channel);
                Ok(Room { id, permissions, access: Access::Member { actor: Box::new(actor), channel } })
            }
            Err(CoreError::NotFound(_)) => {
                let direct = self.direct_channel(principal, id, scope).await?;
                Ok(Room { id, permissions: IN_DIRECT, access: Access::Recipient { direct } })
            }
            Err(e) => Err(e),
        }
    }
}

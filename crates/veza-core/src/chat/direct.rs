//! Direct conversations: a DM between two people (one per pair: opening it again returns it)
//! or a group of up to ten with an owner and a name. One may start one only with people one
//! shares a community with, so strangers cannot write to anyone. Messages, reactions, pins,
//! typing and read states in them go through the message use cases (see `room.rs`).

use std::collections::HashSet;

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::chat::channel::{DirectChannel, DIRECT_CHANNELS_MAX, GROUP_MAX, NAME_MAX};
use crate::chat::communities::Communities;
use crate::chat::community;
use crate::chat::event::ChatEvent;
use crate::chat::room::{Access, Room};
use crate::error::{CoreError, FieldError};
use crate::id::{ChannelId, UserId};
use crate::ports::StoreError;

impl Communities {
    /// Opens a DM with one person, or starts a group with several; `true` when it is new.
    pub async fn open_direct(
        &self,
        principal: &Principal,
        recipients: &[UserId],
        name: Option<&str>,
    ) -> Result<(DirectChannel, bool), CoreError> {
        principal.require(Scope::ChatWrite)?;
        let me = principal.user_id;
        let mut people: Vec<UserId> = recipients.iter().copied().filter(|u| *u != me).collect();
        people.sort_by_key(|u| u.0);
        people.dedup();
        if people.is_empty() || people.len() >= GROUP_MAX {
            return Err(CoreError::invalid(FieldError::new(
                "recipients",
                "out_of_range",
                format!("name from 1 to {} other people", GROUP_MAX - 1),
            )));
        }
        let group = people.len() > 1;
        let name = match name {
            Some(_) if !group => {
                return Err(CoreError::invalid(FieldError::new(
                    "name",
                    "not_a_group",
                    "only a group conversation (two or more others) has a name",
                )))
            }
            Some(name) => community::text("name", name, NAME_MAX).map_err(CoreError::invalid)?,
            None => String::new(),
        };
        for person in &people {
            self.require_shared_community(me, *person).await?;
        }
        if self.deps.channels.direct_channels_of(me).await?.len() >= DIRECT_CHANNELS_MAX {
            return Err(CoreError::Conflict(FieldError::new(
                "recipients",
                "too_many",
                format!("one is in at most {DIRECT_CHANNELS_MAX} conversations; leave some first"),
            )));
        }
        people.push(me);
        people.sort_by_key(|u| u.0);
        let channel = DirectChannel {
            id: ChannelId::new(self.deps.ids.as_ref()),
            group,
            owner_id: group.then_some(me),
            name,
            recipients: people,
            created_at: self.now(),
        };
        let (channel, created) = self.deps.channels.create_direct(&channel).await?;
        if created {
            self.announce(ChatEvent::DirectChannelSaved { channel: channel.clone(), created }).await;
        }
        Ok((channel, created))
    }

    /// The conversations the caller is in, newest first.
    pub async fn my_direct_channels(&self, principal: &Principal) -> Result<Vec<DirectChannel>, CoreError> {
        principal.require(Scope::ChatRead)?;
        Ok(self.deps.channels.direct_channels_of(principal.user_id).await?)
    }

    /// A conversation the caller is in.
    pub async fn direct_channel(
        &self,
        principal: &Principal,
        id: ChannelId,
        scope: Scope,
    ) -> Result<DirectChannel, CoreError> {
        principal.require(scope)?;
        let found = self.deps.channels.direct_channel(id).await?;
        found.filter(|d| d.recipients.contains(&principal.user_id)).ok_or(CoreError::NotFound("channel"))
    }

    /// Adds someone to a group the caller is in (someone the caller shares a community with).
    pub async fn add_recipient(&self, principal: &Principal, id: ChannelId, user: UserId) -> Result<(), CoreError> {
        let mut channel = self.direct_channel(principal, id, Scope::ChatWrite).await?;
        if !channel.group {
            return Err(not_a_group());
        }
        if channel.recipients.contains(&user) {
            return Ok(());
        }
        if channel.recipients.len() >= GROUP_MAX {
            return Err(CoreError::Conflict(FieldError::new(
                "user_id",
                "group_full",
                format!("a group has at most {GROUP_MAX} people"),
            )));
        }
        self.require_shared_community(principal.user_id, user).await?;
        if self.deps.channels.add_recipient(id, user).await? {
            channel.recipients.push(user);
            channel.recipients.sort_by_key(|u| u.0);
            self.announce(ChatEvent::DirectChannelSaved { channel, created: false }).await;
        }
        Ok(())
    }

    /// Renames a group (anyone in it), or hands it to another of its people (its owner only).
    pub async fn update_group(
        &self,
        principal: &Principal,
        id: ChannelId,
        name: Option<&str>,
        owner: Option<UserId>,
    ) -> Result<DirectChannel, CoreError> {
        let channel = self.direct_channel(principal, id, Scope::ChatWrite).await?;
        if !channel.group {
            return Err(not_a_group());
        }
        let name = name.map(|n| community::text("name", n, NAME_MAX)).transpose().map_err(CoreError::invalid)?;
        let not_owner = || CoreError::Forbidden("only the group's owner hands it over");
        if owner.is_some() && channel.owner_id != Some(principal.user_id) {
            return Err(not_owner());
        }
        if owner.is_some_and(|o| !channel.recipients.contains(&o)) {
            return Err(CoreError::NotFound("person in this group"));
        }
        // The store decides again, as the group is now: handed over or left meanwhile.
        let Some(updated) = self.deps.channels.update_group(id, principal.user_id, name.as_deref(), owner).await?
        else {
            let now = self.deps.channels.direct_channel(id).await?;
            return Err(match now {
                Some(g) if g.owner_id != Some(principal.user_id) => not_owner(),
                _ => CoreError::NotFound("person in this group"),
            });
        };
        self.announce(ChatEvent::DirectChannelSaved { channel: updated.clone(), created: false }).await;
        Ok(updated)
    }

    /// Takes someone out of a group: oneself (leaving), or anyone, by its owner. The owner
    /// cannot leave while others remain.
    pub async fn remove_recipient(&self, principal: &Principal, id: ChannelId, user: UserId) -> Result<(), CoreError> {
        let mut channel = self.direct_channel(principal, id, Scope::ChatWrite).await?;
        if !channel.group {
            return Err(not_a_group());
        }
        let owner = channel.owner_id == Some(principal.user_id);
        if user != principal.user_id && !owner {
            return Err(CoreError::Forbidden("only the group's owner removes others"));
        }
        let owner_stays = || {
            CoreError::Conflict(FieldError::new(
                "user_id",
                "owner_cannot_leave",
                "the owner stays while others are in the group (hand it over first)",
            ))
        };
        if channel.owner_id == Some(user) && channel.recipients.len() > 1 {
            return Err(owner_stays());
        }
        // The store decides again, as the group is now: it may have been handed over meanwhile.
        match self.deps.channels.remove_recipient(id, user).await {
            Ok(true) => {}
            Ok(false) => return Err(CoreError::NotFound("recipient")),
            Err(StoreError::Conflict("owner")) => return Err(owner_stays()),
            Err(e) => return Err(e.into()),
        }
        channel.recipients.retain(|u| *u != user);
        self.announce(ChatEvent::DirectChannelLeft { channel_id: id, user_id: user }).await;
        if !channel.recipients.is_empty() {
            self.announce(ChatEvent::DirectChannelSaved { channel, created: false }).await;
        }
        Ok(())
    }

    /// Whether a new message may go into `room`. A two-person DM needs its two people to share
    /// a community still, as it did to be opened: someone banned from the only community they
    /// shared (or who left it) cannot go on writing to the other. The history stays readable to
    /// both, and writing works again once they share a community. Groups are not held to it:
    /// their people were brought in by someone in them, and anyone may leave.
    pub(super) async fn may_still_write(&self, principal: &Principal, room: &Room) -> Result<(), CoreError> {
        let Access::Recipient { direct } = &room.access else { return Ok(()) };
        if direct.group {
            return Ok(());
        }
        let me = principal.user_id;
        let Some(other) = direct.recipients.iter().copied().find(|u| *u != me) else { return Ok(()) };
        match self.require_shared_community(me, other).await {
            Err(CoreError::NotFound(_)) => Err(CoreError::Forbidden(
                "you no longer share a community with this person: the conversation is read-only until you do",
            )),
            other => other,
        }
    }

    /// One may write to someone only through a community both are in; anyone else does not
    /// exist for this purpose.
    async fn require_shared_community(&self, me: UserId, other: UserId) -> Result<(), CoreError> {
        let mine: HashSet<_> = self.deps.communities.communities_of(me).await?.into_iter().map(|c| c.id).collect();
        let theirs = self.deps.communities.communities_of(other).await?;
        if theirs.iter().any(|c| mine.contains(&c.id)) {
            return Ok(());
        }
        Err(CoreError::NotFound("person sharing a community with you"))
    }
}

fn not_a_group() -> CoreError {
    CoreError::Conflict(FieldError::new(
        "channel",
        "not_a_group",
        "only a group conversation takes or loses people, or has a name and an owner",
    ))
}

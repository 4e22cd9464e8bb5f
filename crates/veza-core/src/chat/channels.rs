//! The channel use cases: creating, listing (only what the caller may view), editing and
//! deleting channels (threads too: archiving, locking), and their permission overwrites. A
//! channel the caller may not view does not exist for them.

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::audit::{AuditAction, RequestMeta};
use crate::chat::attachment;
use crate::chat::channel::{self, Channel, ChannelKind, CHANNELS_MAX, POSITION_MAX, SLOWMODE_MAX, TOPIC_MAX};
use crate::chat::communities::{below_yours, require_within, Actor, Communities};
use crate::chat::community;
use crate::chat::event::ChatEvent;
use crate::chat::permissions::{Overwrite, OverwriteTarget, Permissions};
use crate::error::{CoreError, FieldError, Validator};
use crate::id::{ChannelId, CommunityId, RoleId};

/// A new channel, or changes to one; `None` leaves a field as it is (a new channel: no topic,
/// no category, position 0, no slowmode). Threads take only name, slowmode, archived and
/// locked.
#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    pub name: Option<String>,
    pub topic: Option<Option<String>>,
    pub parent_id: Option<Option<ChannelId>>,
    pub position: Option<u32>,
    pub slowmode_secs: Option<u32>,
    pub archived: Option<bool>,
    pub locked: Option<bool>,
    /// Threads only: the inactivity, in minutes, after which it archives itself.
    pub auto_archive_minutes: Option<u32>,
}

/// A channel and what the caller may do in it.
#[derive(Debug, Clone)]
pub struct ChannelView {
    pub channel: Channel,
    pub my_permissions: Permissions,
}

impl Actor {
    /// What the caller may do in `channel`.
    pub(super) fn in_channel(&self, channel: &Channel) -> Permissions {
        let roles = self.roles_of(&self.member);
        let context = self.context(&self.member, &roles);
        match channel.kind {
            ChannelKind::Thread => context.thread_permissions(&channel.overwrites),
            _ => context.channel_permissions(&channel.overwrites),
        }
    }

    pub(super) fn require_in(&self, channel: &Channel, permission: Permissions) -> Result<(), CoreError> {
        require_within(self.in_channel(channel), permission)
    }
}

impl Communities {
    /// The channel and the caller as a member of its community, when the caller may view it.
    pub(super) async fn visible(
        &self,
        principal: &Principal,
        id: ChannelId,
        scope: Scope,
    ) -> Result<(Channel, Actor), CoreError> {
        let not_found = || CoreError::NotFound("channel");
        let mut channel = self.deps.channels.channel(id).await?.ok_or_else(not_found)?;
        if channel.kind == ChannelKind::Thread {
            // A thread is seen through its parent's overwrites.
            let parent = match channel.parent_id {
                Some(parent) => self.deps.channels.channel(parent).await?,
                None => None,
            };
            channel.overwrites = parent.ok_or_else(not_found)?.overwrites;
        }
        // Outside the community, the channel does not exist either; other refusals (a key's
        // missing scope, an unavailable store) stay what they are.
        let actor = match self.actor(principal, channel.community_id, scope).await {
            Err(CoreError::NotFound(_)) => return Err(not_found()),
            other => other?,
        };
        if !actor.in_channel(&channel).contains(Permissions::VIEW_CHANNEL) {
            return Err(not_found());
        }
        Ok((channel, actor))
    }

    /// Applies a patch's fields to `channel`, checking each.
    async fn apply(&self, channel: &mut Channel, patch: ChannelPatch) -> Result<(), CoreError> {
        let mut v = Validator::default();
        // A thread's name is kept as written, like a title; a channel's is made a handle.
        let name = |n: &str| match channel.kind {
            ChannelKind::Thread => community::text("name", n, channel::NAME_MAX),
            _ => channel::channel_name(n),
        };
        if let Some(name) = patch.name.as_deref().and_then(|n| v.check(name(n))) {
            channel.name = name;
        }
        if let Some(topic) = patch.topic {
            if let Some(topic) = v.check(community::optional_text("topic", topic.as_deref(), TOPIC_MAX)) {
                channel.topic = topic;
            }
        }
        if let Some(position) = patch.position {
            if position > POSITION_MAX {
                v.check::<()>(Err(FieldError::new(
                    "position",
                    "out_of_range",
                    format!("position is at most {POSITION_MAX}"),
                )));
            }
            channel.position = position;
        }
        if let Some(slowmode) = patch.slowmode_secs {
            if slowmode > SLOWMODE_MAX {
                v.check::<()>(Err(FieldError::new("slowmode_secs", "out_of_range", "slowmode is at most 6 hours")));
            }
            channel.slowmode_secs = slowmode;
        }
        let auto_archive_minutes = match patch.auto_archive_minutes {
            Some(minutes) => v.check(crate::chat::channel::auto_archive(minutes)),
            None => None,
        };
        v.finish(|| Some(()))?;
        if let Some(thread) = channel.thread.as_mut() {
            thread.auto_archive_minutes = auto_archive_minutes.unwrap_or(thread.auto_archive_minutes);
            match patch.archived {
                Some(true) if thread.archived_at.is_none() => thread.archived_at = Some(self.now()),
                Some(false) if thread.archived_at.is_some() => {
                    thread.archived_at = None;
                    thread.unarchived_at = Some(self.now()); // the inactivity counts from here
                }
                _ => {}
            }
            thread.locked = patch.locked.unwrap_or(thread.locked);
        }
        if let Some(parent) = patch.parent_id {
            if let Some(parent) = parent {
                let category = self.deps.channels.channel(parent).await?;
                let category = category.filter(|c| c.community_id == channel.community_id);
                let category = category.ok_or(CoreError::NotFound("category"))?;
                if category.kind != ChannelKind::Category || channel.kind == ChannelKind::Category {
                    return Err(CoreError::Conflict(FieldError::new(
                        "parent_id",
                        "not_a_category",
                        "parent_id must be a category of the same community, and categories have no parent",
                    )));
                }
            }
            channel.parent_id = parent;
        }
        Ok(())
    }

    /// Creates a channel (`manage_channels`).
    pub async fn create_channel(
        &self,
        principal: &Principal,
        id: CommunityId,
        kind: ChannelKind,
        name: &str,
        patch: ChannelPatch,
        meta: &RequestMeta,
    ) -> Result<Channel, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::MANAGE_CHANNELS)?;
        if kind == ChannelKind::Thread {
            return Err(CoreError::invalid(FieldError::new(
                "kind",
                "thread",
                "threads are started in a channel: POST /api/v1/channels/{channel_id}/threads",
            )));
        }
        if patch.archived.is_some() || patch.locked.is_some() || patch.auto_archive_minutes.is_some() {
            return Err(not_a_thread());
        }
        if self.deps.channels.channels(id).await?.len() >= CHANNELS_MAX {
            return Err(CoreError::Conflict(FieldError::new(
                "name",
                "too_many",
                format!("a community has at most {CHANNELS_MAX} channels"),
            )));
        }
        let mut channel = Channel {
            id: ChannelId::new(self.deps.ids.as_ref()),
            community_id: id,
            kind,
            name: channel::channel_name(name).map_err(CoreError::invalid)?,
            topic: None,
            parent_id: None,
            position: 0,
            slowmode_secs: 0,
            created_at: self.now(),
            overwrites: Vec::new(),
            thread: None,
        };
        self.apply(&mut channel, patch).await?;
        let mut entry = self.entry(AuditAction::ChannelCreated, principal.user_id, None, id, meta);
        entry.detail.insert("channel_id".into(), channel.id.to_string().into());
        self.deps.channels.create_channel(&channel, &entry).await?;
        self.announce(ChatEvent::ChannelCreated(channel.clone())).await;
        Ok(channel)
    }

    /// The channels of a community the caller may view, with what they may do in each.
    pub async fn list_channels(&self, principal: &Principal, id: CommunityId) -> Result<Vec<ChannelView>, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatRead).await?;
        let channels = self.deps.channels.channels(id).await?;
        Ok(channels
            .into_iter()
            .map(|channel| ChannelView { my_permissions: actor.in_channel(&channel), channel })
            .filter(|v| v.my_permissions.contains(Permissions::VIEW_CHANNEL))
            .collect())
    }

    pub async fn get_channel(&self, principal: &Principal, id: ChannelId) -> Result<ChannelView, CoreError> {
        let (channel, actor) = self.visible(principal, id, Scope::ChatRead).await?;
        Ok(ChannelView { my_permissions: actor.in_channel(&channel), channel })
    }

    /// Edits a channel (`manage_channels` in it); a thread, under [`may_edit_thread`]'s rules.
    pub async fn update_channel(
        &self,
        principal: &Principal,
        id: ChannelId,
        patch: ChannelPatch,
        meta: &RequestMeta,
    ) -> Result<Channel, CoreError> {
        let (mut channel, actor) = self.visible(principal, id, Scope::ChatWrite).await?;
        match &channel.thread {
            Some(_) => may_edit_thread(&actor, &channel, &patch)?,
            None if patch.archived.is_some() || patch.locked.is_some() || patch.auto_archive_minutes.is_some() => {
                return Err(not_a_thread())
            }
            None => actor.require_in(&channel, Permissions::MANAGE_CHANNELS)?,
        }
        self.apply(&mut channel, patch).await?;
        let mut entry = self.entry(AuditAction::ChannelUpdated, principal.user_id, None, channel.community_id, meta);
        entry.detail.insert("channel_id".into(), id.to_string().into());
        if !self.deps.channels.update_channel(&channel, &entry).await? {
            return Err(CoreError::NotFound("channel"));
        }
        self.announce(ChatEvent::ChannelUpdated(channel.clone())).await;
        Ok(channel)
    }

    /// Deletes a channel (`manage_channels` in it) with its threads, or a thread
    /// (`manage_threads`).
    pub async fn delete_channel(
        &self,
        principal: &Principal,
        id: ChannelId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let (channel, actor) = self.visible(principal, id, Scope::ChatWrite).await?;
        match channel.kind {
            ChannelKind::Thread => actor.require_in(&channel, Permissions::MANAGE_THREADS)?,
            _ => actor.require_in(&channel, Permissions::MANAGE_CHANNELS)?,
        }
        let mut entry = self.entry(AuditAction::ChannelDeleted, principal.user_id, None, channel.community_id, meta);
        entry.detail.insert("channel_id".into(), id.to_string().into());
        if !self.deps.channels.delete_channel(id, &entry).await? {
            return Err(CoreError::NotFound("channel"));
        }
        let files = match (channel.kind, channel.parent_id) {
            (ChannelKind::Thread, Some(parent)) => attachment::thread_prefix(channel.community_id, parent, id),
            _ => attachment::channel_prefix(Some(channel.community_id), id),
        };
        self.remove_files(&files).await;
        self.announce(ChatEvent::ChannelDeleted(channel)).await;
        Ok(())
    }

    /// Sets a role's or member's overwrite in a channel (`manage_roles` in it): only permissions
    /// the caller has there, and for a role, one below the caller's highest.
    pub async fn set_overwrite(
        &self,
        principal: &Principal,
        id: ChannelId,
        overwrite: Overwrite,
        meta: &RequestMeta,
    ) -> Result<Overwrite, CoreError> {
        let (channel, actor) = self.visible(principal, id, Scope::ChatWrite).await?;
        self.check_overwrite_target(&actor, &channel, overwrite.target).await?;
        if overwrite.allow.0 & overwrite.deny.0 != 0 {
            return Err(CoreError::invalid(FieldError::new(
                "deny",
                "both",
                "a permission cannot be both allowed and denied",
            )));
        }
        let mine = actor.in_channel(&channel);
        let touched = Permissions((overwrite.allow.0 | overwrite.deny.0) & !mine.0);
        if touched != Permissions::NONE {
            return Err(CoreError::invalid(FieldError::new(
                "allow",
                "not_yours",
                format!("you can allow or deny only permissions you have here; not: {}", touched.names().join(", ")),
            )));
        }
        let mut entry =
            self.entry(AuditAction::ChannelPermissionsChanged, principal.user_id, None, channel.community_id, meta);
        entry.detail.insert("channel_id".into(), id.to_string().into());
        self.deps.channels.set_overwrite(id, &overwrite, &entry).await?;
        self.announce_channel(id).await?;
        Ok(overwrite)
    }

    pub async fn remove_overwrite(
        &self,
        principal: &Principal,
        id: ChannelId,
        target: OverwriteTarget,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let (channel, actor) = self.visible(principal, id, Scope::ChatWrite).await?;
        self.check_overwrite_target(&actor, &channel, target).await?;
        let mut entry =
            self.entry(AuditAction::ChannelPermissionsChanged, principal.user_id, None, channel.community_id, meta);
        entry.detail.insert("channel_id".into(), id.to_string().into());
        if !self.deps.channels.remove_overwrite(id, target, &entry).await? {
            return Err(CoreError::NotFound("overwrite"));
        }
        self.announce_channel(id).await
    }

    /// Announces a channel's new state (its overwrites changed), unless it is gone meanwhile.
    async fn announce_channel(&self, id: ChannelId) -> Result<(), CoreError> {
        if let Some(channel) = self.deps.channels.channel(id).await? {
            self.announce(ChatEvent::ChannelUpdated(channel)).await;
        }
        Ok(())
    }

    /// Removes the overwrite for a role or member named by id alone (role and user ids are
    /// snowflakes, so they never collide).
    pub async fn remove_overwrite_of(
        &self,
        principal: &Principal,
        id: ChannelId,
        target: i64,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let channel = self.deps.channels.channel(id).await?.ok_or(CoreError::NotFound("channel"))?;
        let roles = self.deps.communities.roles(channel.community_id).await?;
        let target = match roles.iter().any(|r| r.id.0 == target) {
            true => OverwriteTarget::Role(RoleId(target)),
            false => OverwriteTarget::Member(crate::id::UserId(target)),
        };
        self.remove_overwrite(principal, id, target, meta).await
    }

    /// Whether the caller may manage overwrites in the channel for this target.
    async fn check_overwrite_target(
        &self,
        actor: &Actor,
        channel: &Channel,
        target: OverwriteTarget,
    ) -> Result<(), CoreError> {
        if channel.kind == ChannelKind::Thread {
            return Err(CoreError::Conflict(FieldError::new(
                "channel",
                "thread",
                "a thread takes its parent channel's overwrites: set them there",
            )));
        }
        actor.require_in(channel, Permissions::MANAGE_ROLES)?;
        match target {
            OverwriteTarget::Role(role) => {
                let found = actor.roles.iter().find(|r| r.id == role).ok_or(CoreError::NotFound("role"))?;
                if !found.is_everyone() && !actor.outranks_role(found.position) {
                    return Err(below_yours());
                }
            }
            OverwriteTarget::Member(user) => {
                let member = self.deps.communities.member(channel.community_id, user).await?;
                let member = member.ok_or(CoreError::NotFound("member"))?;
                if user != actor.member.user_id {
                    actor.outranks(&member)?;
                }
            }
        }
        Ok(())
    }
}

fn not_a_thread() -> CoreError {
    CoreError::invalid(FieldError::new(
        "archived",
        "not_a_thread",
        "only threads are archived, locked or given auto_archive_minutes",
    ))
}

/// Who may change what in a thread: its owner, or `manage_threads`, its name and slowmode and
/// archive it; whoever may post in it unarchive it unless it is locked; only `manage_threads`
/// lock or unlock it, or unarchive a locked one. Topic, category and position are not a
/// thread's.
fn may_edit_thread(actor: &Actor, thread: &Channel, patch: &ChannelPatch) -> Result<(), CoreError> {
    let Some(t) = &thread.thread else { return Ok(()) };
    if patch.topic.is_some() || patch.parent_id.is_some() || patch.position.is_some() {
        let field = match (patch.topic.is_some(), patch.parent_id.is_some()) {
            (true, _) => "topic",
            (_, true) => "parent_id",
            _ => "position",
        };
        return Err(CoreError::invalid(FieldError::new(
            field,
            "not_for_threads",
            format!("a thread has no {field}: it takes name, slowmode_secs, archived, locked and auto_archive_minutes"),
        )));
    }
    let mine = actor.in_channel(thread);
    let moderator = mine.contains(Permissions::MANAGE_THREADS);
    let owner = t.owner_id == actor.member.user_id;
    if patch.locked.is_some() || (patch.archived == Some(false) && t.locked) {
        return require_within(mine, Permissions::MANAGE_THREADS);
    }
    let owners_part = patch.name.is_some()
        || patch.slowmode_secs.is_some()
        || patch.archived == Some(true)
        || patch.auto_archive_minutes.is_some();
    if owners_part && !owner && !moderator {
        return require_within(mine, Permissions::MANAGE_THREADS);
    }
    if patch.archived == Some(false) && !moderator && !mine.contains(Permissions::SEND_MESSAGES) {
        return Err(CoreError::MissingPermission("send_in_threads"));
    }
    Ok(())
}

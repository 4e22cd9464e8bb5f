//! The message use cases: sending (idempotent by client nonce, under slowmode, mentions checked
//! and `@everyone` gated), reading history by cursor, editing (the earlier text kept) and
//! deleting (a tombstone). Every check is on the room's permissions: a community channel's as
//! resolved for the member, or a direct conversation's (see `room.rs`).

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::catalog::media::{ByteRange, ObjectRead};
use crate::chat::attachment::{self, Attachment, StagedAttachment, ATTACHMENTS_MAX};
use crate::chat::channel::{Channel, ChannelKind};
use crate::chat::channels::ChannelView;
use crate::chat::communities::Communities;
use crate::chat::event::{ChatEvent, TYPING_LASTS};
use crate::chat::message::{
    self, HistoryCursor, Message, MessageEdit, Pin, Posted, ReactionCount, ReadState, MENTIONS_MAX, PAGE_MAX,
};
use crate::chat::permissions::Permissions;
use crate::chat::room::{Access, Room};
use crate::error::{CoreError, FieldError, Validator};
use crate::id::{AttachmentId, ChannelId, MessageId, UserId};
use crate::ports::Reacted;
use time::OffsetDateTime;

/// Whether the caller may post (or show typing) in the channel: `send_messages` there
/// (`send_in_threads` in the parent, for a thread), `manage_messages` too in an announcement
/// channel, and never in a category or an archived thread.
fn may_post(room: &Room) -> Result<(), CoreError> {
    if room.kind() == Some(ChannelKind::Category) {
        return Err(CoreError::Conflict(FieldError::new("channel", "category", "categories hold no messages")));
    }
    if room.channel().is_some_and(Channel::is_archived) {
        return Err(CoreError::Conflict(FieldError::new(
            "channel",
            "thread_archived",
            "the thread is archived: unarchive it (PATCH with archived false) to post in it",
        )));
    }
    if room.kind() == Some(ChannelKind::Thread) && !room.permissions.contains(Permissions::SEND_MESSAGES) {
        return Err(CoreError::MissingPermission("send_in_threads"));
    }
    room.require(Permissions::SEND_MESSAGES)?;
    if room.kind() == Some(ChannelKind::Announcement) {
        room.require(Permissions::MANAGE_MESSAGES)?;
    }
    Ok(())
}

impl Communities {
    /// Mentions of people outside the community (or the conversation) or roles not its own are
    /// refused, so a client learns at once that nobody will be notified.
    async fn checked_mentions(&self, room: &Room, text: &str) -> Result<message::Mentions, CoreError> {
        let mut mentions = message::parse_mentions(text);
        if mentions.users.len() + mentions.roles.len() > MENTIONS_MAX {
            return Err(CoreError::invalid(FieldError::new(
                "content",
                "too_many_mentions",
                format!("a message mentions at most {MENTIONS_MAX} people and roles"),
            )));
        }
        let (actor, channel) = match &room.access {
            Access::Member { actor, channel } => (actor, channel),
            Access::Recipient { direct } => {
                if let Some(user) = mentions.users.iter().find(|u| !direct.recipients.contains(u)) {
                    return Err(CoreError::invalid(FieldError::new(
                        "content",
                        "unknown_mention",
                        format!("<@{user}> is not in this conversation"),
                    )));
                }
                if let Some(role) = mentions.roles.first() {
                    return Err(CoreError::invalid(FieldError::new(
                        "content",
                        "unknown_mention",
                        format!("<@&{role}>: a conversation has no roles"),
                    )));
                }
                mentions.everyone = false;
                return Ok(mentions);
            }
        };
        for user in &mentions.users {
            if self.deps.communities.member(channel.community_id, *user).await?.is_none() {
                return Err(CoreError::invalid(FieldError::new(
                    "content",
                    "unknown_mention",
                    format!("<@{user}> is not a member of this community"),
                )));
            }
        }
        if let Some(role) = mentions.roles.iter().find(|r| !actor.roles.iter().any(|known| known.id == **r)) {
            return Err(CoreError::invalid(FieldError::new(
                "content",
                "unknown_mention",
                format!("<@&{role}> is not a role of this community"),
            )));
        }
        // Without the permission, `@everyone` is plain text: nobody is notified.
        mentions.everyone &= room.permissions.contains(Permissions::MENTION_EVERYONE);
        Ok(mentions)
    }

    /// Sends a message, with `files` attached (`attach_files`); a retry with the same nonce
    /// returns the first send (`false`) and stores none of the files again. A message with
    /// files may have no text.
    pub async fn send_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        content: &str,
        nonce: Option<&str>,
        reply_to: Option<MessageId>,
        files: &[StagedAttachment<'_>],
    ) -> Result<(Message, bool), CoreError> {
        let room = self.room(principal, channel_id, Scope::ChatWrite).await?;
        let mut v = Validator::default();
        let text = match files.is_empty() || !content.trim().is_empty() {
            true => v.check(message::content(content)),
            false => Some(String::new()),
        };
        let nonce = v.check(message::nonce(nonce));
        let kinds = v.check(self.attachable(files));
        let (text, nonce, kinds) = v.finish(|| Some((text?, nonce?, kinds?)))?;
        may_post(&room)?;
        if !files.is_empty() {
            room.require(Permissions::ATTACH_FILES)?;
        }
        // A retry of a send that happened answers with it, slowmode or not.
        if let Some(nonce) = &nonce {
            if let Some(sent) = self.deps.messages.by_nonce(room.id, principal.user_id, nonce).await? {
                return Ok((sent, false));
            }
        }
        self.may_still_write(principal, &room).await?;
        let now = self.now();
        let exempt = room.permissions.contains(Permissions::MANAGE_MESSAGES);
        if room.slowmode_secs() > 0 && !exempt {
            if let Some(last) = self.deps.messages.last_post(room.id, principal.user_id).await? {
                let ready = last + time::Duration::seconds(i64::from(room.slowmode_secs()));
                if ready > now {
                    return Err(CoreError::Slowmode((ready - now).unsigned_abs()));
                }
            }
        }
        if let Some(reply_to) = reply_to {
            let target = self.deps.messages.message(reply_to).await?;
            if !target.is_some_and(|m| m.channel_id == room.id && m.deleted_at.is_none()) {
                return Err(CoreError::NotFound("message to reply to"));
            }
        }
        let mentions = self.checked_mentions(&room, &text).await?;
        let id = MessageId::new(self.deps.ids.as_ref());
        let files_prefix = attachment::message_prefix(&room.place(), room.id, id);
        let attachments = self.store_attachments(&files_prefix, files, &kinds).await?;
        let message = Message {
            id,
            channel_id: room.id,
            author_id: principal.user_id,
            content: text,
            nonce,
            reply_to,
            mentions,
            created_at: now,
            edited_at: None,
            deleted_at: None,
            embeds: Vec::new(),
            attachments,
        };
        let posted = self.deps.messages.post(&message).await;
        if !matches!(posted, Ok(Posted::New(_))) && !message.attachments.is_empty() {
            self.remove_files(&files_prefix).await; // not kept: nothing points at them
        }
        match posted? {
            Posted::New(mut m) => {
                if let Access::Member { actor, channel } = &room.access {
                    if channel.kind == ChannelKind::Thread {
                        self.join_thread_quietly(channel, principal.user_id).await;
                        self.add_mentioned(actor, channel, &m.mentions.users).await;
                    }
                }
                self.embed(std::slice::from_mut(&mut m)).await;
                self.announce(ChatEvent::MessageCreated { place: room.place(), message: m.clone() }).await;
                Ok((m, true))
            }
            Posted::Existing(mut m) => {
                self.embed(std::slice::from_mut(&mut m)).await;
                Ok((m, false))
            }
        }
    }

    /// A page of a channel's history, newest first (`read_message_history`).
    pub async fn history(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<Vec<Message>, CoreError> {
        let limit = crate::page::limit_within(limit, PAGE_MAX)?;
        let room = self.room(principal, channel_id, Scope::ChatRead).await?;
        room.require(Permissions::READ_MESSAGE_HISTORY)?;
        let mut page = self.deps.messages.history(room.id, cursor, limit).await?;
        self.embed(&mut page).await;
        Ok(page)
    }

    /// The content type of each file, when every one may be attached: at most
    /// [`ATTACHMENTS_MAX`], none empty, all together within the configured size, each of a type
    /// Veza accepts.
    fn attachable(&self, files: &[StagedAttachment<'_>]) -> Result<Vec<&'static str>, FieldError> {
        if files.len() > ATTACHMENTS_MAX {
            return Err(FieldError::new(
                "files",
                "too_many_files",
                format!("a message carries at most {ATTACHMENTS_MAX} files"),
            ));
        }
        let max = self.deps.attachment_max_bytes;
        if files.iter().map(|f| f.size).sum::<u64>() > max {
            return Err(FieldError::new("files", "too_large", format!("a message's files hold at most {max} bytes")));
        }
        files
            .iter()
            .map(|f| match f.size {
                0 => {
                    Err(FieldError::new("files", "empty", format!("`{}` is empty", attachment::file_name(f.file_name))))
                }
                _ => attachment::sniff(f.head)
                    .ok_or_else(|| attachment::unsupported(&attachment::file_name(f.file_name))),
            })
            .collect()
    }

    /// Stores the files under the message's prefix; on failure removes what was stored.
    async fn store_attachments(
        &self,
        prefix: &str,
        files: &[StagedAttachment<'_>],
        kinds: &[&'static str],
    ) -> Result<Vec<Attachment>, CoreError> {
        let mut stored = Vec::with_capacity(files.len());
        for (file, kind) in files.iter().zip(kinds) {
            let id = AttachmentId::new(self.deps.ids.as_ref());
            let key = format!("{prefix}{id}");
            if let Err(e) = self.deps.store.put_file(&key, file.path).await {
                self.remove_files(prefix).await;
                return Err(e.into());
            }
            let file_name = attachment::file_name(file.file_name);
            stored.push(Attachment { id, file_name, content_type: (*kind).into(), size: file.size, key, url: None });
        }
        Ok(stored)
    }

    /// Removes the files of messages that do not exist, or were deleted (a send that stored
    /// files and then failed, a removal that failed); returns how many messages' files went.
    /// See [`crate::catalog::sweep`].
    pub async fn sweep_orphan_files(&self) -> Result<usize, CoreError> {
        // `attachments/{community}/{gate}/{channel}/{message}/{file}`: the message is the fifth.
        let owned = |id: i64| async move {
            let message = self.deps.messages.message(MessageId(id)).await?;
            Ok(message.is_some_and(|m| m.deleted_at.is_none()))
        };
        crate::catalog::sweep::sweep(self.deps.store.as_ref(), "attachments/", 5, self.now(), owned).await
    }

    /// Removes stored files whose message is gone. A failure leaves unreachable files behind
    /// (nothing refers to them any more), which is logged, not the caller's problem.
    pub(super) async fn remove_files(&self, prefix: &str) {
        if let Err(e) = self.deps.store.delete_prefix(prefix).await {
            tracing::warn!(prefix, error = %e, "cannot remove attachments; they are left unreachable");
        }
    }

    /// Fills in what a message shows beyond its text: signed URLs for its files, and the cards
    /// of the tracks it links to, as anyone may see them (public tracks, and unlisted ones whose
    /// link carries their secret). A track lookup that fails leaves the link a plain link.
    async fn embed(&self, messages: &mut [Message]) {
        let expires = attachment::url_expiry(self.now());
        for m in messages.iter_mut().filter(|m| m.deleted_at.is_none()) {
            for a in &mut m.attachments {
                let path = self.deps.signer.sign_attachment(a.id, expires, &attachment::url_name(&a.file_name));
                a.url = Some(format!("{}{path}", self.deps.media_url_base));
            }
            m.embeds.clear();
            for (id, secret) in message::track_links(&m.content, &self.deps.track_link_bases) {
                match self.deps.tracks.track(id).await {
                    Ok(Some(track)) if track.visible_to(None, secret.as_deref()) => m.embeds.push((&track).into()),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(track = %id, error = %e, "a linked track cannot be looked up"),
                }
            }
        }
    }

    /// One message of a channel the caller may read.
    pub async fn get_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
    ) -> Result<Message, CoreError> {
        let room = self.room(principal, channel_id, Scope::ChatRead).await?;
        room.require(Permissions::READ_MESSAGE_HISTORY)?;
        let found = self.deps.messages.message(id).await?.filter(|m| m.channel_id == room.id);
        let mut message = found.ok_or(CoreError::NotFound("message"))?;
        self.embed(std::slice::from_mut(&mut message)).await;
        Ok(message)
    }

    /// Edits one's own message; the earlier text is kept in its edit history.
    pub async fn edit_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
        content: &str,
    ) -> Result<Message, CoreError> {
        let room = self.room(principal, channel_id, Scope::ChatWrite).await?;
        let found = self.deps.messages.message(id).await?.filter(|m| m.channel_id == room.id && m.deleted_at.is_none());
        let mut message = found.ok_or(CoreError::NotFound("message"))?;
        if message.author_id != principal.user_id {
            return Err(CoreError::Forbidden("only its author can edit a message"));
        }
        let text = match message.attachments.is_empty() || !content.trim().is_empty() {
            true => message::content(content).map_err(CoreError::invalid)?,
            false => String::new(), // its files remain
        };
        let now = self.now();
        let previous = MessageEdit { message_id: id, content: message.content.clone(), edited_at: now };
        message.mentions = self.checked_mentions(&room, &text).await?;
        message.content = text;
        message.edited_at = Some(now);
        if !self.deps.messages.edit_message(&message, &previous).await? {
            return Err(CoreError::NotFound("message"));
        }
        self.embed(std::slice::from_mut(&mut message)).await;
        let place = room.place();
        self.announce(ChatEvent::MessageUpdated { place, message: message.clone() }).await;
        Ok(message)
    }

    /// A message's file, by the signed path of its URL (what follows `/media/attachments/`):
    /// the signature is the permission, as for tracks' media. A deleted message's files are gone.
    pub async fn open_attachment(
        &self,
        path: &str,
        range: Option<ByteRange>,
    ) -> Result<(Attachment, ObjectRead), CoreError> {
        let id = self.deps.signer.verify_attachment(path, self.now())?;
        let attachment = self.deps.messages.attachment(id).await?.ok_or(CoreError::NotFound("attachment"))?;
        let read = self.deps.store.open(&attachment.key, range).await?;
        Ok((attachment, read))
    }

    /// A message's earlier versions, oldest first.
    pub async fn message_edits(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
    ) -> Result<Vec<MessageEdit>, CoreError> {
        self.get_message(principal, channel_id, id).await?;
        Ok(self.deps.messages.edits(id).await?)
    }

    /// Deletes a message: its author, or `manage_messages` in the channel. A tombstone stays.
    pub async fn delete_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
    ) -> Result<(), CoreError> {
        let room = self.room(principal, channel_id, Scope::ChatWrite).await?;
        let found = self.deps.messages.message(id).await?.filter(|m| m.channel_id == room.id && m.deleted_at.is_none());
        let message = found.ok_or(CoreError::NotFound("message"))?;
        if message.author_id != principal.user_id {
            room.require(Permissions::MANAGE_MESSAGES)?;
        }
        if !self.deps.messages.delete_message(id, self.now()).await? {
            return Err(CoreError::NotFound("message"));
        }
        let place = room.place();
        if !message.attachments.is_empty() {
            self.remove_files(&attachment::message_prefix(&place, room.id, id)).await;
        }
        self.announce(ChatEvent::MessageDeleted { place, channel_id: room.id, message_id: id }).await;
        Ok(())
    }
}

impl Communities {
    /// A live message of a channel the caller may view, with the caller's standing there.
    async fn live_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
        scope: Scope,
    ) -> Result<(Room, Message), CoreError> {
        let room = self.room(principal, channel_id, scope).await?;
        room.require(Permissions::READ_MESSAGE_HISTORY)?;
        let found = self.deps.messages.message(id).await?.filter(|m| m.channel_id == room.id && m.deleted_at.is_none());
        let message = found.ok_or(CoreError::NotFound("message"))?;
        Ok((room, message))
    }

    /// Adds the caller's reaction (`add_reactions`); adding it twice changes nothing.
    pub async fn react(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
        emoji: &str,
    ) -> Result<(), CoreError> {
        let emoji = message::emoji(emoji).map_err(CoreError::invalid)?;
        let (room, message) = self.live_message(principal, channel_id, id, Scope::ChatWrite).await?;
        room.require(Permissions::ADD_REACTIONS)?;
        let reacted = self
            .deps
            .messages
            .add_reaction(message.id, principal.user_id, &emoji, message::REACTIONS_MAX, self.now())
            .await?;
        match reacted {
            Reacted::Added => {
                let user_id = principal.user_id;
                let place = room.place();
                let event = ChatEvent::ReactionAdded { place, channel_id: room.id, message_id: id, user_id, emoji };
                self.announce(event).await;
                Ok(())
            }
            Reacted::Already => Ok(()),
            Reacted::TooMany => Err(CoreError::Conflict(FieldError::new(
                "emoji",
                "too_many_reactions",
                format!("a message carries at most {} different reactions", message::REACTIONS_MAX),
            ))),
        }
    }

    /// Removes the caller's own reaction.
    pub async fn unreact(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
        emoji: &str,
    ) -> Result<(), CoreError> {
        let emoji = message::emoji(emoji).map_err(CoreError::invalid)?;
        let (room, message) = self.live_message(principal, channel_id, id, Scope::ChatWrite).await?;
        if !self.deps.messages.remove_reaction(message.id, principal.user_id, &emoji).await? {
            return Err(CoreError::NotFound("reaction"));
        }
        let user_id = principal.user_id;
        let place = room.place();
        let event = ChatEvent::ReactionRemoved { place, channel_id: room.id, message_id: id, user_id, emoji };
        self.announce(event).await;
        Ok(())
    }

    /// Removes every reaction, or every one with `emoji` (`manage_messages`); how many.
    pub async fn clear_reactions(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
        emoji: Option<&str>,
    ) -> Result<u64, CoreError> {
        let emoji = emoji.map(message::emoji).transpose().map_err(CoreError::invalid)?;
        let (room, message) = self.live_message(principal, channel_id, id, Scope::ChatWrite).await?;
        room.require(Permissions::MANAGE_MESSAGES)?;
        let cleared = self.deps.messages.clear_reactions(message.id, emoji.as_deref()).await?;
        if cleared > 0 {
            let place = room.place();
            self.announce(ChatEvent::ReactionsCleared { place, channel_id: room.id, message_id: id, emoji }).await;
        }
        Ok(cleared)
    }

    /// Who reacted with `emoji`.
    pub async fn reactors(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
        emoji: &str,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserId>, CoreError> {
        let emoji = message::emoji(emoji).map_err(CoreError::invalid)?;
        let (_, message) = self.live_message(principal, channel_id, id, Scope::ChatRead).await?;
        Ok(self.deps.messages.reactors(message.id, &emoji, after, limit.clamp(1, PAGE_MAX)).await?)
    }

    /// Each reaction's count on a message, and whether the caller reacted so.
    pub async fn reactions(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
    ) -> Result<Vec<ReactionCount>, CoreError> {
        let (_, message) = self.live_message(principal, channel_id, id, Scope::ChatRead).await?;
        Ok(self.deps.messages.reaction_counts(message.id, principal.user_id).await?)
    }

    /// Pins a message (`pin_messages`), at most 50 per channel.
    pub async fn pin(&self, principal: &Principal, channel_id: ChannelId, id: MessageId) -> Result<(), CoreError> {
        let (room, message) = self.live_message(principal, channel_id, id, Scope::ChatWrite).await?;
        room.require(Permissions::PIN_MESSAGES)?;
        if !self.deps.messages.pin(room.id, message.id, principal.user_id, message::PINS_MAX, self.now()).await? {
            return Err(CoreError::Conflict(FieldError::new(
                "message_id",
                "too_many_pins",
                format!("a channel has at most {} pinned messages; unpin one first", message::PINS_MAX),
            )));
        }
        let place = room.place();
        self.announce(ChatEvent::PinsChanged { place, channel_id: room.id, message_id: id, pinned: true }).await;
        Ok(())
    }

    pub async fn unpin(&self, principal: &Principal, channel_id: ChannelId, id: MessageId) -> Result<(), CoreError> {
        let room = self.room(principal, channel_id, Scope::ChatWrite).await?;
        room.require(Permissions::PIN_MESSAGES)?;
        if !self.deps.messages.unpin(room.id, id).await? {
            return Err(CoreError::NotFound("pin"));
        }
        let place = room.place();
        self.announce(ChatEvent::PinsChanged { place, channel_id: room.id, message_id: id, pinned: false }).await;
        Ok(())
    }

    /// The channel's pinned messages, newest pin first (`read_message_history`).
    pub async fn pins(&self, principal: &Principal, channel_id: ChannelId) -> Result<Vec<Pin>, CoreError> {
        let room = self.room(principal, channel_id, Scope::ChatRead).await?;
        room.require(Permissions::READ_MESSAGE_HISTORY)?;
        let mut pins = self.deps.messages.pins(room.id).await?;
        for pin in &mut pins {
            self.embed(std::slice::from_mut(&mut pin.message)).await;
        }
        Ok(pins)
    }
}

impl Communities {
    /// Marks a channel read up to a message of it (never backwards).
    pub async fn ack(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
    ) -> Result<ReadState, CoreError> {
        let (room, message) = self.live_message(principal, channel_id, id, Scope::ChatWrite).await?;
        self.deps.messages.ack(principal.user_id, room.id, message.id).await?;
        let state = self.deps.messages.read_state(principal.user_id, room.id, room.roles()).await?;
        self.announce(ChatEvent::ReadStateChanged { user_id: principal.user_id, state: state.clone() }).await;
        Ok(state)
    }

    /// Tells the channel the caller is typing (`send_messages`), for the next 10 seconds.
    pub async fn typing(&self, principal: &Principal, channel_id: ChannelId) -> Result<OffsetDateTime, CoreError> {
        let room = self.room(principal, channel_id, Scope::ChatWrite).await?;
        may_post(&room)?;
        let until = self.now() + TYPING_LASTS;
        let (place, user_id) = (room.place(), principal.user_id);
        self.announce(ChatEvent::Typing { place, channel_id: room.id, user_id, until }).await;
        Ok(until)
    }

    /// The caller's read state in every channel of a community they may read.
    pub async fn read_states(
        &self,
        principal: &Principal,
        id: crate::id::CommunityId,
    ) -> Result<Vec<ReadState>, CoreError> {
        Ok(self.overview(principal, id).await?.1)
    }

    /// A community as a client starting up needs it, from one look at the caller's standing:
    /// the channels they may view (with what they may do there), then the open threads of
    /// those, and their read state in each channel they may read and each thread they are in.
    pub async fn overview(
        &self,
        principal: &Principal,
        id: crate::id::CommunityId,
    ) -> Result<(Vec<ChannelView>, Vec<ReadState>), CoreError> {
        let actor = self.actor(principal, id, Scope::ChatRead).await?;
        let channels = self.deps.channels.channels(id).await?;
        let mut views: Vec<ChannelView> = channels
            .iter()
            .map(|channel| ChannelView { my_permissions: actor.in_channel(channel), channel: channel.clone() })
            .filter(|v| v.my_permissions.contains(Permissions::VIEW_CHANNEL))
            .collect();
        let mut threads = self.deps.channels.active_threads(id).await?;
        threads.sort_by_key(|t| t.parent_id.map(|p| p.0));
        for parent in &channels {
            let start = threads.partition_point(|t| t.parent_id.map(|p| p.0) < Some(parent.id.0));
            let end = threads.partition_point(|t| t.parent_id.map(|p| p.0) <= Some(parent.id.0));
            let of_parent = threads[start..end].to_vec();
            views.extend(crate::chat::threads::views_of_threads(&actor, parent, of_parent));
        }
        let joined = self.deps.channels.joined_threads(id, principal.user_id).await?;
        let mut states = Vec::new();
        for view in &views {
            let (channel, mine) = (&view.channel, view.my_permissions);
            let wanted = match channel.kind {
                ChannelKind::Category => false,
                ChannelKind::Thread => joined.contains(&channel.id),
                _ => true,
            };
            if wanted && mine.contains(Permissions::READ_MESSAGE_HISTORY) {
                states.push(self.deps.messages.read_state(principal.user_id, channel.id, &actor.member.roles).await?);
            }
        }
        Ok((views, states))
    }
}

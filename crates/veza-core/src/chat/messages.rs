//! The message use cases: sending (idempotent by client nonce, under slowmode, mentions checked
//! and `@everyone` gated), reading history by cursor, editing (the earlier text kept) and
//! deleting (a tombstone). Every check is on the channel's resolved permissions.

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::chat::channel::{Channel, ChannelKind};
use crate::chat::communities::{Actor, Communities};
use crate::chat::message::{self, HistoryCursor, Message, MessageEdit, Posted, MENTIONS_MAX, PAGE_MAX};
use crate::chat::permissions::Permissions;
use crate::error::{CoreError, FieldError, Validator};
use crate::id::{ChannelId, MessageId};

impl Communities {
    /// Mentions of people outside the community or roles not its own are refused, so a client
    /// learns at once that nobody will be notified.
    async fn checked_mentions(
        &self,
        actor: &Actor,
        channel: &Channel,
        text: &str,
    ) -> Result<message::Mentions, CoreError> {
        let mut mentions = message::parse_mentions(text);
        if mentions.users.len() + mentions.roles.len() > MENTIONS_MAX {
            return Err(CoreError::invalid(FieldError::new(
                "content",
                "too_many_mentions",
                format!("a message mentions at most {MENTIONS_MAX} people and roles"),
            )));
        }
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
        mentions.everyone &= actor.in_channel(channel).contains(Permissions::MENTION_EVERYONE);
        Ok(mentions)
    }

    /// Sends a message; a retry with the same nonce returns the first send (`false`).
    pub async fn send_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        content: &str,
        nonce: Option<&str>,
        reply_to: Option<MessageId>,
    ) -> Result<(Message, bool), CoreError> {
        let (channel, actor) = self.visible(principal, channel_id, Scope::ChatWrite).await?;
        let mut v = Validator::default();
        let text = v.check(message::content(content));
        let nonce = v.check(message::nonce(nonce));
        let (text, nonce) = v.finish(|| Some((text?, nonce?)))?;
        if channel.kind == ChannelKind::Category {
            return Err(CoreError::Conflict(FieldError::new("channel", "category", "categories hold no messages")));
        }
        actor.require_in(&channel, Permissions::SEND_MESSAGES)?;
        if channel.kind == ChannelKind::Announcement {
            actor.require_in(&channel, Permissions::MANAGE_MESSAGES)?;
        }
        // A retry of a send that happened answers with it, slowmode or not.
        if let Some(nonce) = &nonce {
            if let Some(sent) = self.deps.messages.by_nonce(channel.id, principal.user_id, nonce).await? {
                return Ok((sent, false));
            }
        }
        let now = self.now();
        let exempt = actor.in_channel(&channel).contains(Permissions::MANAGE_MESSAGES);
        if channel.slowmode_secs > 0 && !exempt {
            if let Some(last) = self.deps.messages.last_post(channel.id, principal.user_id).await? {
                let ready = last + time::Duration::seconds(i64::from(channel.slowmode_secs));
                if ready > now {
                    return Err(CoreError::Slowmode((ready - now).unsigned_abs()));
                }
            }
        }
        if let Some(reply_to) = reply_to {
            let target = self.deps.messages.message(reply_to).await?;
            if !target.is_some_and(|m| m.channel_id == channel.id && m.deleted_at.is_none()) {
                return Err(CoreError::NotFound("message to reply to"));
            }
        }
        let mentions = self.checked_mentions(&actor, &channel, &text).await?;
        let message = Message {
            id: MessageId::new(self.deps.ids.as_ref()),
            channel_id: channel.id,
            author_id: principal.user_id,
            content: text,
            nonce,
            reply_to,
            mentions,
            created_at: now,
            edited_at: None,
            deleted_at: None,
        };
        match self.deps.messages.post(&message).await? {
            Posted::New(m) => Ok((m, true)),
            Posted::Existing(m) => Ok((m, false)),
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
        let (channel, actor) = self.visible(principal, channel_id, Scope::ChatRead).await?;
        actor.require_in(&channel, Permissions::READ_MESSAGE_HISTORY)?;
        Ok(self.deps.messages.history(channel.id, cursor, limit.clamp(1, PAGE_MAX)).await?)
    }

    /// One message of a channel the caller may read.
    pub async fn get_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
    ) -> Result<Message, CoreError> {
        let (channel, actor) = self.visible(principal, channel_id, Scope::ChatRead).await?;
        actor.require_in(&channel, Permissions::READ_MESSAGE_HISTORY)?;
        let found = self.deps.messages.message(id).await?.filter(|m| m.channel_id == channel.id);
        found.ok_or(CoreError::NotFound("message"))
    }

    /// Edits one's own message; the earlier text is kept in its edit history.
    pub async fn edit_message(
        &self,
        principal: &Principal,
        channel_id: ChannelId,
        id: MessageId,
        content: &str,
    ) -> Result<Message, CoreError> {
        let (channel, actor) = self.visible(principal, channel_id, Scope::ChatWrite).await?;
        let found =
            self.deps.messages.message(id).await?.filter(|m| m.channel_id == channel.id && m.deleted_at.is_none());
        let mut message = found.ok_or(CoreError::NotFound("message"))?;
        if message.author_id != principal.user_id {
            return Err(CoreError::Forbidden("only its author can edit a message"));
        }
        let text = message::content(content).map_err(CoreError::invalid)?;
        let now = self.now();
        let previous = MessageEdit { message_id: id, content: message.content.clone(), edited_at: now };
        message.mentions = self.checked_mentions(&actor, &channel, &text).await?;
        message.content = text;
        message.edited_at = Some(now);
        if !self.deps.messages.edit_message(&message, &previous).await? {
            return Err(CoreError::NotFound("message"));
        }
        Ok(message)
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
        let (channel, actor) = self.visible(principal, channel_id, Scope::ChatWrite).await?;
        let found =
            self.deps.messages.message(id).await?.filter(|m| m.channel_id == channel.id && m.deleted_at.is_none());
        let message = found.ok_or(CoreError::NotFound("message"))?;
        if message.author_id != principal.user_id {
            actor.require_in(&channel, Permissions::MANAGE_MESSAGES)?;
        }
        if !self.deps.messages.delete_message(id, self.now()).await? {
            return Err(CoreError::NotFound("message"));
        }
        Ok(())
    }
}

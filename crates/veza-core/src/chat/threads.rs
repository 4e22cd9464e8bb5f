//! The thread use cases: starting a thread in a channel (from one of its messages, or on its
//! own), listing a channel's threads, and joining, leaving and listing a thread's members.
//! Editing, archiving, locking and deleting a thread go through the channel use cases; sending
//! in one through the message use cases (posting joins the thread).

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::audit::{AuditAction, RequestMeta};
use crate::chat::channel::{
    auto_archive, Channel, ChannelKind, Thread, ThreadMember, ACTIVE_THREADS_MAX, AUTO_ARCHIVE_DEFAULT, NAME_MAX,
    THREAD_MEMBERS_PAGE_MAX, THREAD_PAGE_MAX,
};
use crate::chat::channels::ChannelView;
use crate::chat::communities::{Actor, Communities};
use crate::chat::community;
use crate::chat::event::{ChatEvent, Place};
use crate::chat::permissions::Permissions;
use crate::error::{CoreError, FieldError};
use crate::id::{ChannelId, MessageId, UserId};
use crate::ports::StoreError;

impl Communities {
    /// Starts a thread in a text or announcement channel (`create_threads` there), from one of
    /// its messages (one thread per message) or on its own. The starter joins it.
    pub async fn start_thread(
        &self,
        principal: &Principal,
        parent_id: ChannelId,
        name: &str,
        from: Option<MessageId>,
        auto_archive_minutes: Option<u32>,
        meta: &RequestMeta,
    ) -> Result<Channel, CoreError> {
        let (parent, actor) = self.visible(principal, parent_id, Scope::ChatWrite).await?;
        if !matches!(parent.kind, ChannelKind::Text | ChannelKind::Announcement) {
            return Err(CoreError::Conflict(FieldError::new(
                "channel",
                "no_threads",
                "threads are started in text and announcement channels",
            )));
        }
        let name = community::text("name", name, NAME_MAX).map_err(CoreError::invalid)?;
        let auto_archive_minutes =
            auto_archive(auto_archive_minutes.unwrap_or(AUTO_ARCHIVE_DEFAULT)).map_err(CoreError::invalid)?;
        actor.require_in(&parent, Permissions::CREATE_THREADS)?;
        if let Some(from) = from {
            actor.require_in(&parent, Permissions::READ_MESSAGE_HISTORY)?;
            let found = self.deps.messages.message(from).await?;
            if !found.is_some_and(|m| m.channel_id == parent.id && m.deleted_at.is_none()) {
                return Err(CoreError::NotFound("message to start the thread from"));
            }
        }
        if self.deps.channels.active_threads(parent.community_id).await?.len() >= ACTIVE_THREADS_MAX {
            return Err(CoreError::Conflict(FieldError::new(
                "name",
                "too_many",
                format!("a community has at most {ACTIVE_THREADS_MAX} threads open at once: archive some first"),
            )));
        }
        let thread = Channel {
            id: ChannelId::new(self.deps.ids.as_ref()),
            community_id: parent.community_id,
            kind: ChannelKind::Thread,
            name,
            topic: None,
            parent_id: Some(parent.id),
            position: 0,
            slowmode_secs: 0,
            created_at: self.now(),
            overwrites: Vec::new(),
            thread: Some(Thread {
                owner_id: principal.user_id,
                starter_id: from,
                archived_at: None,
                locked: false,
                auto_archive_minutes,
                unarchived_at: None,
            }),
        };
        let mut entry = self.entry(AuditAction::ChannelCreated, principal.user_id, None, parent.community_id, meta);
        entry.detail.insert("channel_id".into(), thread.id.to_string().into());
        entry.detail.insert("parent_id".into(), parent.id.to_string().into());
        match self.deps.channels.create_channel(&thread, &entry).await {
            Err(StoreError::Conflict(_)) => {
                return Err(CoreError::Conflict(FieldError::new(
                    "message_id",
                    "has_thread",
                    "a thread was started from this message already",
                )))
            }
            other => other?,
        }
        let thread = Channel { overwrites: parent.overwrites, ..thread };
        self.announce(ChatEvent::ChannelCreated(thread.clone())).await;
        Ok(thread)
    }

    /// Archives every thread idle for longer than it chose (no message for its
    /// `auto_archive_minutes`), and announces each; returns how many. Every node runs it: one
    /// conditional UPDATE archives each thread once.
    pub async fn archive_idle_threads(&self) -> Result<usize, CoreError> {
        let archived = self.deps.channels.archive_idle_threads(self.now()).await?;
        for thread in &archived {
            // Committed already: a failed read of the parent must not keep the others unannounced.
            let parent = match thread.parent_id {
                Some(parent) => self.deps.channels.channel(parent).await.unwrap_or_else(|e| {
                    tracing::warn!(thread = %thread.id, error = %e, "announcing an archived thread without its parent");
                    None
                }),
                None => None,
            };
            // Announced as clients see threads: with their parent's overwrites.
            let overwrites = parent.map(|p| p.overwrites).unwrap_or_default();
            self.announce(ChatEvent::ChannelUpdated(Channel { overwrites, ..thread.clone() })).await;
        }
        Ok(archived.len())
    }

    /// A page of a channel's threads, newest first: the open ones, or the archived ones.
    pub async fn list_threads(
        &self,
        principal: &Principal,
        parent_id: ChannelId,
        archived: bool,
        before: Option<ChannelId>,
        limit: u32,
    ) -> Result<Vec<ChannelView>, CoreError> {
        let limit = crate::page::limit_within(limit, THREAD_PAGE_MAX)?;
        let (parent, actor) = self.visible(principal, parent_id, Scope::ChatRead).await?;
        let threads = self.deps.channels.threads(parent.id, archived, before, limit).await?;
        Ok(views_of_threads(&actor, &parent, threads))
    }

    /// A thread the caller may view.
    async fn visible_thread(
        &self,
        principal: &Principal,
        id: ChannelId,
        scope: Scope,
    ) -> Result<(Channel, Actor), CoreError> {
        let (thread, actor) = self.visible(principal, id, scope).await?;
        if thread.kind != ChannelKind::Thread {
            return Err(CoreError::NotFound("thread"));
        }
        Ok((thread, actor))
    }

    /// Joins a thread one may view; joining twice changes nothing.
    pub async fn join_thread(&self, principal: &Principal, id: ChannelId) -> Result<(), CoreError> {
        let (thread, _) = self.visible_thread(principal, id, Scope::ChatWrite).await?;
        if self.deps.channels.join_thread(thread.id, principal.user_id, self.now()).await? {
            self.announce_member(&thread, principal.user_id, true).await;
        }
        Ok(())
    }

    /// Takes someone out of a thread: oneself, or anyone with `manage_threads` there.
    pub async fn leave_thread(&self, principal: &Principal, id: ChannelId, user: UserId) -> Result<(), CoreError> {
        let (thread, actor) = self.visible_thread(principal, id, Scope::ChatWrite).await?;
        if user != principal.user_id {
            actor.require_in(&thread, Permissions::MANAGE_THREADS)?;
        }
        if !self.deps.channels.leave_thread(thread.id, user).await? {
            return Err(CoreError::NotFound("thread member"));
        }
        self.announce_member(&thread, user, false).await;
        Ok(())
    }

    /// Who is in a thread, earliest first (members of the community only).
    pub async fn thread_members(&self, principal: &Principal, id: ChannelId) -> Result<Vec<ThreadMember>, CoreError> {
        let (thread, _) = self.visible_thread(principal, id, Scope::ChatRead).await?;
        Ok(self.deps.channels.thread_members(thread.id, THREAD_MEMBERS_PAGE_MAX).await?)
    }

    /// Posting in a thread joins it; a failure here loses the membership, not the message.
    pub(super) async fn join_thread_quietly(&self, thread: &Channel, user: UserId) {
        match self.deps.channels.join_thread(thread.id, user, self.now()).await {
            Ok(true) => self.announce_member(thread, user, true).await,
            Ok(false) => {}
            Err(e) => tracing::warn!(thread = %thread.id, error = %e, "a poster could not be added to the thread"),
        }
    }

    /// A mention in a thread adds the people mentioned to it (as Discord does), those who may
    /// view it; a failure loses the membership, not the message.
    pub(super) async fn add_mentioned(&self, actor: &Actor, thread: &Channel, mentioned: &[UserId]) {
        for user in mentioned.iter().filter(|u| **u != actor.member.user_id) {
            let member = match self.deps.communities.member(thread.community_id, *user).await {
                Ok(Some(member)) => member,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(thread = %thread.id, error = %e, "a mentioned member could not be added to the thread");
                    continue;
                }
            };
            let them = actor.as_member(member);
            if them.in_channel(thread).contains(Permissions::VIEW_CHANNEL) {
                self.join_thread_quietly(thread, *user).await;
            }
        }
    }

    async fn announce_member(&self, thread: &Channel, user_id: UserId, joined: bool) {
        let event = ChatEvent::ThreadMemberChanged { place: Place::of(thread), thread_id: thread.id, user_id, joined };
        self.announce(event).await;
    }
}

/// Threads of `parent` as the caller sees them: through the parent's overwrites.
pub(super) fn views_of_threads(actor: &Actor, parent: &Channel, threads: Vec<Channel>) -> Vec<ChannelView> {
    threads
        .into_iter()
        .map(|thread| {
            let channel = Channel { overwrites: parent.overwrites.clone(), ..thread };
            ChannelView { my_permissions: actor.in_channel(&channel), channel }
        })
        .filter(|v| v.my_permissions.contains(Permissions::VIEW_CHANNEL))
        .collect()
}

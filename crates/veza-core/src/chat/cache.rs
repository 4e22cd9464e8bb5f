//! A read-through cache of what deciding a permission reads — communities, their roles, their
//! members and channels — as a decorator over the community and channel repositories. Every
//! message sent, read or reacted to decides the sender's permissions in its channel; with the
//! cache that costs no database round trip, where it cost four.
//!
//! Exact on one node: every change to these goes through the repositories, so through this
//! decorator, which empties the cache before and after each (changes are rare next to reads,
//! and refilling is cheap). Reads that overlap a change never fill it with what the change
//! replaced (a generation count, as in [`crate::user_cache`]). Entries also expire after a
//! time, for what changes beneath the repositories: an account deleted takes its memberships
//! with it.
//!
//! In a cluster each node has its own, and each change also tells the other nodes
//! ([`CachePeers`]), which drop everything ([`CachedChat::forget_all`]) before the change is
//! answered; a node that has lost its link to them serves nothing from its cache
//! ([`CachedChat::set_reachable`]) until the link is back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::AuditEntry;
use crate::chat::channel::{Channel, DirectChannel, ThreadMember};
use crate::chat::community::{Ban, Community, CommunityRole, Invite, Joined, Member};
use crate::chat::permissions::{Overwrite, OverwriteTarget};
use crate::id::{ChannelId, CommunityId, RoleId, UserId};
use crate::ports::{CachePeers, ChannelRepo, CommunityRepo, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Community(CommunityId),
    Roles(CommunityId),
    Member(CommunityId, UserId),
    Channel(ChannelId),
}

/// What a key holds; absence is remembered too (a channel id that is not one stays not one).
#[derive(Debug, Clone)]
enum Entry {
    Community(Option<Community>),
    Roles(Arc<[CommunityRole]>),
    Member(Option<Member>),
    Channel(Option<Channel>),
}

#[derive(Debug)]
pub struct CachedChat {
    communities: Arc<dyn CommunityRepo>,
    channels: Arc<dyn ChannelRepo>,
    /// Each value with the generation it was read in: only the current generation's count.
    entries: moka::sync::Cache<Key, (u64, Entry)>,
    /// Bumped before and after every change.
    writes: AtomicU64,
    /// The other nodes, told of each change; none on a single node.
    peers: Option<Arc<dyn CachePeers>>,
    /// False while other nodes' changes may not reach this one: reads then go to the store.
    reachable: AtomicBool,
}

impl CachedChat {
    /// Keeps up to `capacity` entries for at most `ttl` each.
    pub fn new(
        communities: Arc<dyn CommunityRepo>,
        channels: Arc<dyn ChannelRepo>,
        ttl: Duration,
        capacity: u64,
    ) -> Self {
        let entries = moka::sync::Cache::builder().max_capacity(capacity).time_to_live(ttl).build();
        Self {
            communities,
            channels,
            entries,
            writes: AtomicU64::new(0),
            peers: None,
            reachable: AtomicBool::new(true),
        }
    }

    /// A node of a cluster: each change is announced to `peers`, and nothing is served from the
    /// cache until [`CachedChat::set_reachable`] says the other nodes' announcements arrive.
    pub fn with_peers(mut self, peers: Arc<dyn CachePeers>) -> Self {
        self.peers = Some(peers);
        self.reachable = AtomicBool::new(false);
        self
    }

    /// Drops everything, for a change made through another node; reads running meanwhile keep
    /// nothing they read.
    pub fn forget_all(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }

    /// Whether the other nodes' changes reach this one. While they may not, every read goes to
    /// the store; when they do again, what was cached before is dropped.
    pub fn set_reachable(&self, reachable: bool) {
        self.forget_all();
        self.reachable.store(reachable, Ordering::SeqCst);
        self.forget_all();
    }

    fn generation(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// The cached value of `key`, or `load`'s, kept unless a change began meanwhile.
    async fn through<T: Clone>(
        &self,
        key: Key,
        take: fn(Entry) -> Option<T>,
        put: fn(T) -> Entry,
        load: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        if !self.reachable.load(Ordering::SeqCst) {
            return load.await;
        }
        // Tagged, not merely emptied: a read that loaded before a change and stores after it
        // (however its steps interleave with the emptying) stores under a past generation.
        let before = self.generation();
        if let Some((read_in, entry)) = self.entries.get(&key) {
            if let Some(found) = take(entry).filter(|_| read_in == before) {
                return Ok(found);
            }
        }
        let loaded = load.await?;
        if self.generation() == before && self.reachable.load(Ordering::SeqCst) {
            self.entries.insert(key, (before, put(loaded.clone())));
        }
        Ok(loaded)
    }

    /// Runs a change with the cache emptied on both sides of it: nothing read before it is
    /// served after it, and nothing read while it ran is kept; then tells the other nodes.
    async fn change<T>(&self, change: impl std::future::Future<Output = StoreResult<T>>) -> StoreResult<T> {
        self.forget_all();
        let result = change.await;
        self.forget_all();
        if let Some(peers) = &self.peers {
            peers.changed().await;
        }
        result
    }
}

#[async_trait]
impl CommunityRepo for CachedChat {
    async fn create_community(
        &self,
        community: &Community,
        everyone: &CommunityRole,
        owner: &Member,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.change(self.communities.create_community(community, everyone, owner, audit)).await
    }

    async fn community(&self, id: CommunityId) -> StoreResult<Option<Community>> {
        let take = |e| match e {
            Entry::Community(c) => Some(c),
            _ => None,
        };
        self.through(Key::Community(id), take, Entry::Community, self.communities.community(id)).await
    }

    async fn update_community(&self, community: &Community, audit: &AuditEntry) -> StoreResult<()> {
        self.change(self.communities.update_community(community, audit)).await
    }

    async fn delete_community(&self, id: CommunityId, audit: &AuditEntry) -> StoreResult<()> {
        self.change(self.communities.delete_community(id, audit)).await
    }

    async fn communities_of(&self, user: UserId) -> StoreResult<Vec<Community>> {
        self.communities.communities_of(user).await
    }

    async fn member_count(&self, id: CommunityId) -> StoreResult<u64> {
        self.communities.member_count(id).await
    }

    async fn roles(&self, id: CommunityId) -> StoreResult<Vec<CommunityRole>> {
        let take = |e| match e {
            Entry::Roles(r) => Some(r),
            _ => None,
        };
        let load = async { self.communities.roles(id).await.map(Arc::from) };
        let roles: Arc<[CommunityRole]> = self.through(Key::Roles(id), take, Entry::Roles, load).await?;
        Ok(roles.to_vec())
    }

    async fn save_role(&self, role: &CommunityRole, audit: &AuditEntry) -> StoreResult<()> {
        self.change(self.communities.save_role(role, audit)).await
    }

    async fn delete_role(&self, community: CommunityId, role: RoleId, audit: &AuditEntry) -> StoreResult<bool> {
        self.change(self.communities.delete_role(community, role, audit)).await
    }

    async fn member(&self, community: CommunityId, user: UserId) -> StoreResult<Option<Member>> {
        let take = |e| match e {
            Entry::Member(m) => Some(m),
            _ => None,
        };
        let load = self.communities.member(community, user);
        self.through(Key::Member(community, user), take, Entry::Member, load).await
    }

    async fn members(&self, community: CommunityId, after: Option<UserId>, limit: u32) -> StoreResult<Vec<Member>> {
        self.communities.members(community, after, limit).await
    }

    async fn update_member(&self, member: &Member, audit: &AuditEntry) -> StoreResult<bool> {
        self.change(self.communities.update_member(member, audit)).await
    }

    async fn remove_member(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
        self.change(self.communities.remove_member(community, user, audit)).await
    }

    // Invites decide nothing cached: they pass straight through, as do bans' lists.
    async fn save_invite(&self, invite: &Invite, audit: &AuditEntry) -> StoreResult<()> {
        self.communities.save_invite(invite, audit).await
    }

    async fn invite(&self, code: &str) -> StoreResult<Option<Invite>> {
        self.communities.invite(code).await
    }

    async fn invites(&self, community: CommunityId) -> StoreResult<Vec<Invite>> {
        self.communities.invites(community).await
    }

    async fn delete_invite(&self, code: &str, audit: &AuditEntry) -> StoreResult<bool> {
        self.communities.delete_invite(code, audit).await
    }

    async fn join(&self, code: &str, member: &Member, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<Joined> {
        self.change(self.communities.join(code, member, now, audit)).await
    }

    async fn ban(&self, ban: &Ban, audit: &AuditEntry) -> StoreResult<bool> {
        self.change(self.communities.ban(ban, audit)).await
    }

    async fn unban(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
        self.communities.unban(community, user, audit).await
    }

    async fn bans(&self, community: CommunityId) -> StoreResult<Vec<Ban>> {
        self.communities.bans(community).await
    }
}

#[async_trait]
impl ChannelRepo for CachedChat {
    async fn create_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<()> {
        self.change(self.channels.create_channel(channel, audit)).await
    }

    async fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>> {
        let take = |e| match e {
            Entry::Channel(c) => Some(c),
            _ => None,
        };
        self.through(Key::Channel(id), take, Entry::Channel, self.channels.channel(id)).await
    }

    async fn channels(&self, community: CommunityId) -> StoreResult<Vec<Channel>> {
        self.channels.channels(community).await
    }

    async fn update_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<bool> {
        self.change(self.channels.update_channel(channel, audit)).await
    }

    async fn delete_channel(&self, id: ChannelId, audit: &AuditEntry) -> StoreResult<bool> {
        self.change(self.channels.delete_channel(id, audit)).await
    }

    async fn threads(
        &self,
        parent: ChannelId,
        archived: bool,
        before: Option<ChannelId>,
        limit: u32,
    ) -> StoreResult<Vec<Channel>> {
        self.channels.threads(parent, archived, before, limit).await
    }

    async fn active_threads(&self, community: CommunityId) -> StoreResult<Vec<Channel>> {
        self.channels.active_threads(community).await
    }

    // Each node sweeps now and then; a sweep that archives nothing changes nothing, and so
    // neither empties the caches nor tells the other nodes.
    async fn archive_idle_threads(&self, now: OffsetDateTime) -> StoreResult<Vec<Channel>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let archived = self.channels.archive_idle_threads(now).await;
        if archived.as_ref().is_ok_and(Vec::is_empty) {
            self.writes.fetch_add(1, Ordering::SeqCst);
            return archived;
        }
        // Archived something, or failed without saying what (it may have committed).
        self.forget_all();
        if let Some(peers) = &self.peers {
            peers.changed().await;
        }
        archived
    }

    // A thread's membership and direct conversations decide nothing cached.
    async fn join_thread(&self, thread: ChannelId, user: UserId, at: OffsetDateTime) -> StoreResult<bool> {
        self.channels.join_thread(thread, user, at).await
    }

    async fn leave_thread(&self, thread: ChannelId, user: UserId) -> StoreResult<bool> {
        self.channels.leave_thread(thread, user).await
    }

    async fn thread_members(&self, thread: ChannelId, limit: u32) -> StoreResult<Vec<ThreadMember>> {
        self.channels.thread_members(thread, limit).await
    }

    async fn joined_threads(&self, community: CommunityId, user: UserId) -> StoreResult<Vec<ChannelId>> {
        self.channels.joined_threads(community, user).await
    }

    async fn create_direct(&self, channel: &DirectChannel) -> StoreResult<(DirectChannel, bool)> {
        self.channels.create_direct(channel).await
    }

    async fn direct_channel(&self, id: ChannelId) -> StoreResult<Option<DirectChannel>> {
        self.channels.direct_channel(id).await
    }

    async fn direct_channels_of(&self, user: UserId) -> StoreResult<Vec<DirectChannel>> {
        self.channels.direct_channels_of(user).await
    }

    async fn add_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool> {
        self.channels.add_recipient(channel, user).await
    }

    async fn remove_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool> {
        self.channels.remove_recipient(channel, user).await
    }

    async fn update_group(
        &self,
        channel: ChannelId,
        by: UserId,
        name: Option<&str>,
        owner: Option<UserId>,
    ) -> StoreResult<Option<DirectChannel>> {
        self.channels.update_group(channel, by, name, owner).await
    }

    async fn set_overwrite(&self, channel: ChannelId, overwrite: &Overwrite, audit: &AuditEntry) -> StoreResult<()> {
        self.change(self.channels.set_overwrite(channel, overwrite, audit)).await
    }

    async fn remove_overwrite(
        &self,
        channel: ChannelId,
        target: OverwriteTarget,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        self.change(self.channels.remove_overwrite(channel, target, audit)).await
    }
}

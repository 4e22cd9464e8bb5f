//! A read-through cache of accounts by id, as a decorator over any [`UserRepo`]. Nearly every
//! authenticated request reads its caller's row (to refuse disabled accounts, to show `/me`), so
//! the hottest rows are served from memory.
//!
//! Staleness is bounded by the TTL and only across nodes: writes made through this node replace
//! or drop its entry at once. Access tokens are already trusted for 15 minutes without a
//! database check, so a TTL of seconds weakens nothing. Logins always read the store.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::account_token::{CredentialChange, TokenPurpose};
use crate::audit::AuditEntry;
use crate::id::UserId;
use crate::ports::{StoreResult, UserRepo};
use crate::session::NewSession;
use crate::user::{AccountChange, NewUser, ProfilePatch, User, UserQuery, Username};

#[derive(Debug)]
pub struct CachedUsers {
    inner: Arc<dyn UserRepo>,
    cache: moka::sync::Cache<UserId, User>,
    /// Bumped by every write. A read that started before a write must not put what it read into
    /// the cache after that write: it may be the state the write replaced.
    writes: std::sync::atomic::AtomicU64,
}

impl CachedUsers {
    /// Keeps up to `capacity` accounts for at most `ttl` each.
    pub fn new(inner: Arc<dyn UserRepo>, ttl: Duration, capacity: u64) -> Self {
        Self {
            inner,
            cache: moka::sync::Cache::builder().max_capacity(capacity).time_to_live(ttl).build(),
            writes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn generation(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Before a write: no read in flight may fill the cache from now on.
    fn begin_write(&self, id: UserId) {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.cache.invalidate(&id);
    }

    /// After a write: the written state, bumping again so reads that overlapped stay out.
    fn end_write(&self, id: UserId, written: Option<&User>) {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match written {
            Some(user) => self.cache.insert(id, user.clone()),
            None => self.cache.invalidate(&id),
        }
    }
}

#[async_trait]
impl UserRepo for CachedUsers {
    async fn create(&self, user: &NewUser, session: Option<&NewSession>, audit: &[AuditEntry]) -> StoreResult<()> {
        self.inner.create(user, session, audit).await
    }

    async fn by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        if let Some(user) = self.cache.get(&id) {
            return Ok(Some(user));
        }
        let before = self.generation();
        let found = self.inner.by_id(id).await?;
        if let Some(user) = &found {
            if self.generation() == before {
                self.cache.insert(id, user.clone());
                // A write may have begun between the check and the insert.
                if self.generation() != before {
                    self.cache.invalidate(&id);
                }
            }
        }
        Ok(found)
    }

    async fn by_id_fresh(&self, id: UserId) -> StoreResult<Option<User>> {
        self.inner.by_id_fresh(id).await
    }

    async fn by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        self.inner.by_username(username).await
    }

    async fn credentials(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
        self.inner.credentials(login).await
    }

    async fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Option<User>> {
        self.begin_write(id);
        let updated = self.inner.update_profile(id, patch, now, audit).await;
        self.end_write(id, updated.as_ref().ok().and_then(Option::as_ref));
        updated
    }

    async fn change_account(
        &self,
        id: UserId,
        change: &AccountChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<Option<User>> {
        self.begin_write(id);
        let updated = self.inner.change_account(id, change, now, audit).await;
        self.end_write(id, updated.as_ref().ok().and_then(Option::as_ref));
        updated
    }

    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>> {
        self.inner.list_users(query).await
    }

    async fn change_credentials(
        &self,
        id: UserId,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        self.begin_write(id);
        let changed = self.inner.change_credentials(id, change, now, audit).await;
        self.end_write(id, None);
        changed
    }

    async fn redeem_token(
        &self,
        user: UserId,
        hash: &str,
        purpose: TokenPurpose,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        self.begin_write(user);
        let redeemed = self.inner.redeem_token(user, hash, purpose, change, now, audit).await;
        self.end_write(user, None);
        redeemed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditAction;
    use crate::fakes::MemoryStore;
    use crate::id::AuditId;
    use crate::user::{Email, Role};

    fn entry() -> AuditEntry {
        AuditEntry {
            id: AuditId(1),
            action: AuditAction::ProfileUpdated,
            actor: None,
            target: None,
            ip: None,
            user_agent: None,
            request_id: None,
            detail: serde_json::Map::new(),
            created_at: OffsetDateTime::now_utc(),
        }
    }

    async fn setup(ttl: Duration) -> (MemoryStore, CachedUsers) {
        let store = MemoryStore::default();
        let cached = CachedUsers::new(Arc::new(store.clone()), ttl, 100);
        let user = NewUser {
            id: UserId(1),
            username: Username::parse("nova").expect("valid"),
            email: Email::parse("nova@example.com").expect("valid"),
            email_verified: false,
            password_hash: Some("h".into()),
            role: Role::User,
            created_at: OffsetDateTime::now_utc(),
        };
        cached.create(&user, None, &[]).await.expect("create");
        (store, cached)
    }

    fn named(name: &str) -> ProfilePatch {
        ProfilePatch { display_name: Some(Some(name.into())), ..ProfilePatch::default() }
    }

    #[tokio::test]
    async fn own_writes_are_seen_at_once_and_reads_are_served_from_memory() {
        let (store, cached) = setup(Duration::from_secs(60)).await;
        assert!(cached.by_id(UserId(1)).await.expect("read").is_some());
        // A write behind the cache's back (another node) is not seen within the TTL...
        store.update_profile(UserId(1), &named("elsewhere"), OffsetDateTime::now_utc(), &entry()).await.expect("write");
        let user = cached.by_id(UserId(1)).await.expect("read").expect("user");
        assert_eq!(user.profile.display_name, None);
        // ...but a write through the cache is.
        cached.update_profile(UserId(1), &named("here"), OffsetDateTime::now_utc(), &entry()).await.expect("write");
        let user = cached.by_id(UserId(1)).await.expect("read").expect("user");
        assert_eq!(user.profile.display_name.as_deref(), Some("here"));
        assert!(cached.by_id(UserId(2)).await.expect("read").is_none(), "misses are not cached as users");
    }

    #[tokio::test]
    async fn a_zero_ttl_caches_nothing() {
        let (store, cached) = setup(Duration::ZERO).await;
        cached.by_id(UserId(1)).await.expect("read");
        store.update_profile(UserId(1), &named("elsewhere"), OffsetDateTime::now_utc(), &entry()).await.expect("write");
        let user = cached.by_id(UserId(1)).await.expect("read").expect("user");
        assert_eq!(user.profile.display_name.as_deref(), Some("elsewhere"));
    }
}

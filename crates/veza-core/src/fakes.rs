//! In-memory implementations of every port, for unit tests of the use cases and as the reference
//! the storage contract suite is also run against. Not used by the `veza` binary.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::account_token::{
    AccountToken, CooldownKey, CredentialChange, EndSessions, NewAccountToken, SpentCode, TokenPurpose,
};
use crate::accounts::{AccountDeps, AccountPolicy, Accounts, Links};
use crate::api_key::{ApiKey, NewApiKey};
use crate::audit::{AuditEntry, AuditQuery};
use crate::chat::attachment::Attachment;
use crate::chat::channel::{Channel, ChannelKind, DirectChannel, ThreadMember};
use crate::chat::community::{Ban, Community, CommunityRole, Invite, Joined, Member};
use crate::chat::message::{HistoryCursor, Message, MessageEdit, Pin, Posted, ReactionCount, ReadState};
use crate::chat::permissions::{Overwrite, OverwriteTarget};
use crate::chat::presence::{PresenceSetting, Status};
use crate::clock::Clock;
use crate::error::{CoreError, TokenProblem};
use crate::id::{ApiKeyId, IdGenerator, IdentityId, PasskeyId, SessionId, UserId};
use crate::id::{AttachmentId, ChannelId, CommunityId, MessageId, RoleId};
use crate::identity::{
    AuthorizationRequest, CodeGrant, Identity, OAuthFlow, Provider, ProviderProblem, ProviderProfile,
};
use crate::page::PageRequest;
use crate::passkey::{Ceremony, CeremonyStart, NewCredential, Passkey};
use crate::ports::{
    AccessClaims, AccountTokenRepo, ApiKeyRepo, AuditRepo, Authenticator, ChannelRepo, CommunityRepo, FollowRepo,
    IdentityRepo, Jwk, MailOf, MessageRepo, OAuthFlowRepo, PasskeyCeremonies, PasskeyRepo, PasswordHasher,
    PresenceRepo, Purged, Reacted, SecondFactorRepo, SessionRepo, StoreError, StoreResult, TokenSigner, TotpEnabling,
    TotpRecord, Unlinked, UserRepo,
};
use crate::session::{NewSession, RevokeReason, Rotation, Session, TokenLookup};
use crate::social::{Edge, FollowCounts, Linked};
use crate::user::{AccountChange, AccountState, NewUser, Profile, ProfilePatch, Role, User, UserQuery, Username};

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }

    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock lock")
    }
}

/// IDs 1, 2, 3, …
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicI64);

impl IdGenerator for SequentialIds {
    fn next_raw(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A transparent "hash" (`fake:` + password): fast, and obviously not for production.
#[derive(Debug, Default)]
pub struct FakeHasher;

#[async_trait]
impl PasswordHasher for FakeHasher {
    async fn hash(&self, password: String) -> Result<String, CoreError> {
        Ok(format!("fake:{password}"))
    }

    async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, CoreError> {
        Ok(hash.is_some_and(|h| h == format!("fake:{password}")))
    }
}

/// Unsigned tokens `user.session.role.expiry`, checked against a clock.
#[derive(Debug)]
pub struct FakeSigner(pub Arc<dyn Clock>);

impl TokenSigner for FakeSigner {
    fn issue(&self, c: &AccessClaims) -> Result<String, CoreError> {
        Ok(format!("{}.{}.{}.{}", c.user_id, c.session_id, c.role.as_str(), c.expires_at.unix_timestamp()))
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenProblem> {
        let parts: Vec<&str> = token.split('.').collect();
        let [user, session, role, exp] = parts[..] else { return Err(TokenProblem::Malformed) };
        let exp = exp
            .parse()
            .ok()
            .and_then(|e| OffsetDateTime::from_unix_timestamp(e).ok())
            .ok_or(TokenProblem::Malformed)?;
        if exp <= self.0.now() {
            return Err(TokenProblem::Expired);
        }
        Ok(AccessClaims {
            user_id: user.parse().map_err(|_| TokenProblem::Malformed)?,
            session_id: session.parse().map_err(|_| TokenProblem::Malformed)?,
            role: Role::parse(role).ok_or(TokenProblem::Malformed)?,
            issued_at: exp,
            expires_at: exp,
            token_id: String::new(),
        })
    }

    fn public_keys(&self) -> Vec<Jwk> {
        Vec::new()
    }
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, (User, Option<String>)>,
    sessions: HashMap<SessionId, Session>,
    /// token hash → (session, consumed)
    tokens: HashMap<String, (SessionId, bool)>,
    audit: Vec<AuditEntry>,
    api_keys: HashMap<ApiKeyId, (ApiKey, String)>,
    mail: Vec<FakeMail>,
    account_tokens: HashMap<String, AccountToken>,
    totp: HashMap<UserId, TotpRecord>,
    /// user → (code hash, used)
    recovery_codes: HashMap<UserId, Vec<(String, bool)>>,
    identities: Vec<Identity>,
    oauth_flows: HashMap<String, OAuthFlow>,
    passkeys: Vec<Passkey>,
    ceremonies: HashMap<String, Ceremony>,
    communities: Vec<Community>,
    roles: Vec<CommunityRole>,
    members: Vec<Member>,
    invites: Vec<Invite>,
    bans: Vec<Ban>,
    channels: Vec<Channel>,
    thread_members: Vec<ThreadMember>,
    directs: Vec<DirectChannel>,
    presence_settings: HashMap<UserId, PresenceSetting>,
    /// connection → (user, node, lease end)
    connections: HashMap<String, (UserId, String, OffsetDateTime)>,
    messages: Vec<Message>,
    message_edits: Vec<MessageEdit>,
    /// (message, user, emoji, at)
    reactions: Vec<(MessageId, UserId, String, OffsetDateTime)>,
    /// (channel, message, by, at)
    pins: Vec<(ChannelId, MessageId, UserId, OffsetDateTime)>,
    /// (user, channel) → last read message
    read_marks: HashMap<(UserId, ChannelId), MessageId>,
    /// (row id, follower, followee, at)
    follows: Vec<(i64, UserId, UserId, OffsetDateTime)>,
}

impl State {
    /// Ways to sign in to `user` besides the identity or passkey being removed.
    fn other_ways_in(&self, user: UserId, identity: Option<IdentityId>, passkey: Option<PasskeyId>) -> usize {
        let password = usize::from(self.users.get(&user).is_some_and(|(_, hash)| hash.is_some()));
        let identities = self.identities.iter().filter(|i| i.user_id == user && Some(i.id) != identity).count();
        let passkeys = self.passkeys.iter().filter(|p| p.user_id == user && Some(p.id) != passkey).count();
        password + identities + passkeys
    }
}

/// A queued message as the fake keeps it.
#[derive(Debug, Clone)]
pub struct FakeMail {
    pub id: i64,
    pub mail: crate::mail::OutgoingMail,
    pub attempts: u32,
    pub due: OffsetDateTime,
    pub lease_until: Option<OffsetDateTime>,
    pub sent: bool,
    pub failed: Option<String>,
}

impl MemoryStore {
    /// Every message ever queued, in order.
    pub fn mail(&self) -> Vec<FakeMail> {
        self.state().mail.clone()
    }
}

#[async_trait]
impl crate::mail::MailQueue for MemoryStore {
    async fn enqueue(&self, id: i64, mail: &crate::mail::OutgoingMail, now: OffsetDateTime) -> StoreResult<()> {
        let m =
            FakeMail { id, mail: mail.clone(), attempts: 0, due: now, lease_until: None, sent: false, failed: None };
        self.state().mail.push(m);
        Ok(())
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Option<crate::mail::QueuedMail>> {
        let mut s = self.state();
        let next = s
            .mail
            .iter_mut()
            .filter(|m| !m.sent && m.failed.is_none() && m.due <= now && m.lease_until.is_none_or(|l| l < now))
            .min_by_key(|m| (m.due, m.id));
        Ok(next.map(|m| {
            m.lease_until = Some(lease_until);
            m.attempts += 1;
            crate::mail::QueuedMail { id: m.id, mail: m.mail.clone(), attempts: m.attempts }
        }))
    }

    async fn delivered(&self, id: i64, _now: OffsetDateTime) -> StoreResult<()> {
        if let Some(m) = self.state().mail.iter_mut().find(|m| m.id == id) {
            m.sent = true;
            m.lease_until = None;
            (m.mail.text, m.mail.html) = (String::new(), String::new());
        }
        Ok(())
    }

    async fn failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        if let Some(m) = self.state().mail.iter_mut().find(|m| m.id == id) {
            m.lease_until = None;
            match retry_at {
                Some(at) => m.due = at,
                None => {
                    m.failed = Some(error.to_string());
                    (m.mail.text, m.mail.html) = (String::new(), String::new());
                }
            }
        }
        Ok(())
    }

    async fn purge_finished(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut s = self.state();
        let count = s.mail.len();
        // The fake keeps no finish time; its queue time stands in for it.
        s.mail.retain(|m| !((m.sent || m.failed.is_some()) && m.due < before));
        Ok((count - s.mail.len()) as u64)
    }
}

/// Users, sessions and the audit log in one lock, so each call is atomic like a transaction.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore(Arc<Mutex<State>>);

impl MemoryStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn insert_session(s: &mut State, session: &NewSession) {
    s.sessions.insert(
        session.id,
        Session {
            id: session.id,
            user_id: session.user_id,
            created_at: session.created_at,
            last_used_at: session.created_at,
            expires_at: session.expires_at(),
            revoked_at: None,
            revoked_reason: None,
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
        },
    );
    s.tokens.insert(session.token_hash.clone(), (session.id, false));
}

#[async_trait]
impl UserRepo for MemoryStore {
    async fn create(&self, user: &NewUser, session: Option<&NewSession>, audit: &[AuditEntry]) -> StoreResult<()> {
        let mut s = self.state();
        if s.users.values().any(|(u, _)| u.username == user.username) {
            return Err(crate::ports::StoreError::Conflict("username"));
        }
        if s.users.values().any(|(u, _)| u.email.normalized() == user.email.normalized()) {
            return Err(crate::ports::StoreError::Conflict("email"));
        }
        let row = User {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            role: user.role,
            disabled: false,
            disabled_reason: None,
            profile: Profile::default(),
            created_at: user.created_at,
            updated_at: user.created_at,
        };
        s.users.insert(user.id, (row, user.password_hash.clone()));
        if let Some(session) = session {
            insert_session(&mut s, session);
        }
        s.audit.extend(audit.iter().cloned());
        Ok(())
    }

    async fn by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.state().users.get(&id).map(|(u, _)| u.clone()))
    }

    async fn by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        Ok(self.state().users.values().find(|(u, _)| &u.username == username).map(|(u, _)| u.clone()))
    }

    async fn credentials(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let s = self.state();
        Ok(s.users.values().find(|(u, _)| u.username.as_str() == login || u.email.normalized() == login).cloned())
    }

    async fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Option<User>> {
        let mut s = self.state();
        let Some((user, _)) = s.users.get_mut(&id) else { return Ok(None) };
        user.profile = patch.apply(&user.profile);
        user.updated_at = now;
        let user = user.clone();
        s.audit.push(audit.clone());
        Ok(Some(user))
    }

    async fn change_account(
        &self,
        id: UserId,
        change: &AccountChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<Option<User>> {
        let mut s = self.state();
        let Some((target, _)) = s.users.get(&id) else { return Ok(None) };
        let was_active_admin = target.role == Role::Admin && !target.disabled;
        let stops = change.role.is_some_and(|r| r != Role::Admin) || matches!(change.disabled, Some(Some(_)));
        let active_admins = s.users.values().filter(|(u, _)| u.role == Role::Admin && !u.disabled).count();
        if was_active_admin && stops && active_admins <= 1 {
            return Err(crate::ports::StoreError::LastAdmin);
        }
        let Some((user, _)) = s.users.get_mut(&id) else { return Ok(None) };
        if let Some(role) = change.role {
            user.role = role;
        }
        if let Some(disabled) = &change.disabled {
            user.disabled = disabled.is_some();
            user.disabled_reason = disabled.clone();
        }
        user.updated_at = now;
        let user = user.clone();
        if matches!(change.disabled, Some(Some(_))) {
            for sess in s.sessions.values_mut().filter(|x| x.user_id == id && x.revoked_at.is_none()) {
                sess.revoked_at = Some(now);
                sess.revoked_reason = Some(RevokeReason::AccountDisabled);
            }
            for (key, _) in s.api_keys.values_mut().filter(|(k, _)| k.user_id == id && k.revoked_at.is_none()) {
                key.revoked_at = Some(now);
            }
        }
        s.audit.extend(audit.iter().cloned());
        Ok(Some(user))
    }

    async fn change_credentials(
        &self,
        id: UserId,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        let mut s = self.state();
        let changed = apply_credentials(&mut s, id, change, now)?;
        if changed {
            s.audit.extend(audit.iter().cloned());
        }
        Ok(changed)
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
        let mut s = self.state();
        let Some(token) = s.account_tokens.get(hash).cloned() else { return Ok(false) };
        if token.user_id != user || token.refusal(purpose, now).is_some() {
            return Ok(false);
        }
        // The change first: it fails (on a taken address) before touching anything.
        if !apply_credentials(&mut s, token.user_id, change, now)? {
            return Ok(false);
        }
        if let Some(t) = s.account_tokens.get_mut(hash) {
            t.consumed_at = Some(now);
        }
        s.audit.extend(audit.iter().cloned());
        Ok(true)
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        let s = self.state();
        let search = q.search.as_deref().map(str::to_lowercase);
        let mut users: Vec<User> = s
            .users
            .values()
            .map(|(u, _)| u)
            .filter(|u| {
                search.as_deref().is_none_or(|t| u.username.as_str().contains(t) || u.email.normalized().contains(t))
            })
            .filter(|u| q.role.is_none_or(|r| u.role == r))
            .filter(|u| q.state.is_none_or(|st| u.disabled == (st == AccountState::Disabled)))
            .filter(|u| q.page.before.is_none_or(|b| u.id.0 < b))
            .cloned()
            .collect();
        users.sort_by_key(|u| std::cmp::Reverse(u.id));
        users.truncate(q.page.limit as usize + 1);
        Ok(users)
    }
}

#[async_trait]
impl SessionRepo for MemoryStore {
    async fn create(&self, session: &NewSession, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        insert_session(&mut s, session);
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn revoke_others(
        &self,
        user: UserId,
        keep: SessionId,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64> {
        let mut s = self.state();
        let mut n = 0;
        for sess in s.sessions.values_mut().filter(|x| x.user_id == user && x.id != keep && x.revoked_at.is_none()) {
            sess.revoked_at = Some(now);
            sess.revoked_reason = Some(RevokeReason::Revoked);
            n += 1;
        }
        s.audit.push(audit.clone());
        Ok(n)
    }

    async fn sessions_of(&self, user: UserId) -> StoreResult<Vec<Session>> {
        let s = self.state();
        let mut list: Vec<Session> =
            s.sessions.values().filter(|x| x.user_id == user && x.revoked_at.is_none()).cloned().collect();
        list.sort_by_key(|x| std::cmp::Reverse(x.id));
        Ok(list)
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        Ok(self.state().sessions.get(&id).cloned())
    }

    async fn known_device(&self, user: UserId, user_agent: Option<&str>) -> StoreResult<bool> {
        Ok(self.state().sessions.values().any(|x| x.user_id == user && x.user_agent.as_deref() == user_agent))
    }

    async fn lookup_refresh_token(&self, token_hash: &str) -> StoreResult<Option<TokenLookup>> {
        let s = self.state();
        Ok(s.tokens.get(token_hash).and_then(|(id, consumed)| {
            s.sessions.get(id).map(|session| TokenLookup { session: session.clone(), consumed: *consumed })
        }))
    }

    async fn rotate(
        &self,
        session: SessionId,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Rotation> {
        let mut s = self.state();
        if s.sessions.get(&session).is_none_or(|x| x.revoked_at.is_some()) {
            return Ok(Rotation::SessionRevoked);
        }
        match s.tokens.get_mut(old_hash) {
            Some((id, consumed)) if *id == session && !*consumed => *consumed = true,
            _ => return Ok(Rotation::AlreadyConsumed),
        }
        s.tokens.insert(new_hash.to_string(), (session, false));
        if let Some(sess) = s.sessions.get_mut(&session) {
            sess.last_used_at = now;
        }
        s.audit.push(audit.clone());
        Ok(Rotation::Rotated)
    }

    async fn revoke(
        &self,
        session: SessionId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        let mut s = self.state();
        let revoked = match s.sessions.get_mut(&session) {
            Some(sess) if sess.revoked_at.is_none() => {
                sess.revoked_at = Some(now);
                sess.revoked_reason = Some(reason);
                true
            }
            _ => false,
        };
        s.audit.push(audit.clone());
        Ok(revoked)
    }

    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64> {
        let mut s = self.state();
        let mut n = 0;
        for sess in s.sessions.values_mut().filter(|x| x.user_id == user && x.revoked_at.is_none()) {
            sess.revoked_at = Some(now);
            sess.revoked_reason = Some(reason);
            n += 1;
        }
        s.audit.push(audit.clone());
        Ok(n)
    }
}

#[async_trait]
impl ApiKeyRepo for MemoryStore {
    async fn create(&self, key: &NewApiKey, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        s.api_keys.insert(key.key.id, (key.key.clone(), key.secret_hash.clone()));
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn for_user(&self, user: UserId) -> StoreResult<Vec<ApiKey>> {
        let s = self.state();
        let mut keys: Vec<ApiKey> = s
            .api_keys
            .values()
            .map(|(k, _)| k)
            .filter(|k| k.user_id == user && k.revoked_at.is_none())
            .cloned()
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.id));
        Ok(keys)
    }

    async fn get(&self, id: ApiKeyId) -> StoreResult<Option<(ApiKey, String)>> {
        Ok(self.state().api_keys.get(&id).cloned())
    }

    async fn revoke(&self, id: ApiKeyId, user: UserId, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        match s.api_keys.get_mut(&id) {
            Some((key, _)) if key.user_id == user && key.revoked_at.is_none() => key.revoked_at = Some(now),
            _ => return Ok(false),
        }
        s.audit.push(audit.clone());
        Ok(true)
    }

    async fn record_use(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        ip: Option<&str>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let mut s = self.state();
        if let Some((key, _)) = s.api_keys.get_mut(&id) {
            key.last_used_at = Some(now);
            key.last_used_ip = ip.map(str::to_string);
        }
        s.audit.extend(audit.cloned());
        Ok(())
    }
}

#[async_trait]
impl AuditRepo for MemoryStore {
    async fn append(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.state().audit.push(entry.clone());
        Ok(())
    }

    async fn list(&self, q: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        let s = self.state();
        let mut rows: Vec<AuditEntry> = s
            .audit
            .iter()
            .filter(|e| q.actor.is_none_or(|a| e.actor == Some(a)))
            .filter(|e| q.involving.is_none_or(|u| e.actor == Some(u) || e.target == Some(u)))
            .filter(|e| q.action.is_none_or(|a| e.action == a))
            .filter(|e| q.since.is_none_or(|t| e.created_at >= t))
            .filter(|e| q.until.is_none_or(|t| e.created_at < t))
            .filter(|e| q.page.before.is_none_or(|b| e.id.0 < b))
            .cloned()
            .collect();
        rows.sort_by_key(|e| std::cmp::Reverse(e.id));
        rows.truncate(q.page.limit as usize + 1);
        Ok(rows)
    }
}

/// What every way of changing credentials does to the state; false when the user is unknown.
fn apply_credentials(s: &mut State, id: UserId, change: &CredentialChange, now: OffsetDateTime) -> StoreResult<bool> {
    if let Some(email) = &change.verified_email {
        let taken = s.users.values().any(|(u, _)| u.id != id && u.email.normalized() == email.normalized());
        if taken {
            return Err(crate::ports::StoreError::Conflict("email"));
        }
    }
    if !s.users.contains_key(&id) {
        return Ok(false);
    }
    match &change.spend {
        None => {}
        Some(SpentCode::TotpStep(step)) => match s.totp.get_mut(&id) {
            Some(t) if t.enabled_at.is_some() && t.last_step < *step => t.last_step = *step,
            _ => return Ok(false),
        },
        Some(SpentCode::RecoveryCode(hash)) => {
            let codes = s.recovery_codes.get_mut(&id).into_iter().flatten();
            match codes.into_iter().find(|(h, used)| h == hash && !used) {
                Some(code) => code.1 = true,
                None => return Ok(false),
            }
        }
    }
    let Some((user, hash)) = s.users.get_mut(&id) else { return Ok(false) };
    if let Some(email) = &change.verified_email {
        user.email = email.clone();
        user.email_verified = true;
        user.updated_at = now;
    }
    if let Some(new_hash) = &change.password_hash {
        *hash = Some(new_hash.clone());
        user.updated_at = now;
    }
    let voided = |t: &&mut AccountToken| t.user_id == id && change.void_tokens.contains(&t.purpose);
    for token in s.account_tokens.values_mut().filter(voided).filter(|t| t.consumed_at.is_none()) {
        token.consumed_at = Some(now);
    }
    let ends = |sess: &Session| match change.end_sessions {
        EndSessions::None => false,
        EndSessions::All => true,
        EndSessions::AllBut(keep) => sess.id != keep,
    };
    for sess in s.sessions.values_mut().filter(|x| x.user_id == id && x.revoked_at.is_none()) {
        if ends(sess) {
            sess.revoked_at = Some(now);
            sess.revoked_reason = Some(change.reason);
        }
    }
    Ok(true)
}

#[async_trait]
impl AccountTokenRepo for MemoryStore {
    async fn issue(&self, token: &NewAccountToken, mail: Option<MailOf<'_>>, audit: &[AuditEntry]) -> StoreResult<()> {
        let mut s = self.state();
        let t = &token.token;
        if t.purpose.supersedes() {
            let earlier = s.account_tokens.values_mut().filter(|x| x.user_id == t.user_id && x.purpose == t.purpose);
            for x in earlier.filter(|x| x.consumed_at.is_none()) {
                x.consumed_at = Some(t.created_at);
            }
        }
        s.account_tokens.insert(token.hash.clone(), t.clone());
        if let Some(m) = mail {
            s.mail.push(FakeMail {
                id: m.id,
                mail: m.mail.clone(),
                attempts: 0,
                due: t.created_at,
                lease_until: None,
                sent: false,
                failed: None,
            });
        }
        s.audit.extend(audit.iter().cloned());
        Ok(())
    }

    async fn find(&self, hash: &str) -> StoreResult<Option<AccountToken>> {
        Ok(self.state().account_tokens.get(hash).cloned())
    }

    async fn purge_expired(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut s = self.state();
        let count = s.account_tokens.len();
        s.account_tokens.retain(|_, t| t.expires_at >= before);
        Ok((count - s.account_tokens.len()) as u64)
    }

    async fn last_issued(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        key: CooldownKey<'_>,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let s = self.state();
        let mine = |t: &&AccountToken| {
            t.user_id == user
                && t.purpose == purpose
                && match key {
                    CooldownKey::Any => true,
                    CooldownKey::Address(e) => t.email.as_deref().map(str::to_lowercase).as_deref() == Some(e),
                    CooldownKey::RequestedFrom(ip) => t.requested_from.as_deref() == Some(ip),
                }
        };
        Ok(s.account_tokens.values().filter(mine).map(|t| t.created_at).max())
    }
}

#[async_trait]
impl SecondFactorRepo for MemoryStore {
    async fn totp(&self, user: UserId) -> StoreResult<Option<TotpRecord>> {
        Ok(self.state().totp.get(&user).cloned())
    }

    async fn set_pending_totp(&self, user: UserId, sealed_secret: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let mut s = self.state();
        if s.totp.get(&user).is_some_and(|t| t.enabled_at.is_some()) {
            return Ok(false);
        }
        let record =
            TotpRecord { sealed_secret: sealed_secret.into(), created_at: now, enabled_at: None, last_step: 0 };
        s.totp.insert(user, record);
        Ok(true)
    }

    async fn enable_totp(
        &self,
        user: UserId,
        enabling: &TotpEnabling<'_>,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        let mut s = self.state();
        match s.totp.get_mut(&user) {
            Some(t) if t.enabled_at.is_none() && t.sealed_secret == enabling.sealed_secret => {
                t.enabled_at = Some(now);
                t.last_step = enabling.step;
            }
            _ => return Ok(false),
        }
        s.recovery_codes.insert(user, enabling.recovery_hashes.iter().map(|h| (h.clone(), false)).collect());
        apply_credentials(&mut s, user, change, now)?;
        s.audit.extend(audit.iter().cloned());
        Ok(true)
    }

    async fn disable_totp(
        &self,
        user: UserId,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        let mut s = self.state();
        if s.totp.get(&user).is_none_or(|t| t.enabled_at.is_none()) {
            return Ok(false);
        }
        s.totp.remove(&user);
        s.recovery_codes.remove(&user);
        apply_credentials(&mut s, user, change, now)?;
        s.audit.extend(audit.iter().cloned());
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        let mut s = self.state();
        match s.totp.get_mut(&user) {
            Some(t) if t.enabled_at.is_some() && t.last_step < step => {
                t.last_step = step;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn has_recovery_code(&self, user: UserId, hash: &str) -> StoreResult<bool> {
        let s = self.state();
        Ok(s.recovery_codes.get(&user).is_some_and(|codes| codes.iter().any(|(h, used)| h == hash && !used)))
    }

    async fn use_recovery_code(&self, user: UserId, hash: &str, _now: OffsetDateTime) -> StoreResult<bool> {
        let mut s = self.state();
        let codes = s.recovery_codes.get_mut(&user).into_iter().flatten();
        match codes.into_iter().find(|(h, used)| h == hash && !used) {
            Some(code) => {
                code.1 = true;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[String],
        _now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<()> {
        let mut s = self.state();
        s.recovery_codes.insert(user, hashes.iter().map(|h| (h.clone(), false)).collect());
        s.audit.extend(audit.iter().cloned());
        Ok(())
    }

    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u32> {
        let s = self.state();
        let left = s.recovery_codes.get(&user).map_or(0, |c| c.iter().filter(|(_, used)| !used).count());
        Ok(u32::try_from(left).unwrap_or(u32::MAX))
    }
}

#[async_trait]
impl IdentityRepo for MemoryStore {
    async fn link(&self, identity: &Identity, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        let taken = s.identities.iter().any(|i| i.provider == identity.provider && i.subject == identity.subject);
        if taken {
            return Err(crate::ports::StoreError::Conflict("identity"));
        }
        s.identities.push(identity.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn find_identity(&self, provider: Provider, subject: &str) -> StoreResult<Option<Identity>> {
        let s = self.state();
        Ok(s.identities.iter().find(|i| i.provider == provider && i.subject == subject).cloned())
    }

    async fn identities_of(&self, user: UserId) -> StoreResult<Vec<Identity>> {
        let mut found: Vec<Identity> = self.state().identities.iter().filter(|i| i.user_id == user).cloned().collect();
        found.sort_by_key(|i| i.id.0);
        Ok(found)
    }

    async fn create_with_identity(&self, user: &NewUser, identity: &Identity, audit: &[AuditEntry]) -> StoreResult<()> {
        if self.state().identities.iter().any(|i| i.provider == identity.provider && i.subject == identity.subject) {
            return Err(crate::ports::StoreError::Conflict("identity"));
        }
        UserRepo::create(self, user, None, audit).await?;
        self.state().identities.push(identity.clone());
        Ok(())
    }

    async fn unlink(&self, id: IdentityId, user: UserId, audit: &AuditEntry) -> StoreResult<Unlinked> {
        let mut s = self.state();
        if !s.identities.iter().any(|i| i.id == id && i.user_id == user) {
            return Ok(Unlinked::NotFound);
        }
        if s.other_ways_in(user, Some(id), None) == 0 {
            return Ok(Unlinked::LastSignInMethod);
        }
        s.identities.retain(|i| i.id != id);
        s.audit.push(audit.clone());
        Ok(Unlinked::Done)
    }

    async fn identity_used(&self, id: IdentityId, now: OffsetDateTime) -> StoreResult<()> {
        if let Some(i) = self.state().identities.iter_mut().find(|i| i.id == id) {
            i.last_used_at = Some(now);
        }
        Ok(())
    }
}

#[async_trait]
impl OAuthFlowRepo for MemoryStore {
    async fn save_flow(&self, flow: &OAuthFlow) -> StoreResult<()> {
        self.state().oauth_flows.insert(flow.state_hash.clone(), flow.clone());
        Ok(())
    }

    async fn take_flow(&self, state_hash: &str, binding_hash: &str) -> StoreResult<Option<OAuthFlow>> {
        let mut s = self.state();
        if s.oauth_flows.get(state_hash).is_some_and(|f| f.binding_hash == binding_hash) {
            return Ok(s.oauth_flows.remove(state_hash));
        }
        Ok(None)
    }

    async fn purge_flows(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut s = self.state();
        let count = s.oauth_flows.len();
        s.oauth_flows.retain(|_, f| f.expires_at >= before);
        Ok((count - s.oauth_flows.len()) as u64)
    }
}

#[async_trait]
impl PasskeyRepo for MemoryStore {
    async fn add_passkey(&self, passkey: &Passkey, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        if s.passkeys.iter().any(|p| p.credential_id == passkey.credential_id) {
            return Err(crate::ports::StoreError::Conflict("credential"));
        }
        s.passkeys.push(passkey.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn passkeys_of(&self, user: UserId) -> StoreResult<Vec<Passkey>> {
        let mut found: Vec<Passkey> = self.state().passkeys.iter().filter(|p| p.user_id == user).cloned().collect();
        found.sort_by_key(|p| p.id.0);
        Ok(found)
    }

    async fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<Passkey>> {
        Ok(self.state().passkeys.iter().find(|p| p.credential_id == credential_id).cloned())
    }

    async fn rename_passkey(&self, id: PasskeyId, user: UserId, name: &str) -> StoreResult<bool> {
        let mut s = self.state();
        let found = s.passkeys.iter_mut().find(|p| p.id == id && p.user_id == user);
        Ok(found.map(|p| p.name = name.to_string()).is_some())
    }

    async fn passkey_used(&self, id: PasskeyId, data: Option<&str>, now: OffsetDateTime) -> StoreResult<()> {
        if let Some(p) = self.state().passkeys.iter_mut().find(|p| p.id == id) {
            p.last_used_at = Some(now);
            if let Some(data) = data {
                p.data = data.to_string();
            }
        }
        Ok(())
    }

    async fn remove_passkey(&self, id: PasskeyId, user: UserId, audit: &AuditEntry) -> StoreResult<Unlinked> {
        let mut s = self.state();
        if !s.passkeys.iter().any(|p| p.id == id && p.user_id == user) {
            return Ok(Unlinked::NotFound);
        }
        if s.other_ways_in(user, None, Some(id)) == 0 {
            return Ok(Unlinked::LastSignInMethod);
        }
        s.passkeys.retain(|p| p.id != id);
        s.audit.push(audit.clone());
        Ok(Unlinked::Done)
    }

    async fn save_ceremony(&self, ceremony: &Ceremony) -> StoreResult<()> {
        self.state().ceremonies.insert(ceremony.id_hash.clone(), ceremony.clone());
        Ok(())
    }

    async fn take_ceremony(&self, id_hash: &str) -> StoreResult<Option<Ceremony>> {
        Ok(self.state().ceremonies.remove(id_hash))
    }

    async fn purge_ceremonies(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut s = self.state();
        let count = s.ceremonies.len();
        s.ceremonies.retain(|_, c| c.expires_at >= before);
        Ok((count - s.ceremonies.len()) as u64)
    }
}

#[async_trait]
impl CommunityRepo for MemoryStore {
    async fn create_community(
        &self,
        community: &Community,
        everyone: &CommunityRole,
        owner: &Member,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut s = self.state();
        s.communities.push(community.clone());
        s.roles.push(everyone.clone());
        s.members.push(owner.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn community(&self, id: CommunityId) -> StoreResult<Option<Community>> {
        Ok(self.state().communities.iter().find(|c| c.id == id).cloned())
    }

    async fn update_community(&self, community: &Community, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        if let Some(c) = s.communities.iter_mut().find(|c| c.id == community.id) {
            c.name = community.name.clone();
            c.description = community.description.clone();
        }
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn delete_community(&self, id: CommunityId, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        s.communities.retain(|c| c.id != id);
        s.roles.retain(|r| r.community_id != id);
        s.members.retain(|m| m.community_id != id);
        s.invites.retain(|i| i.community_id != id);
        s.bans.retain(|b| b.community_id != id);
        s.channels.retain(|c| c.community_id != id);
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn communities_of(&self, user: UserId) -> StoreResult<Vec<Community>> {
        let s = self.state();
        let mut mine: Vec<&Member> = s.members.iter().filter(|m| m.user_id == user).collect();
        mine.sort_by_key(|m| (m.joined_at, m.community_id.0));
        Ok(mine.iter().filter_map(|m| s.communities.iter().find(|c| c.id == m.community_id).cloned()).collect())
    }

    async fn member_count(&self, id: CommunityId) -> StoreResult<u64> {
        Ok(self.state().members.iter().filter(|m| m.community_id == id).count() as u64)
    }

    async fn roles(&self, id: CommunityId) -> StoreResult<Vec<CommunityRole>> {
        let mut roles: Vec<CommunityRole> =
            self.state().roles.iter().filter(|r| r.community_id == id).cloned().collect();
        roles.sort_by_key(|r| (!r.is_everyone(), r.position, r.id.0));
        Ok(roles)
    }

    async fn save_role(&self, role: &CommunityRole, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        s.roles.retain(|r| r.id != role.id);
        s.roles.push(role.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn delete_role(&self, community: CommunityId, role: RoleId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.roles.len();
        s.roles.retain(|r| !(r.id == role && r.community_id == community && !r.is_everyone()));
        if s.roles.len() == before {
            return Ok(false);
        }
        for c in s.channels.iter_mut() {
            c.overwrites.retain(|o| o.target != OverwriteTarget::Role(role));
        }
        for m in s.members.iter_mut().filter(|m| m.community_id == community) {
            m.roles.retain(|r| *r != role);
        }
        s.audit.push(audit.clone());
        Ok(true)
    }

    async fn member(&self, community: CommunityId, user: UserId) -> StoreResult<Option<Member>> {
        Ok(self.state().members.iter().find(|m| m.community_id == community && m.user_id == user).cloned())
    }

    async fn members(&self, community: CommunityId, after: Option<UserId>, limit: u32) -> StoreResult<Vec<Member>> {
        let s = self.state();
        let mut found: Vec<Member> = s
            .members
            .iter()
            .filter(|m| m.community_id == community && after.is_none_or(|a| m.user_id.0 > a.0))
            .cloned()
            .collect();
        found.sort_by_key(|m| m.user_id.0);
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn update_member(&self, member: &Member, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(m) =
            s.members.iter_mut().find(|m| m.community_id == member.community_id && m.user_id == member.user_id)
        else {
            return Ok(false);
        };
        *m = member.clone();
        s.audit.push(audit.clone());
        Ok(true)
    }

    async fn remove_member(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.members.len();
        s.members.retain(|m| !(m.community_id == community && m.user_id == user));
        let removed = s.members.len() < before;
        if removed {
            s.audit.push(audit.clone());
        }
        Ok(removed)
    }

    async fn save_invite(&self, invite: &Invite, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        s.invites.push(invite.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn invite(&self, code: &str) -> StoreResult<Option<Invite>> {
        Ok(self.state().invites.iter().find(|i| i.code == code).cloned())
    }

    async fn invites(&self, community: CommunityId) -> StoreResult<Vec<Invite>> {
        Ok(self.state().invites.iter().filter(|i| i.community_id == community).cloned().collect())
    }

    async fn delete_invite(&self, code: &str, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.invites.len();
        s.invites.retain(|i| i.code != code);
        let removed = s.invites.len() < before;
        if removed {
            s.audit.push(audit.clone());
        }
        Ok(removed)
    }

    async fn join(&self, code: &str, member: &Member, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<Joined> {
        let mut s = self.state();
        let Some(invite) = s.invites.iter().find(|i| i.code == code).cloned() else { return Ok(Joined::InviteInvalid) };
        let community = invite.community_id;
        if s.bans.iter().any(|b| b.community_id == community && b.user_id == member.user_id) {
            return Ok(Joined::Banned);
        }
        if let Some(existing) = s.members.iter().find(|m| m.community_id == community && m.user_id == member.user_id) {
            return Ok(Joined::AlreadyMember(existing.clone()));
        }
        if !invite.usable(now) {
            return Ok(Joined::InviteInvalid);
        }
        if let Some(i) = s.invites.iter_mut().find(|i| i.code == code) {
            i.uses += 1;
        }
        let joined = Member { community_id: community, ..member.clone() };
        s.members.push(joined.clone());
        s.audit.push(audit.clone());
        Ok(Joined::Joined(joined))
    }

    async fn ban(&self, ban: &Ban, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        s.bans.retain(|b| !(b.community_id == ban.community_id && b.user_id == ban.user_id));
        s.bans.push(ban.clone());
        let before = s.members.len();
        s.members.retain(|m| !(m.community_id == ban.community_id && m.user_id == ban.user_id));
        s.audit.push(audit.clone());
        Ok(s.members.len() < before)
    }

    async fn unban(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.bans.len();
        s.bans.retain(|b| !(b.community_id == community && b.user_id == user));
        let removed = s.bans.len() < before;
        if removed {
            s.audit.push(audit.clone());
        }
        Ok(removed)
    }

    async fn bans(&self, community: CommunityId) -> StoreResult<Vec<Ban>> {
        let mut bans: Vec<Ban> = self.state().bans.iter().filter(|b| b.community_id == community).cloned().collect();
        bans.sort_by_key(|b| b.user_id.0);
        Ok(bans)
    }
}

#[async_trait]
impl ChannelRepo for MemoryStore {
    async fn create_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        if let Some(thread) = &channel.thread {
            let starter = thread.starter_id;
            if starter.is_some()
                && s.channels.iter().any(|c| c.thread.as_ref().is_some_and(|t| t.starter_id == starter))
            {
                return Err(StoreError::Conflict("message_id"));
            }
            let member =
                ThreadMember { thread_id: channel.id, user_id: thread.owner_id, joined_at: channel.created_at };
            s.thread_members.push(member);
        }
        s.channels.push(channel.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>> {
        Ok(self.state().channels.iter().find(|c| c.id == id).cloned())
    }

    async fn channels(&self, community: CommunityId) -> StoreResult<Vec<Channel>> {
        let s = self.state();
        let mut found: Vec<Channel> = s
            .channels
            .iter()
            .filter(|c| c.community_id == community && c.kind != ChannelKind::Thread)
            .cloned()
            .collect();
        found.sort_by_key(|c| (c.position, c.id.0));
        Ok(found)
    }

    async fn update_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(c) = s.channels.iter_mut().find(|c| c.id == channel.id) else { return Ok(false) };
        let overwrites = std::mem::take(&mut c.overwrites);
        *c = Channel { overwrites, ..channel.clone() };
        s.audit.push(audit.clone());
        Ok(true)
    }

    async fn delete_channel(&self, id: ChannelId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.channels.len();
        s.channels.retain(|c| c.id != id);
        if s.channels.len() == before {
            return Ok(false);
        }
        s.channels.retain(|c| !(c.kind == ChannelKind::Thread && c.parent_id == Some(id)));
        let channels: HashSet<ChannelId> = s.channels.iter().map(|c| c.id).collect();
        s.thread_members.retain(|m| channels.contains(&m.thread_id));
        for c in s.channels.iter_mut().filter(|c| c.parent_id == Some(id)) {
            c.parent_id = None;
        }
        s.audit.push(audit.clone());
        Ok(true)
    }

    async fn set_overwrite(&self, channel: ChannelId, overwrite: &Overwrite, audit: &AuditEntry) -> StoreResult<()> {
        let mut s = self.state();
        if let Some(c) = s.channels.iter_mut().find(|c| c.id == channel) {
            c.overwrites.retain(|o| o.target != overwrite.target);
            c.overwrites.push(*overwrite);
        }
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn remove_overwrite(
        &self,
        channel: ChannelId,
        target: OverwriteTarget,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(c) = s.channels.iter_mut().find(|c| c.id == channel) else { return Ok(false) };
        let before = c.overwrites.len();
        c.overwrites.retain(|o| o.target != target);
        let removed = c.overwrites.len() < before;
        if removed {
            s.audit.push(audit.clone());
        }
        Ok(removed)
    }

    async fn threads(
        &self,
        parent: ChannelId,
        archived: bool,
        before: Option<ChannelId>,
        limit: u32,
    ) -> StoreResult<Vec<Channel>> {
        let s = self.state();
        let mut found: Vec<Channel> = s
            .channels
            .iter()
            .filter(|c| c.kind == ChannelKind::Thread && c.parent_id == Some(parent))
            .filter(|c| c.is_archived() == archived && before.is_none_or(|b| c.id.0 < b.0))
            .cloned()
            .collect();
        found.sort_by_key(|c| std::cmp::Reverse(c.id.0));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn active_threads(&self, community: CommunityId) -> StoreResult<Vec<Channel>> {
        let s = self.state();
        let mut found: Vec<Channel> = s
            .channels
            .iter()
            .filter(|c| c.community_id == community && c.kind == ChannelKind::Thread && !c.is_archived())
            .cloned()
            .collect();
        found.sort_by_key(|c| c.id.0);
        Ok(found)
    }

    async fn archive_idle_threads(&self, now: OffsetDateTime) -> StoreResult<Vec<Channel>> {
        let mut s = self.state();
        let last_posts: std::collections::HashMap<ChannelId, OffsetDateTime> =
            s.messages.iter().fold(std::collections::HashMap::new(), |mut last, m| {
                let at = last.entry(m.channel_id).or_insert(m.created_at);
                *at = (*at).max(m.created_at);
                last
            });
        let mut archived = Vec::new();
        for c in s.channels.iter_mut().filter(|c| c.kind == ChannelKind::Thread && !c.is_archived()) {
            let active = last_posts.get(&c.id).copied().unwrap_or(c.created_at).max(c.created_at);
            if let Some(t) = c.thread.as_mut() {
                let active = t.unarchived_at.map_or(active, |at| active.max(at));
                if active < now - time::Duration::minutes(i64::from(t.auto_archive_minutes)) {
                    t.archived_at = Some(now);
                    archived.push(c.clone());
                }
            }
        }
        archived.sort_by_key(|c| c.id.0);
        Ok(archived)
    }

    async fn join_thread(&self, thread: ChannelId, user: UserId, at: OffsetDateTime) -> StoreResult<bool> {
        let mut s = self.state();
        if s.thread_members.iter().any(|m| m.thread_id == thread && m.user_id == user) {
            return Ok(false);
        }
        s.thread_members.push(ThreadMember { thread_id: thread, user_id: user, joined_at: at });
        Ok(true)
    }

    async fn leave_thread(&self, thread: ChannelId, user: UserId) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.thread_members.len();
        s.thread_members.retain(|m| !(m.thread_id == thread && m.user_id == user));
        Ok(s.thread_members.len() < before)
    }

    async fn thread_members(&self, thread: ChannelId, limit: u32) -> StoreResult<Vec<ThreadMember>> {
        let s = self.state();
        let community = s.channels.iter().find(|c| c.id == thread).map(|c| c.community_id);
        let in_community =
            |user: UserId| s.members.iter().any(|m| Some(m.community_id) == community && m.user_id == user);
        let mut found: Vec<ThreadMember> =
            s.thread_members.iter().filter(|m| m.thread_id == thread && in_community(m.user_id)).cloned().collect();
        found.sort_by_key(|m| (m.joined_at, m.user_id.0));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn create_direct(&self, channel: &DirectChannel) -> StoreResult<(DirectChannel, bool)> {
        let mut s = self.state();
        let mut pair = channel.recipients.clone();
        pair.sort_by_key(|u| u.0);
        if !channel.group {
            let same = |d: &&DirectChannel| {
                let mut theirs = d.recipients.clone();
                theirs.sort_by_key(|u| u.0);
                !d.group && theirs == pair
            };
            if let Some(existing) = s.directs.iter().find(same) {
                return Ok((existing.clone(), false));
            }
        }
        s.directs.push(channel.clone());
        Ok((channel.clone(), true))
    }

    async fn direct_channel(&self, id: ChannelId) -> StoreResult<Option<DirectChannel>> {
        Ok(self.state().directs.iter().find(|d| d.id == id).cloned())
    }

    async fn direct_channels_of(&self, user: UserId) -> StoreResult<Vec<DirectChannel>> {
        let s = self.state();
        let mut found: Vec<DirectChannel> =
            s.directs.iter().filter(|d| d.recipients.contains(&user)).cloned().collect();
        found.sort_by_key(|d| std::cmp::Reverse(d.id.0));
        Ok(found)
    }

    async fn add_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(d) = s.directs.iter_mut().find(|d| d.id == channel) else { return Ok(false) };
        if d.recipients.contains(&user) {
            return Ok(false);
        }
        d.recipients.push(user);
        d.recipients.sort_by_key(|u| u.0);
        Ok(true)
    }

    async fn update_group(
        &self,
        channel: ChannelId,
        by: UserId,
        name: Option<&str>,
        owner: Option<UserId>,
    ) -> StoreResult<Option<DirectChannel>> {
        let mut s = self.state();
        let Some(d) = s.directs.iter_mut().find(|d| d.id == channel && d.group) else { return Ok(None) };
        if let Some(owner) = owner {
            if d.owner_id != Some(by) || !d.recipients.contains(&owner) {
                return Ok(None);
            }
            d.owner_id = Some(owner);
        }
        if let Some(name) = name {
            d.name = name.to_string();
        }
        Ok(Some(d.clone()))
    }

    async fn remove_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(d) = s.directs.iter_mut().find(|d| d.id == channel) else { return Ok(false) };
        if d.owner_id == Some(user) && d.recipients.len() > 1 {
            return Err(StoreError::Conflict("owner"));
        }
        let before = d.recipients.len();
        d.recipients.retain(|u| *u != user);
        Ok(d.recipients.len() < before)
    }

    async fn joined_threads(&self, community: CommunityId, user: UserId) -> StoreResult<Vec<ChannelId>> {
        let s = self.state();
        let threads: HashSet<ChannelId> = s
            .channels
            .iter()
            .filter(|c| c.community_id == community && c.kind == ChannelKind::Thread)
            .map(|c| c.id)
            .collect();
        Ok(s.thread_members
            .iter()
            .filter(|m| m.user_id == user && threads.contains(&m.thread_id))
            .map(|m| m.thread_id)
            .collect())
    }
}

#[async_trait]
impl PresenceRepo for MemoryStore {
    async fn setting(&self, user: UserId) -> StoreResult<Option<PresenceSetting>> {
        Ok(self.state().presence_settings.get(&user).cloned())
    }

    async fn set_setting(&self, setting: &PresenceSetting) -> StoreResult<()> {
        self.state().presence_settings.insert(setting.user_id, setting.clone());
        Ok(())
    }

    async fn connect(&self, user: UserId, connection: &str, node: &str, until: OffsetDateTime) -> StoreResult<()> {
        self.state().connections.insert(connection.to_string(), (user, node.to_string(), until));
        Ok(())
    }

    async fn disconnect(&self, connection: &str) -> StoreResult<()> {
        self.state().connections.remove(connection);
        Ok(())
    }

    async fn renew(&self, node: &str, until: OffsetDateTime) -> StoreResult<()> {
        for (_, held_by, lease) in self.state().connections.values_mut() {
            if held_by == node {
                *lease = until;
            }
        }
        Ok(())
    }

    async fn expire(&self, now: OffsetDateTime) -> StoreResult<Vec<UserId>> {
        let mut s = self.state();
        let lapsed: Vec<UserId> = s.connections.values().filter(|(_, _, lease)| *lease <= now).map(|c| c.0).collect();
        s.connections.retain(|_, (_, _, lease)| *lease > now);
        let mut gone: Vec<UserId> =
            lapsed.into_iter().filter(|u| !s.connections.values().any(|(user, _, _)| user == u)).collect();
        gone.sort_by_key(|u| u.0);
        gone.dedup();
        Ok(gone)
    }

    async fn is_connected(&self, user: UserId, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(self.state().connections.values().any(|(u, _, lease)| *u == user && *lease > now))
    }

    async fn connected_in(
        &self,
        community: CommunityId,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<PresenceSetting>> {
        let s = self.state();
        let mut users: Vec<UserId> = s
            .members
            .iter()
            .filter(|m| m.community_id == community)
            .map(|m| m.user_id)
            .filter(|u| s.connections.values().any(|(c, _, lease)| c == u && *lease > now))
            .collect();
        users.sort_by_key(|u| u.0);
        users.truncate(limit as usize);
        let default = |user_id| PresenceSetting { user_id, status: Status::Online, listening_to: None, since: now };
        Ok(users.into_iter().map(|u| s.presence_settings.get(&u).cloned().unwrap_or_else(|| default(u))).collect())
    }
}

#[async_trait]
impl MessageRepo for MemoryStore {
    async fn post(&self, message: &Message) -> StoreResult<Posted> {
        let mut s = self.state();
        let same = |m: &&Message| {
            message.nonce.is_some()
                && m.nonce == message.nonce
                && m.channel_id == message.channel_id
                && m.author_id == message.author_id
        };
        if let Some(existing) = s.messages.iter().find(same) {
            return Ok(Posted::Existing(existing.clone()));
        }
        s.messages.push(message.clone());
        Ok(Posted::New(message.clone()))
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        Ok(self.state().messages.iter().find(|m| m.id == id).cloned())
    }

    async fn by_nonce(&self, channel: ChannelId, author: UserId, nonce: &str) -> StoreResult<Option<Message>> {
        let s = self.state();
        let found = s
            .messages
            .iter()
            .find(|m| m.channel_id == channel && m.author_id == author && m.nonce.as_deref() == Some(nonce));
        Ok(found.cloned())
    }

    async fn history(&self, channel: ChannelId, cursor: HistoryCursor, limit: u32) -> StoreResult<Vec<Message>> {
        let s = self.state();
        let mut all: Vec<Message> = s.messages.iter().filter(|m| m.channel_id == channel).cloned().collect();
        all.sort_by_key(|m| std::cmp::Reverse(m.id.0));
        let limit = limit as usize;
        let page: Vec<Message> = match cursor {
            HistoryCursor::Latest => all.into_iter().take(limit).collect(),
            HistoryCursor::Before(id) => all.into_iter().filter(|m| m.id.0 < id.0).take(limit).collect(),
            HistoryCursor::After(id) => {
                let mut newer: Vec<Message> = all.into_iter().filter(|m| m.id.0 > id.0).collect();
                newer.reverse();
                newer.truncate(limit);
                newer.reverse();
                newer
            }
            HistoryCursor::Around(id) => {
                let half = limit / 2;
                let mut newer: Vec<Message> = all.iter().filter(|m| m.id.0 > id.0).cloned().collect();
                newer.reverse();
                newer.truncate(half);
                newer.reverse();
                let rest = limit - newer.len();
                newer.extend(all.into_iter().filter(|m| m.id.0 <= id.0).take(rest));
                newer
            }
        };
        Ok(page)
    }

    async fn edit_message(&self, message: &Message, previous: &MessageEdit) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(m) = s.messages.iter_mut().find(|m| m.id == message.id && m.deleted_at.is_none()) else {
            return Ok(false);
        };
        *m = message.clone();
        s.message_edits.push(previous.clone());
        Ok(true)
    }

    async fn edits(&self, id: MessageId) -> StoreResult<Vec<MessageEdit>> {
        Ok(self.state().message_edits.iter().filter(|e| e.message_id == id).cloned().collect())
    }

    async fn delete_message(&self, id: MessageId, now: OffsetDateTime) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(m) = s.messages.iter_mut().find(|m| m.id == id && m.deleted_at.is_none()) else { return Ok(false) };
        m.content.clear();
        m.mentions = crate::chat::message::Mentions::default();
        m.deleted_at = Some(now);
        m.attachments.clear();
        s.message_edits.retain(|e| e.message_id != id);
        Ok(true)
    }

    async fn last_post(&self, channel: ChannelId, author: UserId) -> StoreResult<Option<OffsetDateTime>> {
        let s = self.state();
        Ok(s.messages.iter().filter(|m| m.channel_id == channel && m.author_id == author).map(|m| m.created_at).max())
    }

    async fn add_reaction(
        &self,
        message: MessageId,
        user: UserId,
        emoji: &str,
        max_emoji: usize,
        now: OffsetDateTime,
    ) -> StoreResult<Reacted> {
        let mut s = self.state();
        if s.reactions.iter().any(|(m, u, e, _)| *m == message && *u == user && e == emoji) {
            return Ok(Reacted::Already);
        }
        let mut kinds: Vec<&String> =
            s.reactions.iter().filter(|(m, ..)| *m == message).map(|(_, _, e, _)| e).collect();
        kinds.sort();
        kinds.dedup();
        if !kinds.iter().any(|e| e.as_str() == emoji) && kinds.len() >= max_emoji {
            return Ok(Reacted::TooMany);
        }
        s.reactions.push((message, user, emoji.to_string(), now));
        Ok(Reacted::Added)
    }

    async fn remove_reaction(&self, message: MessageId, user: UserId, emoji: &str) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.reactions.len();
        s.reactions.retain(|(m, u, e, _)| !(*m == message && *u == user && e == emoji));
        Ok(s.reactions.len() < before)
    }

    async fn clear_reactions(&self, message: MessageId, emoji: Option<&str>) -> StoreResult<u64> {
        let mut s = self.state();
        let before = s.reactions.len();
        s.reactions.retain(|(m, _, e, _)| !(*m == message && emoji.is_none_or(|x| x == e)));
        Ok((before - s.reactions.len()) as u64)
    }

    async fn reactors(
        &self,
        message: MessageId,
        emoji: &str,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        let s = self.state();
        let mut users: Vec<UserId> = s
            .reactions
            .iter()
            .filter(|(m, u, e, _)| *m == message && e == emoji && after.is_none_or(|a| u.0 > a.0))
            .map(|(_, u, ..)| *u)
            .collect();
        users.sort_by_key(|u| u.0);
        users.truncate(limit as usize);
        Ok(users)
    }

    async fn reaction_counts(&self, message: MessageId, viewer: UserId) -> StoreResult<Vec<ReactionCount>> {
        let s = self.state();
        let mut counts: Vec<(OffsetDateTime, ReactionCount)> = Vec::new();
        for (_, u, e, at) in s.reactions.iter().filter(|(m, ..)| *m == message) {
            match counts.iter_mut().find(|(_, c)| &c.emoji == e) {
                Some((first, c)) => {
                    c.count += 1;
                    c.me |= *u == viewer;
                    *first = (*first).min(*at);
                }
                None => counts.push((*at, ReactionCount { emoji: e.clone(), count: 1, me: *u == viewer })),
            }
        }
        counts.sort_by_key(|(first, c)| (*first, c.emoji.clone()));
        Ok(counts.into_iter().map(|(_, c)| c).collect())
    }

    async fn pin(
        &self,
        channel: ChannelId,
        message: MessageId,
        by: UserId,
        max: usize,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let mut s = self.state();
        if s.pins.iter().any(|(c, m, ..)| *c == channel && *m == message) {
            return Ok(true);
        }
        if s.pins.iter().filter(|(c, ..)| *c == channel).count() >= max {
            return Ok(false);
        }
        s.pins.push((channel, message, by, now));
        Ok(true)
    }

    async fn delete_recent(
        &self,
        community: CommunityId,
        author: UserId,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Purged> {
        let mut s = self.state();
        let channels: Vec<ChannelId> =
            s.channels.iter().filter(|c| c.community_id == community).map(|c| c.id).collect();
        let mut purged = Purged::default();
        for m in s.messages.iter_mut() {
            if channels.contains(&m.channel_id)
                && m.author_id == author
                && m.created_at >= since
                && m.deleted_at.is_none()
            {
                m.content.clear();
                m.mentions = crate::chat::message::Mentions::default();
                m.deleted_at = Some(now);
                purged.attachment_keys.extend(m.attachments.drain(..).map(|a| a.key));
                purged.messages += 1;
            }
        }
        Ok(purged)
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>> {
        let s = self.state();
        Ok(s.messages.iter().flat_map(|m| &m.attachments).find(|a| a.id == id).cloned())
    }

    async fn ack(&self, user: UserId, channel: ChannelId, message: MessageId) -> StoreResult<()> {
        let mut s = self.state();
        let mark = s.read_marks.entry((user, channel)).or_insert(message);
        if mark.0 < message.0 {
            *mark = message;
        }
        Ok(())
    }

    async fn read_state(&self, user: UserId, channel: ChannelId, roles: &[RoleId]) -> StoreResult<ReadState> {
        let s = self.state();
        let last_read = s.read_marks.get(&(user, channel)).copied();
        let unread: Vec<&Message> = s
            .messages
            .iter()
            .filter(|m| m.channel_id == channel && m.author_id != user && m.deleted_at.is_none())
            .filter(|m| last_read.is_none_or(|r| m.id.0 > r.0))
            .collect();
        let mentions = unread
            .iter()
            .filter(|m| {
                m.mentions.everyone
                    || m.mentions.users.contains(&user)
                    || m.mentions.roles.iter().any(|r| roles.contains(r))
            })
            .count();
        Ok(ReadState { channel_id: channel, last_read, unread: unread.len() as u64, mentions: mentions as u64 })
    }

    async fn unpin(&self, channel: ChannelId, message: MessageId) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.pins.len();
        s.pins.retain(|(c, m, ..)| !(*c == channel && *m == message));
        Ok(s.pins.len() < before)
    }

    async fn pins(&self, channel: ChannelId) -> StoreResult<Vec<Pin>> {
        let s = self.state();
        let mut pins: Vec<Pin> = s
            .pins
            .iter()
            .filter(|(c, ..)| *c == channel)
            .filter_map(|(_, m, by, at)| {
                let message = s.messages.iter().find(|x| x.id == *m)?.clone();
                Some(Pin { message, pinned_by: *by, pinned_at: *at })
            })
            .collect();
        pins.sort_by_key(|p| std::cmp::Reverse((p.pinned_at, p.message.id.0)));
        Ok(pins)
    }
}

/// A stand-in for WebAuthn: the options carry a challenge; an authenticator's answer is
/// `{"id": credential id, "challenge": …, "counter": n}`, accepted when the challenge is the
/// ceremony's and (signing in) the counter is above the stored one.
#[derive(Debug, Default)]
pub struct FakeWebauthn;

impl FakeWebauthn {
    fn challenge() -> String {
        format!("{:032x}", rand::random::<u128>())
    }
}

impl PasskeyCeremonies for FakeWebauthn {
    fn start_registration(&self, _: [u8; 16], _: &str, existing: &[Passkey]) -> Result<CeremonyStart, CoreError> {
        let challenge = Self::challenge();
        let exclude: Vec<&str> = existing.iter().map(|p| p.credential_id.as_str()).collect();
        let options = serde_json::json!({"publicKey": {"challenge": challenge, "excludeCredentials": exclude}});
        Ok(CeremonyStart { options, state: challenge })
    }

    fn finish_registration(&self, response: &serde_json::Value, state: &str) -> Result<NewCredential, String> {
        if response["challenge"] != state {
            return Err("the challenge is not this ceremony's".into());
        }
        let id = response["id"].as_str().ok_or("no credential id")?;
        Ok(NewCredential { credential_id: id.to_string(), data: "0".into() })
    }

    fn start_authentication(&self, allowed: &[Passkey]) -> Result<CeremonyStart, CoreError> {
        let challenge = Self::challenge();
        let allow: Vec<&str> = allowed.iter().map(|p| p.credential_id.as_str()).collect();
        let state = serde_json::json!({"challenge": challenge, "allow": allow}).to_string();
        Ok(CeremonyStart { options: serde_json::json!({"publicKey": {"challenge": challenge}}), state })
    }

    fn credential_of(&self, response: &serde_json::Value) -> Result<String, String> {
        response["id"].as_str().map(str::to_string).ok_or_else(|| "no credential id".into())
    }

    fn finish_authentication(
        &self,
        response: &serde_json::Value,
        state: &str,
        passkey: &Passkey,
    ) -> Result<Option<String>, String> {
        let state: serde_json::Value = serde_json::from_str(state).map_err(|e| e.to_string())?;
        let allowed = state["allow"]
            .as_array()
            .is_some_and(|a| a.is_empty() || a.contains(&passkey.credential_id.clone().into()));
        if response["challenge"] != state["challenge"] || !allowed {
            return Err("the challenge is not this ceremony's".into());
        }
        let counter = response["counter"].as_u64().ok_or("no counter")?;
        if counter <= passkey.data.parse::<u64>().unwrap_or(0) {
            return Err("the counter went backwards: a cloned authenticator?".into());
        }
        Ok(Some(counter.to_string()))
    }
}

/// A stand-in for the providers: a test says which profile a code stands for
/// ([`FakeProviders::will_answer`]); a code works once, and only with the PKCE verifier and
/// nonce of the flow whose authorization URL was handed out.
#[derive(Debug, Default)]
pub struct FakeProviders {
    /// code → the profile it yields
    codes: Mutex<HashMap<String, ProviderProfile>>,
    /// state → the challenge and nonce its authorization URL carried
    started: Mutex<HashMap<String, (String, String)>>,
    /// code → the state it was issued for
    issued: Mutex<HashMap<String, String>>,
}

impl FakeProviders {
    /// The person "signs in" at the provider for the flow with `state`: returns the code its
    /// redirect would carry.
    pub fn will_answer(&self, state: &str, profile: ProviderProfile) -> String {
        let code = format!("code-{}-{}", profile.subject, self.codes.lock().expect("lock").len());
        self.codes.lock().expect("lock").insert(code.clone(), profile);
        self.issued.lock().expect("lock").insert(code.clone(), state.to_string());
        code
    }
}

#[async_trait]
impl crate::ports::IdentityProviders for FakeProviders {
    fn enabled(&self) -> Vec<Provider> {
        Provider::ALL.to_vec()
    }

    fn authorization_url(&self, provider: Provider, request: &AuthorizationRequest) -> Option<String> {
        let pending = (request.pkce_challenge.clone(), request.nonce.clone());
        self.started.lock().expect("lock").insert(request.state.clone(), pending);
        Some(format!("https://{}.test/authorize?state={}", provider.as_str(), request.state))
    }

    async fn profile(&self, _provider: Provider, grant: &CodeGrant) -> Result<ProviderProfile, ProviderProblem> {
        use base64::Engine;
        use sha2::Digest;
        let refused = || ProviderProblem::Refused("invalid_grant".into());
        let profile = self.codes.lock().expect("lock").remove(&grant.code).ok_or_else(refused)?;
        let state = self.issued.lock().expect("lock").remove(&grant.code).ok_or_else(refused)?;
        let (challenge, nonce) = self.started.lock().expect("lock").get(&state).cloned().ok_or_else(refused)?;
        let computed =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&grant.pkce_verifier));
        if computed != challenge {
            return Err(refused());
        }
        if nonce != grant.nonce {
            return Err(ProviderProblem::Invalid("nonce mismatch".into()));
        }
        Ok(profile)
    }
}

/// A stand-in for TOTP: the code of step `n` is `n` plus the secret's first byte, modulo a
/// million, in six digits; sealing is base64 with a marker.
#[derive(Debug, Default)]
pub struct FakeAuthenticator;

impl FakeAuthenticator {
    pub const STEP_SECS: i64 = 30;

    pub fn code_at(secret: &[u8], step: i64) -> String {
        format!("{:06}", (step + i64::from(secret[0])) % 1_000_000)
    }

    pub fn step_of(t: OffsetDateTime) -> i64 {
        t.unix_timestamp() / Self::STEP_SECS
    }
}

impl Authenticator for FakeAuthenticator {
    fn new_secret(&self) -> Result<Vec<u8>, CoreError> {
        let mut secret = vec![0u8; 20];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        Ok(secret)
    }

    fn secret_base32(&self, secret: &[u8]) -> String {
        secret.iter().map(|b| format!("{b:02X}")).collect()
    }

    fn matching_step(&self, secret: &[u8], code: &str, now: OffsetDateTime) -> Option<i64> {
        let step = Self::step_of(now);
        (step - 1..=step + 1).find(|s| Self::code_at(secret, *s) == code)
    }

    fn provisioning_uri(&self, secret: &[u8], issuer: &str, account: &str) -> String {
        format!("otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}", self.secret_base32(secret))
    }

    fn qr_png(&self, uri: &str) -> Result<Vec<u8>, CoreError> {
        Ok(uri.as_bytes().to_vec())
    }

    fn seal(&self, secret: &[u8]) -> Result<String, CoreError> {
        Ok(format!("sealed:{}", self.secret_base32(secret)))
    }

    fn open(&self, sealed: &str) -> Result<Vec<u8>, CoreError> {
        let hex = sealed.strip_prefix("sealed:").ok_or_else(|| CoreError::Internal("not sealed".into()))?;
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| CoreError::Internal(e.to_string())))
            .collect()
    }
}

/// A complete in-memory [`Accounts`] and the handles a test needs to poke at it.
#[derive(Debug)]
pub struct FakeAccounts {
    pub accounts: Accounts,
    pub store: MemoryStore,
    pub clock: Arc<ManualClock>,
    pub providers: Arc<FakeProviders>,
    /// The sign-outs announced.
    pub events: RecordedEvents,
}

impl FakeAccounts {
    pub fn new() -> Self {
        let store = MemoryStore::default();
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let providers = Arc::new(FakeProviders::default());
        let events = RecordedEvents::default();
        let accounts = Accounts::new(AccountDeps {
            users: Arc::new(store.clone()),
            api_keys: Arc::new(store.clone()),
            sessions: Arc::new(store.clone()),
            audit: Arc::new(store.clone()),
            hasher: Arc::new(FakeHasher),
            tokens: Arc::new(FakeSigner(clock.clone())),
            clock: clock.clone(),
            ids: Arc::new(SequentialIds::default()),
            guesses: crate::rate_limit::attempts::GuessLimits::local(clock.clone()),
            mail: Arc::new(store.clone()),
            account_tokens: Arc::new(store.clone()),
            second_factors: Arc::new(store.clone()),
            authenticator: Arc::new(FakeAuthenticator),
            identities: Arc::new(store.clone()),
            oauth_flows: Arc::new(store.clone()),
            providers: providers.clone(),
            passkeys: Arc::new(store.clone()),
            webauthn: Arc::new(FakeWebauthn),
            links: Links::new("https://veza.test"),
            policy: AccountPolicy { admins_need_second_factor: false },
            events: Arc::new(events.clone()),
        });
        Self { accounts, store, clock, providers, events }
    }
}

impl Default for FakeAccounts {
    fn default() -> Self {
        Self::new()
    }
}

/// Keeps every announced chat event, in order.
#[derive(Debug, Default, Clone)]
pub struct RecordedEvents(Arc<Mutex<Vec<crate::chat::event::ChatEvent>>>);

impl RecordedEvents {
    /// What was announced since the last call.
    pub fn take(&self) -> Vec<crate::chat::event::ChatEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[async_trait]
impl crate::ports::ChatEvents for RecordedEvents {
    async fn publish(&self, event: crate::chat::event::ChatEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[async_trait]
impl FollowRepo for MemoryStore {
    async fn follow(&self, id: i64, follower: UserId, followee: UserId, at: OffsetDateTime) -> StoreResult<Linked> {
        let mut s = self.state();
        if !s.users.contains_key(&followee) || !s.users.contains_key(&follower) {
            return Ok(Linked::Gone);
        }
        if s.follows.iter().any(|f| f.1 == follower && f.2 == followee) {
            return Ok(Linked::Already);
        }
        s.follows.push((id, follower, followee, at));
        Ok(Linked::Made)
    }

    async fn unfollow(&self, follower: UserId, followee: UserId) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.follows.len();
        s.follows.retain(|f| !(f.1 == follower && f.2 == followee));
        Ok(s.follows.len() < before)
    }

    async fn is_following(&self, follower: UserId, followee: UserId) -> StoreResult<bool> {
        Ok(self.state().follows.iter().any(|f| f.1 == follower && f.2 == followee))
    }

    async fn followers(&self, user: UserId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        Ok(follow_edges(&self.state().follows, page, |f| (f.2 == user).then_some(f.1)))
    }

    async fn following(&self, user: UserId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        Ok(follow_edges(&self.state().follows, page, |f| (f.1 == user).then_some(f.2)))
    }

    async fn people(&self, ids: &[UserId]) -> StoreResult<Vec<(User, FollowCounts)>> {
        let s = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| s.users.get(id))
            .map(|(u, _)| {
                let counts = FollowCounts {
                    followers: s.follows.iter().filter(|f| f.2 == u.id).count() as u64,
                    following: s.follows.iter().filter(|f| f.1 == u.id).count() as u64,
                };
                (u.clone(), counts)
            })
            .collect())
    }
}

/// The follows `other` picks a person from, newest first, as a page of edges.
fn follow_edges(
    follows: &[(i64, UserId, UserId, OffsetDateTime)],
    page: PageRequest,
    other: impl Fn(&(i64, UserId, UserId, OffsetDateTime)) -> Option<UserId>,
) -> Vec<Edge<UserId>> {
    let mut edges: Vec<Edge<UserId>> = follows
        .iter()
        .filter(|f| page.before.is_none_or(|b| f.0 < b))
        .filter_map(|f| other(f).map(|item| Edge { id: f.0, item, at: f.3, caption: None }))
        .collect();
    edges.sort_by_key(|e| std::cmp::Reverse(e.id));
    edges.truncate(page.limit as usize + 1);
    edges
}

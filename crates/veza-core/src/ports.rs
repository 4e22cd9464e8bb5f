//! The ports: what the use cases need from the outside world, as traits. Adapters implement them
//! (`veza-sql` the repositories, `veza-crypto` hashing and signing); [`crate::fakes`] implements
//! them in memory for tests.
//!
//! Every state-changing repository call takes the audit entries it causes and commits them in the
//! same transaction: an action is never recorded without happening, nor happens unrecorded.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::api_key::{ApiKey, NewApiKey};
use crate::audit::{AuditEntry, AuditQuery};
use crate::error::{CoreError, FieldError, TokenProblem};
use crate::id::{ApiKeyId, SessionId, UserId};
use crate::session::{NewSession, RevokeReason, Rotation, Session, TokenLookup};
use crate::user::{AccountChange, NewUser, ProfilePatch, Role, User, UserQuery, Username};

/// Failures of a store, as the use cases need to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field is taken; the payload names it (`username`, `email`).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The change would leave no enabled administrator; nothing was changed.
    #[error("the last enabled administrator cannot be demoted or disabled")]
    LastAdmin,
    /// The store cannot be reached or timed out: retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data.
    #[error("store error: {0}")]
    Other(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => {
                CoreError::Conflict(FieldError::new(field, "taken", format!("this {field} is already taken")))
            }
            StoreError::LastAdmin => CoreError::Conflict(FieldError::new("role", "last_admin", e_last_admin())),
            StoreError::Unavailable(m) => CoreError::Unavailable(m),
            StoreError::Other(m) => CoreError::Internal(m),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) fn e_last_admin() -> &'static str {
    "the last enabled administrator can be neither demoted nor disabled; promote another first"
}

#[async_trait]
pub trait UserRepo: Send + Sync + std::fmt::Debug {
    /// Stores a new account, optionally with its first session, and the audit entries, atomically.
    async fn create(&self, user: &NewUser, session: Option<&NewSession>, audit: &[AuditEntry]) -> StoreResult<()>;
    async fn by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Like [`UserRepo::by_id`], but never from a cache: for decisions that must see the latest
    /// write of any node (administrative changes).
    async fn by_id_fresh(&self, id: UserId) -> StoreResult<Option<User>> {
        self.by_id(id).await
    }
    async fn by_username(&self, username: &Username) -> StoreResult<Option<User>>;
    /// Finds an account and its password hash by lowercase username or normalized email.
    async fn credentials(&self, login: &str) -> StoreResult<Option<(User, String)>>;
    /// Writes the fields the (normalized) patch contains and leaves the others as they are in the
    /// store, so concurrent edits of different fields both survive. `None` when the user does
    /// not exist.
    async fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Option<User>>;
    /// Applies an administrator's change — role, disabled state, or both — with its audit
    /// entries, in one transaction. Disabling also revokes every live session and API key of the
    /// account. Refuses with [`StoreError::LastAdmin`], changing nothing, when no enabled
    /// administrator would remain — decided inside the transaction, so that two concurrent
    /// demotions cannot both pass.
    /// `None` when the user does not exist.
    async fn change_account(
        &self,
        id: UserId,
        change: &AccountChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<Option<User>>;
    /// Up to `query.page.limit + 1` accounts, newest first.
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>>;
}

#[async_trait]
pub trait SessionRepo: Send + Sync + std::fmt::Debug {
    async fn create(&self, session: &NewSession, audit: &AuditEntry) -> StoreResult<()>;
    async fn lookup_refresh_token(&self, token_hash: &str) -> StoreResult<Option<TokenLookup>>;
    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>>;
    /// Consumes `old_hash` and stores `new_hash` as its successor, atomically and only while the
    /// session is live and `old_hash` unconsumed; otherwise changes nothing and says why.
    async fn rotate(
        &self,
        session: SessionId,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Rotation>;
    /// Revokes one session; false if it was already revoked.
    async fn revoke(
        &self,
        session: SessionId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// Revokes every live session of a user; returns how many.
    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64>;
    /// Revokes every live session of a user but `keep`; returns how many.
    async fn revoke_others(
        &self,
        user: UserId,
        keep: SessionId,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64>;
    /// A user's sessions that are not revoked, newest first (expired ones included).
    async fn sessions_of(&self, user: UserId) -> StoreResult<Vec<Session>>;
    /// Whether any session of the user, in any state, was started with this user agent (`None`:
    /// without one).
    async fn known_device(&self, user: UserId, user_agent: Option<&str>) -> StoreResult<bool>;
}

#[async_trait]
pub trait ApiKeyRepo: Send + Sync + std::fmt::Debug {
    async fn create(&self, key: &NewApiKey, audit: &AuditEntry) -> StoreResult<()>;
    /// A user's keys that are not revoked, newest first (expired ones included, marked so).
    async fn for_user(&self, user: UserId) -> StoreResult<Vec<ApiKey>>;
    /// A key and its secret's hash.
    async fn get(&self, id: ApiKeyId) -> StoreResult<Option<(ApiKey, String)>>;
    /// Revokes a key of `user`; false when there is no such live key of theirs.
    async fn revoke(&self, id: ApiKeyId, user: UserId, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<bool>;
    /// Records a use: time and address, and the audit entry when the use is worth one.
    async fn record_use(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        ip: Option<&str>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait AuditRepo: Send + Sync + std::fmt::Debug {
    async fn append(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Up to `query.page.limit + 1` entries, newest first (the extra one signals another page).
    async fn list(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>>;
}

/// Password hashing. Async because a good hash is deliberately slow: adapters run it off the
/// request threads.
#[async_trait]
pub trait PasswordHasher: Send + Sync + std::fmt::Debug {
    async fn hash(&self, password: String) -> Result<String, CoreError>;
    /// Verifies a password. With `hash: None` it spends the same time as a real check and
    /// returns false, so unknown accounts cannot be told from wrong passwords by timing.
    async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, CoreError>;
}

/// The claims of an access token, as the domain needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Unique token id (`jti`).
    pub token_id: String,
}

/// One public key of the token signer, as a JSON Web Key (RFC 7517/8037).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Always `OKP` (octet key pair) for Ed25519.
    pub kty: String,
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

/// Issues and verifies access tokens.
pub trait TokenSigner: Send + Sync + std::fmt::Debug {
    fn issue(&self, claims: &AccessClaims) -> Result<String, CoreError>;
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenProblem>;
    /// The public keys that verify tokens, for `/.well-known/jwks.json`.
    fn public_keys(&self) -> Vec<Jwk>;
}

//! Database rows and their conversion to domain entities. Rows mirror the tables; entities are
//! what the core works with. Timestamps are stored as Unix microseconds.

use time::OffsetDateTime;
use veza_core::api_key::{scopes_from_text, ApiKey};
use veza_core::audit::{AuditAction, AuditEntry};
use veza_core::id::{ApiKeyId, AuditId, SessionId, UserId};
use veza_core::ports::StoreError;
use veza_core::session::{RevokeReason, Session};
use veza_core::user::{Email, Profile, Role, User, Username};

pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(us: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).map_err(|e| corrupt("timestamp", e))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("corrupt {what} in database: {e}"))
}

/// The column list matching [`UserRow`], shared by every query that reads users.
pub(crate) const USER_COLUMNS: &str = "id, username, email, email_verified_at, role, disabled_at, disabled_reason, \
     display_name, bio, avatar_url, location, links, created_at, updated_at";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    email: String,
    email_verified_at: Option<i64>,
    role: String,
    disabled_at: Option<i64>,
    disabled_reason: Option<String>,
    display_name: Option<String>,
    bio: Option<String>,
    avatar_url: Option<String>,
    location: Option<String>,
    links: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId(r.id),
            username: Username::parse(&r.username).map_err(|e| corrupt("username", e.message))?,
            email: Email::parse(&r.email).map_err(|e| corrupt("email", e.message))?,
            email_verified: r.email_verified_at.is_some(),
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            disabled: r.disabled_at.is_some(),
            disabled_reason: r.disabled_reason,
            profile: Profile {
                display_name: r.display_name,
                bio: r.bio,
                avatar_url: r.avatar_url,
                location: r.location,
                links: serde_json::from_str(&r.links).map_err(|e| corrupt("links", e))?,
            },
            created_at: from_micros(r.created_at)?,
            updated_at: from_micros(r.updated_at)?,
        })
    }
}

pub(crate) const SESSION_COLUMNS: &str =
    "s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.revoked_at, s.revoked_reason, s.user_agent, s.ip";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: i64,
    user_id: i64,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            id: SessionId(r.id),
            user_id: UserId(r.user_id),
            created_at: from_micros(r.created_at)?,
            last_used_at: from_micros(r.last_used_at)?,
            expires_at: from_micros(r.expires_at)?,
            revoked_at: r.revoked_at.map(from_micros).transpose()?,
            revoked_reason: r.revoked_reason.as_deref().and_then(RevokeReason::parse),
            user_agent: r.user_agent,
            ip: r.ip,
        })
    }
}

pub(crate) const API_KEY_COLUMNS: &str =
    "id, user_id, name, scopes, secret_hash, created_at, expires_at, revoked_at, last_used_at, last_used_ip";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: i64,
    user_id: i64,
    name: String,
    scopes: String,
    secret_hash: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
}

impl ApiKeyRow {
    /// The key and its secret hash.
    pub(crate) fn into_key(self) -> Result<(ApiKey, String), StoreError> {
        let key = ApiKey {
            id: ApiKeyId(self.id),
            user_id: UserId(self.user_id),
            name: self.name,
            scopes: scopes_from_text(&self.scopes).ok_or_else(|| corrupt("API key scopes", &self.scopes))?,
            created_at: from_micros(self.created_at)?,
            expires_at: self.expires_at.map(from_micros).transpose()?,
            revoked_at: self.revoked_at.map(from_micros).transpose()?,
            last_used_at: self.last_used_at.map(from_micros).transpose()?,
            last_used_ip: self.last_used_ip,
        };
        Ok((key, self.secret_hash))
    }
}

pub(crate) const AUDIT_COLUMNS: &str =
    "id, action, actor_id, target_id, ip, user_agent, request_id, detail, created_at";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    action: String,
    actor_id: Option<i64>,
    target_id: Option<i64>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    detail: String,
    created_at: i64,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEntry {
            id: AuditId(r.id),
            action: AuditAction::parse(&r.action).ok_or_else(|| corrupt("audit action", &r.action))?,
            actor: r.actor_id.map(UserId),
            target: r.target_id.map(UserId),
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            detail: serde_json::from_str(&r.detail).map_err(|e| corrupt("audit detail", e))?,
            created_at: from_micros(r.created_at)?,
        })
    }
}

/// `$first, $first+1, …` for `n` values bound into an `IN (…)` list; `NULL` (which matches
/// nothing) when there are none, so the query stays valid.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    if n == 0 {
        return "NULL".into();
    }
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

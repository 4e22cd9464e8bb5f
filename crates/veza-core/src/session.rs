//! Login sessions. A session is one family of refresh tokens: each refresh consumes the current
//! token and issues its successor; presenting a consumed token again means it was stolen (or the
//! client is confused), so the whole session — every descendant — is revoked.

use time::{Duration, OffsetDateTime};

use crate::id::{SessionId, UserId};

/// A session dies 30 days after login whatever happens (the absolute lifetime)...
pub const ABSOLUTE_LIFETIME: Duration = Duration::days(30);
/// ...and after 7 days without a refresh (idle lifetime).
pub const IDLE_LIFETIME: Duration = Duration::days(7);
/// Access tokens are short-lived because they are not checked against the database.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    LogoutAll,
    Reuse,
    AccountDisabled,
    /// Ended by its owner from another session.
    Revoked,
    PasswordChanged,
    EmailChanged,
    /// Two-factor authentication was turned on or off.
    SecondFactorChanged,
    /// Ended by an administrator.
    EndedByAdmin,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Reuse => "refresh_token_reuse",
            Self::AccountDisabled => "account_disabled",
            Self::Revoked => "revoked_by_owner",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged => "email_changed",
            Self::SecondFactorChanged => "second_factor_changed",
            Self::EndedByAdmin => "ended_by_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Logout,
            Self::LogoutAll,
            Self::Reuse,
            Self::AccountDisabled,
            Self::Revoked,
            Self::PasswordChanged,
            Self::EmailChanged,
            Self::SecondFactorChanged,
            Self::EndedByAdmin,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    /// The absolute end of the session (created_at + [`ABSOLUTE_LIFETIME`]).
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_reason: Option<RevokeReason>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl Session {
    /// When the session ends if nothing happens: the earlier of its absolute and idle limits.
    pub fn ends_at(&self) -> OffsetDateTime {
        self.expires_at.min(self.last_used_at + IDLE_LIFETIME)
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.ends_at()
    }
}

/// A session to store together with its first refresh token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl NewSession {
    pub fn expires_at(&self) -> OffsetDateTime {
        self.created_at + ABSOLUTE_LIFETIME
    }
}

/// The result of trying to exchange a refresh token for its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// The token was consumed meanwhile (a concurrent refresh won): a second use.
    AlreadyConsumed,
    /// The session was revoked meanwhile (logout, replay, account disabled).
    SessionRevoked,
}

/// What the store knows about a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLookup {
    pub session: Session,
    /// The token was already exchanged for a successor.
    pub consumed: bool,
}

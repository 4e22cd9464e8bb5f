//! Single-use secrets handed to an account's owner — by mail (address verification, password
//! reset, magic links) or in a response (the second step of a login with 2FA). Each is 256 random
//! bits shown once; the store keeps only its SHA-256, with what it is for, whose it is and when it
//! dies. Redeeming one consumes it in the same transaction as the change it authorizes.

use time::{Duration, OffsetDateTime};

use crate::id::{SessionId, UserId};
use crate::session::RevokeReason;
use crate::user::Email;

/// What a token authorizes. Each purpose has its own lifetime, and a token is only ever
/// redeemed for its own purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Proves the owner reads the address in [`AccountToken::email`].
    VerifyEmail,
    /// Sets a new password without the old one.
    ResetPassword,
    /// The second step of a login whose password was right, for an account with 2FA.
    MfaLogin,
    /// A login by mailed link, from the client that asked for it.
    MagicLink,
}

impl TokenPurpose {
    pub const ALL: [Self; 4] = [Self::VerifyEmail, Self::ResetPassword, Self::MfaLogin, Self::MagicLink];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::MfaLogin => "mfa_login",
            Self::MagicLink => "magic_link",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// How long a token of this purpose stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(24),
            Self::ResetPassword => Duration::minutes(30),
            Self::MfaLogin => Duration::minutes(5),
            Self::MagicLink => Duration::minutes(10),
        }
    }

    /// Whether issuing a new token voids the owner's earlier unredeemed ones of this purpose: a
    /// verification link must only ever confirm the address most recently asked for.
    pub fn supersedes(self) -> bool {
        matches!(self, Self::VerifyEmail)
    }
}

/// A stored token, as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountToken {
    pub purpose: TokenPurpose,
    pub user_id: UserId,
    /// For [`TokenPurpose::VerifyEmail`]: the address it proves (for a change, the new one).
    pub email: Option<String>,
    /// The session that asked for the token, when one did (an email change keeps that session
    /// and ends the others).
    pub session_id: Option<SessionId>,
    /// For [`TokenPurpose::MagicLink`]: the SHA-256 of the nonce handed to the client that
    /// asked; redeeming the link takes the nonce.
    pub nonce_hash: Option<String>,
    /// The client address that asked for the token, when known.
    pub requested_from: Option<String>,
    /// For [`TokenPurpose::MfaLogin`]: how the first step was proved (`password`, `magic_link`),
    /// for the audit entry of the finished login.
    pub first_factor: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub consumed_at: Option<OffsetDateTime>,
}

impl AccountToken {
    /// Why the token cannot be redeemed for `purpose` at `now`, if it cannot.
    pub fn refusal(&self, purpose: TokenPurpose, now: OffsetDateTime) -> Option<crate::error::TokenProblem> {
        use crate::error::TokenProblem;
        if self.purpose != purpose {
            Some(TokenProblem::Malformed)
        } else if self.consumed_at.is_some() {
            Some(TokenProblem::Reused)
        } else if now >= self.expires_at {
            Some(TokenProblem::Expired)
        } else {
            None
        }
    }
}

/// Which of a user's earlier tokens a resend cooldown counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CooldownKey<'a> {
    /// All of them.
    Any,
    /// Those for this address (normalized; compared without case).
    Address(&'a str),
    /// Those asked for from this client address.
    RequestedFrom(&'a str),
}

/// A token to store: its hash and what it authorizes.
#[derive(Debug, Clone)]
pub struct NewAccountToken {
    pub hash: String,
    pub token: AccountToken,
}

/// Which sessions a credential change ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndSessions {
    None,
    All,
    AllBut(SessionId),
}

/// A change to how an account signs in, applied in one transaction with its audit entries.
#[derive(Debug, Clone)]
pub struct CredentialChange {
    /// A new address, verified by this very change.
    pub verified_email: Option<Email>,
    pub password_hash: Option<String>,
    pub end_sessions: EndSessions,
    /// Recorded on the sessions it ends.
    pub reason: RevokeReason,
    /// The purposes whose outstanding tokens of the account die with the change.
    pub void_tokens: &'static [TokenPurpose],
    /// A second-factor code the change spends: it happens only if the code is still unspent,
    /// so a code is never used up by a change that did not happen.
    pub spend: Option<SpentCode>,
}

/// A proved second-factor code, to spend with the change it authorizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpentCode {
    /// A TOTP code of this time step: accepted only if no later or equal step was.
    TotpStep(i64),
    /// A recovery code, by its hash.
    RecoveryCode(String),
}

impl CredentialChange {
    /// A new password (set or reset) voids every outstanding link and login step: a link an
    /// intruder asked for must not outlive the password the owner changed to lock them out.
    pub const VOIDED_BY_PASSWORD: &'static [TokenPurpose] =
        &[TokenPurpose::VerifyEmail, TokenPurpose::ResetPassword, TokenPurpose::MagicLink, TokenPurpose::MfaLogin];
    /// A new address voids the links mailed to the old one.
    pub const VOIDED_BY_NEW_ADDRESS: &'static [TokenPurpose] =
        &[TokenPurpose::VerifyEmail, TokenPurpose::ResetPassword, TokenPurpose::MagicLink];

    /// Ends sessions only.
    pub fn end_sessions(end_sessions: EndSessions, reason: RevokeReason) -> Self {
        Self { verified_email: None, password_hash: None, end_sessions, reason, void_tokens: &[], spend: None }
    }

    /// A new password hash, voiding outstanding links and ending the sessions named.
    pub fn password(password_hash: String, end_sessions: EndSessions) -> Self {
        Self {
            verified_email: None,
            password_hash: Some(password_hash),
            end_sessions,
            reason: RevokeReason::PasswordChanged,
            void_tokens: Self::VOIDED_BY_PASSWORD,
            spend: None,
        }
    }

    /// The same change, spending `code` with it.
    pub fn spending(self, code: Option<SpentCode>) -> Self {
        Self { spend: code, ..self }
    }
}

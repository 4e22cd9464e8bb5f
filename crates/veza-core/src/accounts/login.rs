//! Password login. Unknown accounts and wrong passwords get the same error after the same work
//! (a full hash verification either way), so neither the answer nor its timing reveals which
//! accounts exist.

use crate::audit::{AuditAction, RequestMeta};
use crate::error::CoreError;
use crate::rate_limit::attempts::Attempt;
use crate::user::{Email, Username};

use super::second_factor::MfaChallenge;
use super::{Accounts, TokenPair};

/// What a right password leads to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    LoggedIn(Box<User>, TokenPair),
    /// The account has 2FA: the login continues with [`Accounts::login_mfa`].
    MfaRequired(MfaChallenge),
}
use crate::id::UserId;
use crate::user::User;

/// Longest login identifier looked up; longer ones cannot be a username or email.
const LOGIN_MAX: usize = 254;

impl Accounts {
    /// Logs in with a username or an email address.
    /// Guesses are throttled per account and per address before the password is even looked at.
    pub async fn login(&self, login: &str, password: &str, meta: &RequestMeta) -> Result<LoginOutcome, CoreError> {
        let key = normalize_login(login);
        let guesses = &self.deps.guesses;
        let counters = guesses.keys("password", key.as_deref(), meta.ip.as_deref());
        let delay = match guesses.throttle.begin(&counters).await {
            Ok(Attempt::Go { delay }) => delay,
            Ok(Attempt::Wait(wait)) => return Err(CoreError::TooManyAttempts(wait)),
            Err(e) => return Err(CoreError::Unavailable(e.to_string())),
        };
        let found = match &key {
            Some(key) => self.deps.users.credentials(key).await?,
            None => None,
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, None),
        };
        let password_ok = password.chars().count() <= crate::user::Password::MAX
            && self.deps.hasher.verify(password.to_string(), hash).await?;

        let user = match user {
            Some(user) if password_ok => user,
            other => {
                let reason = match (&key, &other) {
                    (None, _) => "malformed_login",
                    (Some(_), None) => "unknown_account",
                    (Some(_), Some(_)) => "wrong_password",
                };
                let target = other.as_ref().map(|u| u.id);
                if let Some(delay) = delay {
                    self.login_throttled(target, delay, meta).await;
                    if let Some(owner) = &other {
                        self.tell_owner_about_guessing(owner, delay, meta).await;
                    }
                }
                return Err(self.login_failed(target, reason, meta).await);
            }
        };
        // The right password: the account's failures are all forgiven, the address's only this
        // attempt (or one good account would launder guesses at others).
        for (i, counter) in counters.iter().enumerate() {
            let whole = i == 0 && key.is_some();
            if let Err(e) = guesses.throttle.forgive(counter, whole).await {
                tracing::warn!(error = %e, "could not settle a failed-login counter");
            }
        }
        if user.disabled {
            return Err(self.login_failed_for(&user, meta).await);
        }
        if self.totp_enabled(&user).await? {
            return Ok(LoginOutcome::MfaRequired(self.mfa_challenge(&user, "password", meta).await?));
        }
        let tokens = self.finish_login(&user, "password", meta).await?;
        Ok(LoginOutcome::LoggedIn(Box::new(user), tokens))
    }

    /// Starts the session of a login whose every factor was proved, and tells the owner when
    /// the device is new to the account.
    pub(super) async fn finish_login(
        &self,
        user: &User,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<TokenPair, CoreError> {
        // Asked before this login's own session exists.
        let known = self.deps.sessions.known_device(user.id, meta.user_agent.as_deref()).await?;
        let (session, tokens) = self.start_session(user, meta)?;
        let mut entry = self.audit_entry(AuditAction::LoginSucceeded, Some(user.id), Some(user.id), meta);
        entry.detail.insert("session_id".into(), session.id.to_string().into());
        entry.detail.insert("method".into(), method.into());
        self.deps.sessions.create(&session, &entry).await?;
        if !known {
            self.tell_owner_about_new_device(user, meta).await;
        }
        Ok(tokens)
    }

    /// A disabled account learns that it is disabled only after giving the right password.
    pub(super) async fn login_failed_for(&self, user: &User, meta: &RequestMeta) -> CoreError {
        self.login_failed(Some(user.id), "account_disabled", meta).await;
        CoreError::AccountDisabled
    }

    /// Records that failed guesses now make this account (or address) wait.
    async fn login_throttled(&self, target: Option<UserId>, delay: std::time::Duration, meta: &RequestMeta) {
        let mut entry = self.audit_entry(AuditAction::LoginThrottled, None, target, meta);
        entry.detail.insert("delay_secs".into(), delay.as_secs().into());
        if let Err(e) = self.deps.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not record a login throttle");
        }
    }

    /// Mails the owner about a sign-in from a device (user agent) none of their sessions ever had.
    async fn tell_owner_about_new_device(&self, owner: &User, meta: &RequestMeta) {
        let now = self.now();
        let device = meta.user_agent.as_deref().unwrap_or("a program that did not say what it is");
        self.notify(
            owner.email.as_str(),
            "New sign-in to your Veza account",
            &[
                format!("Hello {},", owner.username.as_str()),
                format!(
                    "Your account was just signed in to from a new device: {device}, at address {}, on {}.",
                    meta.ip.as_deref().unwrap_or("unknown"),
                    rfc2822(now),
                ),
                "If this was you, there is nothing to do. If not, change your password now and end the sessions \
                 you do not recognise in your account settings."
                    .to_string(),
            ],
        )
        .await;
    }

    /// Mails the owner of an account whose wrong passwords just made it wait. Queued, not sent:
    /// a mail server's trouble never touches the login.
    async fn tell_owner_about_guessing(&self, owner: &User, delay: std::time::Duration, meta: &RequestMeta) {
        let now = self.now();
        let when = rfc2822(now);
        self.notify(
            owner.email.as_str(),
            "Repeated failed sign-ins to your Veza account",
            &[
                format!("Hello {},", owner.username.as_str()),
                format!(
                    "Several wrong passwords were just tried for your account, the last from {} at {when}. \
                     Further attempts must now wait {} seconds, and longer after each new failure.",
                    meta.ip.as_deref().unwrap_or("an unknown address"),
                    delay.as_secs().max(1),
                ),
                "If this was you, wait a moment and try again. If not, your password held; consider changing \
                 it if it is used anywhere else, and check your active sessions in your account settings."
                    .to_string(),
            ],
        )
        .await;
    }

    /// Records a failed login and returns the error to give the client. A failure to record is
    /// logged but does not change the answer.
    pub(super) async fn login_failed(&self, target: Option<UserId>, reason: &str, meta: &RequestMeta) -> CoreError {
        let mut entry = self.audit_entry(AuditAction::LoginFailed, None, target, meta);
        entry.detail.insert("reason".into(), reason.into());
        if let Err(e) = self.deps.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not record a failed login");
        }
        CoreError::InvalidCredentials
    }
}

/// The lookup key for a login identifier: a normalized email when it has an `@`, else a
/// lowercased username. `None` when it cannot be either.
fn normalize_login(login: &str) -> Option<String> {
    let login = login.trim();
    if login.is_empty() || login.len() > LOGIN_MAX {
        return None;
    }
    if login.contains('@') {
        Email::parse(login).ok().map(|e| e.normalized())
    } else {
        Username::parse(login).ok().map(|u| u.as_str().to_string())
    }
}

/// A time as mail readers expect it: `Tue, 24 Nov 2026 10:30:00 +0000`.
fn rfc2822(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc2822).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

//! Changing a password (knowing the current one) and recovering an account (not knowing it).
//! Recovery never reveals whether an address has an account: the request is answered the same
//! way before anything is looked up, and only an existing account's address gets mail.

use crate::account_token::{CooldownKey, CredentialChange, EndSessions, TokenPurpose};
use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError, TokenProblem};
use crate::ports::MailOf;
use crate::user::{Email, Password, User};

use super::register::new_password;
use super::{Accounts, Principal};

/// How recent a sign-in must be to stand in for the password of an account that has none.
pub const FRESH_SIGN_IN: time::Duration = time::Duration::minutes(10);

impl Accounts {
    /// Checks the caller's current password before a sensitive change, under the same
    /// brute-force throttle as logins.
    pub(super) async fn reauthenticate(
        &self,
        user: &User,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let hash = self.deps.users.credentials(user.username.as_str()).await?.and_then(|(_, hash)| hash);
        let Some(hash) = hash else {
            return Err(CoreError::invalid(FieldError::new(
                "current_password",
                "not_set",
                "this account has no password yet (it signs in with Google, GitHub or Discord); \
                 set one with a link from POST /auth/password/forgot first",
            )));
        };
        let right = self
            .guarded_guess("password", user, meta, async {
                if password.chars().count() > Password::MAX {
                    return Ok(false);
                }
                self.deps.hasher.verify(password.to_string(), Some(hash)).await
            })
            .await?;
        if right {
            Ok(())
        } else {
            Err(CoreError::invalid(FieldError::new("current_password", "incorrect", "the current password is wrong")))
        }
    }

    /// Proves that the owner is at the keyboard now, before adding a way to sign in (a passkey,
    /// a provider): the current password when the account has one; for an account without one
    /// (made by a provider), a session started within the last [`FRESH_SIGN_IN`]. So a stolen
    /// access token cannot plant a lasting way in.
    pub(super) async fn prove_presence(
        &self,
        principal: &Principal,
        owner: &User,
        current_password: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let session = principal.require_session("API keys cannot add ways to sign in")?;
        let has_password =
            self.deps.users.credentials(owner.username.as_str()).await?.is_some_and(|(_, hash)| hash.is_some());
        if has_password {
            let Some(password) = current_password else {
                return Err(CoreError::invalid(FieldError::new(
                    "current_password",
                    "required",
                    "enter the current password to add a way to sign in",
                )));
            };
            return self.reauthenticate(owner, password, meta).await;
        }
        let started = self.deps.sessions.session(session).await?.map(|s| s.created_at);
        match started {
            Some(at) if self.now() - at <= FRESH_SIGN_IN => Ok(()),
            _ => Err(CoreError::Forbidden("sign in again (this account has no password, so only a sign-in of the last 10 minutes proves it is you)")),
        }
    }

    /// Step one of recovery: mails a reset link when `email` is an enabled account's address,
    /// at most once a minute per account. Callers answer the same whatever this finds; it is
    /// meant to run after the answer has gone, so that not even its duration tells.
    pub async fn forgot_password(&self, email: &Email, meta: &RequestMeta) -> Result<(), CoreError> {
        let found = self.deps.users.credentials(&email.normalized()).await?.map(|(user, _)| user);
        let mut entry = self.audit_entry(AuditAction::PasswordResetRequested, None, found.as_ref().map(|u| u.id), meta);
        entry.detail.insert("email".into(), email.as_str().into());
        let user = match found {
            Some(user) if !user.disabled => user,
            other => {
                let outcome = if other.is_some() { "account_disabled" } else { "unknown_address" };
                entry.detail.insert("outcome".into(), outcome.into());
                self.deps.audit.append(&entry).await?;
                return Ok(());
            }
        };
        if self.in_cooldown(&user, TokenPurpose::ResetPassword, CooldownKey::Any).await? {
            entry.detail.insert("outcome".into(), "cooldown".into());
            self.deps.audit.append(&entry).await?;
            return Ok(());
        }
        entry.detail.insert("outcome".into(), "mailed".into());
        let purpose = TokenPurpose::ResetPassword;
        let (secret, token) = self.new_account_token(purpose, user.id, None, None, meta);
        let mail = crate::mail::from_paragraphs(
            user.email.as_str(),
            "Reset your Veza password",
            &[
                format!("Hello {},", user.username.as_str()),
                "Someone asked to reset the password of your Veza account. To choose a new one, open this link:"
                    .to_string(),
                self.deps.links.page("reset-password", &secret),
                format!(
                    "The link works once, for {} minutes, and signs out every device. If you did not ask for this, \
                     ignore this message: your password stays as it is.",
                    purpose.lifetime().whole_minutes()
                ),
            ],
        );
        let mail = MailOf { id: self.deps.ids.next_raw(), mail: &mail };
        self.deps.account_tokens.issue(&token, Some(mail), &[entry]).await?;
        Ok(())
    }

    /// Step two of recovery: sets a new password with a reset link's token and ends every
    /// session of the account.
    pub async fn reset_password(&self, presented: &str, new: &str, meta: &RequestMeta) -> Result<(), CoreError> {
        let purpose = TokenPurpose::ResetPassword;
        let what = "password reset";
        // The policy first: a bad password is answered without touching (or auditing) the token.
        Password::parse_new(new, "new_password").map_err(CoreError::invalid)?;
        let (token, hash) = self.live_token(presented, purpose, what, meta).await?;
        let user = self.deps.users.by_id_fresh(token.user_id).await?.ok_or(CoreError::NotFound("user"))?;
        if user.disabled {
            return Err(CoreError::AccountDisabled);
        }
        let password =
            new_password(new, "new_password", Some(&user.username), Some(&user.email)).map_err(CoreError::invalid)?;
        let password_hash = self.deps.hasher.hash(password.expose().to_string()).await?;
        let change = CredentialChange::password(password_hash, EndSessions::All);
        let entry = self.audit_entry(AuditAction::PasswordReset, Some(user.id), Some(user.id), meta);
        if !self.deps.users.redeem_token(token.user_id, &hash, purpose, &change, self.now(), &[entry]).await? {
            return Err(CoreError::InvalidAccountToken { what, problem: TokenProblem::Reused });
        }
        self.signed_out(user.id, super::SignedOut::of(change.end_sessions)).await;
        self.tell_about_new_password(&user, meta).await;
        Ok(())
    }

    /// Changes the caller's password, given the current one (and, with 2FA on, a second-factor
    /// code); every other session ends.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let session = principal.require_session("changing the password")?;
        let user = self.account(principal).await?;
        let password =
            new_password(new, "new_password", Some(&user.username), Some(&user.email)).map_err(CoreError::invalid)?;
        self.reauthenticate(&user, current, meta).await?;
        let proof = self.confirm_second_factor(&user, code, meta).await?;
        let password_hash = self.deps.hasher.hash(password.expose().to_string()).await?;
        let spend = proof.as_ref().map(|(_, code)| code.clone());
        let change = CredentialChange::password(password_hash, EndSessions::AllBut(session)).spending(spend);
        let entry = self.audit_entry(AuditAction::PasswordChanged, Some(user.id), Some(user.id), meta);
        // The code is spent with the change, or the change does not happen.
        if !self.deps.users.change_credentials(user.id, &change, self.now(), &[entry]).await? {
            return Err(match proof {
                Some(_) => CoreError::invalid(FieldError::new("code", "incorrect", "the code was used meanwhile")),
                None => CoreError::Unauthenticated,
            });
        }
        if let Some((method, _)) = proof {
            self.second_factor_spent(&user, method, meta).await;
        }
        self.signed_out(user.id, super::SignedOut::of(change.end_sessions)).await;
        self.tell_about_new_password(&user, meta).await;
        Ok(())
    }

    async fn tell_about_new_password(&self, user: &User, meta: &RequestMeta) {
        self.notify(
            user.email.as_str(),
            "Your Veza password was changed",
            &[
                format!("Hello {},", user.username.as_str()),
                format!(
                    "The password of your account was just changed, from address {}. Every other device was \
                     signed out.",
                    meta.ip.as_deref().unwrap_or("unknown")
                ),
                "If this was not you, reset your password at once with \"Forgot password\" and check your \
                 account's security events."
                    .to_string(),
            ],
        )
        .await;
    }
}

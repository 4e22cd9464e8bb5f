//! Proving and changing an account's email address. Every address is verified by a mailed
//! single-use link; a new address replaces the old one only once that link is followed, and the
//! old address is told about both the request and the change.

use time::Duration;

use crate::account_token::{CooldownKey, CredentialChange, EndSessions, TokenPurpose};
use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError, TokenProblem};
use crate::id::SessionId;
use crate::ports::MailOf;
use crate::session::RevokeReason;
use crate::user::{Email, User};

use super::{Accounts, Principal};

/// How long after a verification mail another one may be asked for.
pub const RESEND_COOLDOWN: Duration = Duration::seconds(60);

impl Accounts {
    /// Mails a verification link for `email`: the account's own address, or (`change`) the
    /// address it asked to move to. Earlier verification links of the account stop working.
    pub(super) async fn send_verification(
        &self,
        user: &User,
        email: &Email,
        session: Option<SessionId>,
        change: bool,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let purpose = TokenPurpose::VerifyEmail;
        let (secret, token) = self.new_account_token(purpose, user.id, Some(email.as_str().to_string()), session, meta);
        let hours = purpose.lifetime().whole_hours();
        let mut paragraphs = vec![format!("Hello {},", user.username.as_str())];
        paragraphs.push(if change {
            format!("To make {} the address of your Veza account, open this link:", email.as_str())
        } else {
            format!("To confirm that {} is the address of your Veza account, open this link:", email.as_str())
        });
        paragraphs.push(self.deps.links.page("verify-email", &secret));
        paragraphs.push(format!(
            "The link works once, for {hours} hours. If you did not ask for this, ignore this message: nothing \
             changes until the link is opened."
        ));
        let mail = crate::mail::from_paragraphs(email.as_str(), "Confirm your email address for Veza", &paragraphs);
        let action = if change { AuditAction::EmailChangeRequested } else { AuditAction::EmailVerificationSent };
        let mut entry = self.audit_entry(action, Some(user.id), Some(user.id), meta);
        entry.detail.insert("email".into(), email.as_str().into());
        let mail = MailOf { id: self.deps.ids.next_raw(), mail: &mail };
        self.deps.account_tokens.issue(&token, Some(mail), &[entry]).await?;
        Ok(())
    }

    /// Sends the caller's address a new verification link, at most once a minute.
    pub async fn resend_verification(&self, principal: &Principal, meta: &RequestMeta) -> Result<(), CoreError> {
        let session = principal.require_session("asking for a verification mail")?;
        let user = self.account(principal).await?;
        if user.email_verified {
            return Err(CoreError::Conflict(FieldError::new(
                "email",
                "already_verified",
                "this address is already verified",
            )));
        }
        self.cooldown(&user, TokenPurpose::VerifyEmail, CooldownKey::Address(&user.email.normalized())).await?;
        self.send_verification(&user, &user.email, Some(session), false, meta).await
    }

    /// Refuses with the time left when the user's last token of `purpose` that `key` selects is
    /// younger than the resend cooldown: an address gets at most one such mail a minute from
    /// one account.
    pub(super) async fn cooldown(
        &self,
        user: &User,
        purpose: TokenPurpose,
        key: CooldownKey<'_>,
    ) -> Result<(), CoreError> {
        if let Some(last) = self.deps.account_tokens.last_issued(user.id, purpose, key).await? {
            let left = last + RESEND_COOLDOWN - self.now();
            if left.is_positive() {
                return Err(CoreError::TooManyAttempts(left.unsigned_abs()));
            }
        }
        Ok(())
    }

    /// Whether the cooldown holds (store errors are errors, not a cooldown).
    pub(super) async fn in_cooldown(
        &self,
        user: &User,
        purpose: TokenPurpose,
        key: CooldownKey<'_>,
    ) -> Result<bool, CoreError> {
        match self.cooldown(user, purpose, key).await {
            Ok(()) => Ok(false),
            Err(CoreError::TooManyAttempts(_)) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Starts moving the caller's account to `new_email`: checks the password (and, with 2FA on,
    /// a code: whoever controls the address can reset the password), then mails the new address
    /// a link and tells the old one. Nothing changes until the link is followed.
    pub async fn request_email_change(
        &self,
        principal: &Principal,
        new_email: &str,
        password: &str,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let session = principal.require_session("changing the email address")?;
        let email = Email::parse(new_email).map_err(CoreError::invalid)?;
        let user = self.account(principal).await?;
        self.reauthenticate(&user, password, meta).await?;
        let proof = self.confirm_second_factor(&user, code, meta).await?;
        if email.normalized() == user.email.normalized() {
            return Err(CoreError::invalid(FieldError::new("email", "unchanged", "this is already your address")));
        }
        if self.deps.users.credentials(&email.normalized()).await?.is_some() {
            return Err(CoreError::Conflict(FieldError::new("email", "taken", "this email is already taken")));
        }
        self.cooldown(&user, TokenPurpose::VerifyEmail, CooldownKey::Address(&email.normalized())).await?;
        if let Some(proof) = proof {
            self.spend_second_factor(&user, proof, meta).await.map_err(super::second_factor::wrong_code)?;
        }
        self.send_verification(&user, &email, Some(session), true, meta).await?;
        self.notify(
            user.email.as_str(),
            "Your Veza address is about to change",
            &[
                format!("Hello {},", user.username.as_str()),
                format!(
                    "Someone signed in to your account asked to change its address to {}. It changes once a link \
                     sent there is opened.",
                    email.as_str()
                ),
                "If this was not you, change your password now and end the sessions you do not recognise.".to_string(),
            ],
        )
        .await;
        Ok(())
    }

    /// Follows a verification link: marks its address verified and, when it is a new address,
    /// makes it the account's and ends every other session than the one that asked.
    pub async fn verify_email(&self, presented: &str, meta: &RequestMeta) -> Result<User, CoreError> {
        let purpose = TokenPurpose::VerifyEmail;
        let what = "email verification";
        let (token, hash) = self.live_token(presented, purpose, what, meta).await?;
        let email = Email::parse(token.email.as_deref().unwrap_or_default())
            .map_err(|e| CoreError::Internal(format!("stored verification token has a bad address: {}", e.message)))?;
        let user = self.deps.users.by_id_fresh(token.user_id).await?.ok_or(CoreError::NotFound("user"))?;
        if user.disabled {
            return Err(CoreError::AccountDisabled);
        }
        let changed = email.normalized() != user.email.normalized();
        let mut verified = self.audit_entry(AuditAction::EmailVerified, Some(user.id), Some(user.id), meta);
        verified.detail.insert("email".into(), email.as_str().into());
        let mut entries = vec![verified];
        let end_sessions = match (changed, token.session_id) {
            (false, _) => EndSessions::None,
            (true, Some(keep)) => EndSessions::AllBut(keep),
            (true, None) => EndSessions::All,
        };
        if changed {
            let mut entry = self.audit_entry(AuditAction::EmailChanged, Some(user.id), Some(user.id), meta);
            entry.detail.insert("from".into(), user.email.as_str().into());
            entry.detail.insert("to".into(), email.as_str().into());
            entries.push(entry);
        }
        let change = CredentialChange {
            verified_email: Some(email.clone()),
            password_hash: None,
            end_sessions,
            reason: RevokeReason::EmailChanged,
            void_tokens: if changed { CredentialChange::VOIDED_BY_NEW_ADDRESS } else { &[TokenPurpose::VerifyEmail] },
            spend: None,
        };
        if !self.deps.users.redeem_token(token.user_id, &hash, purpose, &change, self.now(), &entries).await? {
            return Err(CoreError::InvalidAccountToken { what, problem: TokenProblem::Reused });
        }
        self.signed_out(user.id, super::SignedOut::of(change.end_sessions)).await;
        if changed {
            self.notify(
                user.email.as_str(),
                "Your Veza address was changed",
                &[
                    format!("Hello {},", user.username.as_str()),
                    format!(
                        "Your account's address is now {}; this address no longer receives its mail.",
                        email.as_str()
                    ),
                    "If you did not make this change, contact the administrators of this Veza server at once."
                        .to_string(),
                ],
            )
            .await;
        }
        self.deps.users.by_id_fresh(user.id).await?.ok_or(CoreError::NotFound("user"))
    }
}

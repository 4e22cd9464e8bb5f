//! Passwordless login by mailed link. The link only works together with a nonce handed to the
//! client that asked for it, so a link forwarded to (or intercepted by) someone else logs nobody
//! in; 2FA still applies. Asking never tells whether an address has an account.

use crate::account_token::{CooldownKey, CredentialChange, EndSessions, TokenPurpose};
use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, TokenProblem};
use crate::ports::MailOf;
use crate::session::RevokeReason;
use crate::user::Email;

use super::login::LoginOutcome;
use super::{hash_secret, Accounts, RefreshSecret};

/// The nonce a client keeps while its sign-in link travels by mail.
#[derive(Debug, Clone)]
pub struct MagicLinkNonce {
    /// Returned to the client; presented again with the link's token.
    pub nonce: String,
    /// Stored with the link.
    pub hash: String,
}

impl MagicLinkNonce {
    /// 256 random bits, like every other secret here.
    pub fn generate() -> Self {
        let secret = RefreshSecret::generate();
        Self { nonce: secret.token, hash: secret.hash }
    }
}

impl Accounts {
    /// Mails a sign-in link when `email` is an enabled account's address, at most once a minute
    /// per account and asking client address. Meant to run after the client has its answer (and the nonce), like
    /// [`Accounts::forgot_password`].
    pub async fn request_magic_link(
        &self,
        email: &Email,
        nonce_hash: String,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let purpose = TokenPurpose::MagicLink;
        let from = meta.ip.as_deref().map_or(CooldownKey::Any, CooldownKey::RequestedFrom);
        let found = self.deps.users.credentials(&email.normalized()).await?.map(|(user, _)| user);
        let mut entry = self.audit_entry(AuditAction::MagicLinkRequested, None, found.as_ref().map(|u| u.id), meta);
        entry.detail.insert("email".into(), email.as_str().into());
        let outcome = match &found {
            None => Some("unknown_address"),
            Some(user) if user.disabled => Some("account_disabled"),
            // Per client address: someone else asking (and holding the nonces) must not keep the
            // owner from getting a link they can use.
            Some(user) if self.in_cooldown(user, purpose, from).await? => Some("cooldown"),
            Some(_) => None,
        };
        let (Some(user), None) = (found, outcome) else {
            entry.detail.insert("outcome".into(), outcome.unwrap_or_default().into());
            self.deps.audit.append(&entry).await?;
            return Ok(());
        };
        entry.detail.insert("outcome".into(), "mailed".into());
        let (secret, mut token) = self.new_account_token(purpose, user.id, None, None, meta);
        token.token.nonce_hash = Some(nonce_hash);
        let mail = crate::mail::from_paragraphs(
            user.email.as_str(),
            "Sign in to Veza",
            &[
                format!("Hello {},", user.username.as_str()),
                "To sign in to your Veza account, open this link on the device where you asked for it:".to_string(),
                self.deps.links.page("magic-link", &secret),
                format!(
                    "The link works once, for {} minutes. If you did not ask for it, ignore this message: without \
                     the device that asked, the link signs nobody in.",
                    purpose.lifetime().whole_minutes()
                ),
            ],
        );
        let mail = MailOf { id: self.deps.ids.next_raw(), mail: &mail };
        self.deps.account_tokens.issue(&token, Some(mail), &[entry]).await?;
        Ok(())
    }

    /// Follows a sign-in link: the link's token and the nonce its request returned. A nonce from
    /// another client counts as a failed guess for the account.
    pub async fn login_magic_link(
        &self,
        presented: &str,
        nonce: &str,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, CoreError> {
        let purpose = TokenPurpose::MagicLink;
        let what = "sign-in";
        let (token, hash) = self.live_token(presented, purpose, what, meta).await?;
        let user = self.deps.users.by_id_fresh(token.user_id).await?.ok_or(CoreError::NotFound("user"))?;
        if user.disabled {
            return Err(CoreError::AccountDisabled);
        }
        let expected = token.nonce_hash.as_deref();
        let same_client = self
            .guarded_guess("magic_link", &user, meta, async {
                Ok(nonce.len() <= 256 && expected == Some(hash_secret(nonce).as_str()))
            })
            .await?;
        if !same_client {
            return Err(self.token_refused(purpose, what, TokenProblem::Foreign, Some(user.id), meta).await);
        }
        let consume = CredentialChange::end_sessions(EndSessions::None, RevokeReason::Logout);
        if !self.deps.users.redeem_token(user.id, &hash, purpose, &consume, self.now(), &[]).await? {
            return Err(CoreError::InvalidAccountToken { what, problem: TokenProblem::Reused });
        }
        if self.totp_enabled(&user).await? {
            return Ok(LoginOutcome::MfaRequired(self.mfa_challenge(&user, "magic_link", meta).await?));
        }
        let tokens = self.finish_login(&user, "magic_link", meta).await?;
        Ok(LoginOutcome::LoggedIn(Box::new(user), tokens))
    }
}

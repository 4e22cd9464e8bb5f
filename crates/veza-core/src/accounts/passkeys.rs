//! Passkeys: adding them from a session, signing in with one (no password, no username: the
//! authenticator says whose it is), using one as the second step of a login, and listing,
//! renaming and removing them. Every ceremony is single-use and lives five minutes; user
//! verification (PIN, biometrics) is required, so a passkey sign-in is complete by itself.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::account_token::{CredentialChange, EndSessions, TokenPurpose};
use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError, TokenProblem};
use crate::id::{PasskeyId, UserId};
use crate::passkey::{parse_name, Ceremony, CeremonyPurpose, CeremonyStart, Passkey, CEREMONY_LIFETIME};
use crate::ports::{StoreError, Unlinked};
use crate::session::RevokeReason;
use crate::user::User;

use super::login::LoginOutcome;
use super::{hash_secret, Accounts, Principal, RefreshSecret, TokenPair};

/// A started ceremony: the options for `navigator.credentials`, and the id to finish it with.
#[derive(Debug, Clone)]
pub struct PasskeyCeremony {
    pub ceremony_id: String,
    pub options: serde_json::Value,
    pub expires_at: OffsetDateTime,
}

const WHAT: &str = "passkey ceremony";

/// The 16 bytes that stand for an account at authenticators: derived from its id, so they
/// never change, without showing the id itself.
fn user_handle(user: UserId) -> [u8; 16] {
    let digest = Sha256::digest(format!("veza-passkey-user:{}", user.0).as_bytes());
    let mut handle = [0u8; 16];
    handle.copy_from_slice(&digest[..16]);
    handle
}

fn rejected(field: &str, why: String) -> CoreError {
    CoreError::invalid(FieldError::new(field, "rejected", format!("the authenticator's answer was refused: {why}")))
}

impl Accounts {
    async fn begin_ceremony(
        &self,
        purpose: CeremonyPurpose,
        start: CeremonyStart,
    ) -> Result<PasskeyCeremony, CoreError> {
        let secret = RefreshSecret::generate();
        let now = self.now();
        let ceremony = Ceremony {
            id_hash: secret.hash,
            purpose,
            state: start.state,
            created_at: now,
            expires_at: now + CEREMONY_LIFETIME,
        };
        self.deps.passkeys.save_ceremony(&ceremony).await?;
        Ok(PasskeyCeremony { ceremony_id: secret.token, options: start.options, expires_at: ceremony.expires_at })
    }

    /// Takes the ceremony (once) if it is live and for `purpose`; a refusal is audited.
    async fn end_ceremony(
        &self,
        ceremony_id: &str,
        purpose: CeremonyPurpose,
        meta: &RequestMeta,
    ) -> Result<Ceremony, CoreError> {
        let found = match ceremony_id.len() <= 256 {
            true => self.deps.passkeys.take_ceremony(&hash_secret(ceremony_id)).await?,
            false => None,
        };
        let problem = match found {
            Some(c) if c.purpose == purpose && self.now() < c.expires_at => return Ok(c),
            Some(c) if c.purpose == purpose => TokenProblem::Expired,
            _ => TokenProblem::Malformed,
        };
        let target = match purpose {
            CeremonyPurpose::Register(user) | CeremonyPurpose::SecondFactor(user) => Some(user),
            CeremonyPurpose::SignIn => None,
        };
        let mut entry = self.audit_entry(AuditAction::AccountTokenRefused, None, target, meta);
        entry.detail.insert("purpose".into(), "passkey_ceremony".into());
        entry.detail.insert("reason".into(), problem.to_string().into());
        if let Err(e) = self.deps.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not record a refused passkey ceremony");
        }
        Err(CoreError::InvalidAccountToken { what: WHAT, problem })
    }

    /// Starts adding a passkey to the caller's account, once they proved they are at the
    /// keyboard (the current password, or a fresh sign-in for an account without one).
    pub async fn start_passkey_registration(
        &self,
        principal: &Principal,
        current_password: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<PasskeyCeremony, CoreError> {
        principal.require_session("API keys cannot add passkeys")?;
        let owner = self.account(principal).await?;
        self.prove_presence(principal, &owner, current_password, meta).await?;
        let existing = self.deps.passkeys.passkeys_of(owner.id).await?;
        let start = self.deps.webauthn.start_registration(user_handle(owner.id), owner.username.as_str(), &existing)?;
        self.begin_ceremony(CeremonyPurpose::Register(owner.id), start).await
    }

    /// Finishes adding a passkey with what the authenticator created.
    pub async fn finish_passkey_registration(
        &self,
        principal: &Principal,
        ceremony_id: &str,
        name: Option<&str>,
        response: &serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<Passkey, CoreError> {
        principal.require_session("API keys cannot add passkeys")?;
        let owner = self.account(principal).await?;
        let name = parse_name(name).map_err(CoreError::invalid)?;
        let ceremony = self.end_ceremony(ceremony_id, CeremonyPurpose::Register(owner.id), meta).await?;
        let credential = self
            .deps
            .webauthn
            .finish_registration(response, &ceremony.state)
            .map_err(|why| rejected("credential", why))?;
        let now = self.now();
        let passkey = Passkey {
            id: PasskeyId::new(self.deps.ids.as_ref()),
            user_id: owner.id,
            name,
            credential_id: credential.credential_id,
            data: credential.data,
            created_at: now,
            last_used_at: None,
        };
        let mut entry = self.audit_entry(AuditAction::PasskeyAdded, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("passkey_id".into(), passkey.id.to_string().into());
        match self.deps.passkeys.add_passkey(&passkey, &entry).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(CoreError::Conflict(FieldError::new(
                    "credential",
                    "already_registered",
                    "this passkey is registered already",
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.tell_about_passkey(&owner, &passkey.name, true, meta).await;
        Ok(passkey)
    }

    /// Starts a sign-in with any passkey of this site.
    pub async fn start_passkey_login(&self) -> Result<PasskeyCeremony, CoreError> {
        let start = self.deps.webauthn.start_authentication(&[])?;
        self.begin_ceremony(CeremonyPurpose::SignIn, start).await
    }

    /// Finishes a passkey sign-in: the account is the one the passkey belongs to.
    pub async fn finish_passkey_login(
        &self,
        ceremony_id: &str,
        response: &serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, CoreError> {
        let ceremony = self.end_ceremony(ceremony_id, CeremonyPurpose::SignIn, meta).await?;
        let passkey = match self.deps.webauthn.credential_of(response) {
            Ok(id) => self.deps.passkeys.passkey_by_credential(&id).await?,
            Err(_) => None,
        };
        let Some(passkey) = passkey else {
            return Err(self.login_failed(None, "unknown_passkey", meta).await);
        };
        let checked = self.deps.webauthn.finish_authentication(response, &ceremony.state, &passkey);
        let Ok(updated) = checked else {
            return Err(self.login_failed(Some(passkey.user_id), "passkey_rejected", meta).await);
        };
        let user = self.deps.users.by_id_fresh(passkey.user_id).await?.ok_or(CoreError::InvalidCredentials)?;
        if user.disabled {
            return Err(self.login_failed_for(&user, meta).await);
        }
        self.deps.passkeys.passkey_used(passkey.id, updated.as_deref(), self.now()).await?;
        let tokens = self.finish_login(&user, "passkey", meta).await?;
        Ok(LoginOutcome::LoggedIn(Box::new(user), tokens))
    }

    /// Starts the second step of a login with one of the account's passkeys.
    pub async fn start_passkey_second_factor(
        &self,
        mfa_token: &str,
        meta: &RequestMeta,
    ) -> Result<PasskeyCeremony, CoreError> {
        let (token, _) = self.live_token(mfa_token, TokenPurpose::MfaLogin, "login", meta).await?;
        let passkeys = self.deps.passkeys.passkeys_of(token.user_id).await?;
        if passkeys.is_empty() {
            return Err(CoreError::Conflict(FieldError::new(
                "mfa_token",
                "no_passkeys",
                "this account has no passkey; use a code instead",
            )));
        }
        let start = self.deps.webauthn.start_authentication(&passkeys)?;
        self.begin_ceremony(CeremonyPurpose::SecondFactor(token.user_id), start).await
    }

    /// Finishes a login's second step with a passkey; spends the login token.
    pub async fn login_mfa_passkey(
        &self,
        mfa_token: &str,
        ceremony_id: &str,
        response: &serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<(User, TokenPair), CoreError> {
        let purpose = TokenPurpose::MfaLogin;
        let (token, hash) = self.live_token(mfa_token, purpose, "login", meta).await?;
        let ceremony = self.end_ceremony(ceremony_id, CeremonyPurpose::SecondFactor(token.user_id), meta).await?;
        let user = self.deps.users.by_id_fresh(token.user_id).await?.ok_or(CoreError::InvalidCredentials)?;
        if user.disabled {
            return Err(CoreError::AccountDisabled);
        }
        let passkey = match self.deps.webauthn.credential_of(response) {
            Ok(id) => self.deps.passkeys.passkey_by_credential(&id).await?.filter(|p| p.user_id == user.id),
            Err(_) => None,
        };
        let Some(passkey) = passkey else {
            return Err(self.second_factor_failed(&user, "passkey", meta).await);
        };
        let Ok(updated) = self.deps.webauthn.finish_authentication(response, &ceremony.state, &passkey) else {
            return Err(self.second_factor_failed(&user, "passkey", meta).await);
        };
        let consume = CredentialChange::end_sessions(EndSessions::None, RevokeReason::Logout);
        if !self.deps.users.redeem_token(user.id, &hash, purpose, &consume, self.now(), &[]).await? {
            return Err(CoreError::InvalidAccountToken { what: "login", problem: TokenProblem::Reused });
        }
        self.deps.passkeys.passkey_used(passkey.id, updated.as_deref(), self.now()).await?;
        let first = token.first_factor.as_deref().unwrap_or("password");
        let tokens = self.finish_login(&user, &format!("{first}+passkey"), meta).await?;
        Ok((user, tokens))
    }

    /// The caller's passkeys, oldest first.
    pub async fn list_passkeys(&self, principal: &Principal) -> Result<Vec<Passkey>, CoreError> {
        principal.require(crate::api_key::Scope::ProfileRead)?;
        let owner = self.account(principal).await?;
        Ok(self.deps.passkeys.passkeys_of(owner.id).await?)
    }

    pub async fn rename_passkey(&self, principal: &Principal, id: PasskeyId, name: &str) -> Result<Passkey, CoreError> {
        principal.require_session("API keys cannot manage passkeys")?;
        let owner = self.account(principal).await?;
        let name = parse_name(Some(name)).map_err(CoreError::invalid)?;
        if !self.deps.passkeys.rename_passkey(id, owner.id, &name).await? {
            return Err(CoreError::NotFound("passkey"));
        }
        let found = self.deps.passkeys.passkeys_of(owner.id).await?.into_iter().find(|p| p.id == id);
        found.ok_or(CoreError::NotFound("passkey"))
    }

    /// Removes one of the caller's passkeys, unless it is the account's last way to sign in.
    pub async fn delete_passkey(
        &self,
        principal: &Principal,
        id: PasskeyId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        principal.require_session("API keys cannot manage passkeys")?;
        let owner = self.account(principal).await?;
        let found = self.deps.passkeys.passkeys_of(owner.id).await?.into_iter().find(|p| p.id == id);
        let Some(passkey) = found else { return Err(CoreError::NotFound("passkey")) };
        let mut entry = self.audit_entry(AuditAction::PasskeyRemoved, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("passkey_id".into(), id.to_string().into());
        match self.deps.passkeys.remove_passkey(id, owner.id, &entry).await? {
            Unlinked::Done => {}
            Unlinked::NotFound => return Err(CoreError::NotFound("passkey")),
            Unlinked::LastSignInMethod => {
                return Err(CoreError::Conflict(FieldError::new(
                    "id",
                    "last_sign_in_method",
                    "this is the account's last way to sign in; set a password (through POST /auth/password/forgot) \
                     or add another passkey first",
                )))
            }
        }
        self.tell_about_passkey(&owner, &passkey.name, false, meta).await;
        Ok(())
    }

    async fn tell_about_passkey(&self, owner: &User, name: &str, added: bool, meta: &RequestMeta) {
        let (subject, what) = match added {
            true => ("A passkey was added to your Veza account", "added; it can now sign in to your account"),
            false => ("A passkey was removed from your Veza account", "removed; it can no longer sign in"),
        };
        self.notify(
            owner.email.as_str(),
            subject,
            &[
                format!("Hello {},", owner.username.as_str()),
                format!(
                    "The passkey \"{name}\" was just {what}. This was done from address {}.",
                    meta.ip.as_deref().unwrap_or("unknown")
                ),
                "If this was not you, reset your password at once and check your account's security events."
                    .to_string(),
            ],
        )
        .await;
    }
}

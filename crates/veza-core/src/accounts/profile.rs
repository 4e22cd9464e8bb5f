//! Reading accounts and editing one's own profile.

use crate::api_key::Scope;
use crate::audit::{AuditAction, RequestMeta};
use crate::error::CoreError;
use crate::id::UserId;
use crate::user::{ProfilePatch, User, Username};

use super::{Accounts, Principal};

impl Accounts {
    /// The caller's own account. A disabled account is refused even with a valid access token.
    pub async fn me(&self, principal: &Principal) -> Result<User, CoreError> {
        principal.require(Scope::ProfileRead)?;
        self.account(principal).await
    }

    /// The caller's account, enabled, whatever the credential's scopes.
    pub(super) async fn account(&self, principal: &Principal) -> Result<User, CoreError> {
        let user = self.deps.users.by_id(principal.user_id).await?.ok_or(CoreError::Unauthenticated)?;
        if user.disabled {
            return Err(CoreError::AccountDisabled);
        }
        Ok(user)
    }

    pub async fn update_profile(
        &self,
        principal: &Principal,
        patch: ProfilePatch,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        principal.require(Scope::ProfileWrite)?;
        patch.validate().map_err(CoreError::Validation)?;
        let user = self.account(principal).await?;
        if patch.is_empty() {
            return Ok(user);
        }
        let mut entry = self.audit_entry(AuditAction::ProfileUpdated, Some(user.id), Some(user.id), meta);
        entry.detail.insert("fields".into(), patch.field_names().into());
        self.deps
            .users
            .update_profile(user.id, &patch.normalized(), self.now(), &entry)
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    /// A user's public profile. Disabled accounts are hidden.
    pub async fn user(&self, id: UserId) -> Result<User, CoreError> {
        self.deps.users.by_id(id).await?.filter(|u| !u.disabled).ok_or(CoreError::NotFound("user"))
    }

    pub async fn user_by_username(&self, name: &str) -> Result<User, CoreError> {
        let name = Username::parse(name).map_err(|_| CoreError::NotFound("user"))?;
        self.deps.users.by_username(&name).await?.filter(|u| !u.disabled).ok_or(CoreError::NotFound("user"))
    }
}

impl Accounts {
    /// Whether a credential verified earlier still stands: the account is enabled and its
    /// session (or API key) is neither revoked nor over. Long-lived connections (the gateway)
    /// ask this periodically, since an access token alone stays valid until it expires.
    pub async fn still_signed_in(&self, principal: &Principal) -> Result<(), CoreError> {
        self.account(principal).await?;
        let now = self.now();
        let revoked = || CoreError::InvalidToken(crate::error::TokenProblem::Revoked);
        match &principal.credential {
            super::Credential::Session(id) => {
                let session = self.deps.sessions.session(*id).await?.ok_or_else(revoked)?;
                if session.revoked_at.is_some() || session.is_expired(now) {
                    return Err(revoked());
                }
            }
            super::Credential::ApiKey { id, .. } => {
                let (key, _) = self.deps.api_keys.get(*id).await?.ok_or_else(revoked)?;
                if key.revoked_at.is_some() || key.expires_at.is_some_and(|t| t <= now) {
                    return Err(revoked());
                }
            }
        }
        Ok(())
    }
}

//! One's own sessions: where one is logged in, and ending the ones one does not recognise. From
//! a logged-in session only: an API key cannot see or end sessions.

use crate::audit::{AuditAction, RequestMeta};
use crate::error::CoreError;
use crate::id::SessionId;
use crate::session::{RevokeReason, Session};

use super::{Accounts, Principal, SignedOut};

impl Accounts {
    /// The caller's live sessions, newest first.
    pub async fn list_sessions(&self, principal: &Principal) -> Result<Vec<Session>, CoreError> {
        principal.require_session("API keys cannot list sessions")?;
        let owner = self.account(principal).await?;
        let now = self.now();
        Ok(self.deps.sessions.sessions_of(owner.id).await?.into_iter().filter(|s| !s.is_expired(now)).collect())
    }

    /// Ends one of the caller's sessions (the current one included: that is a logout).
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        id: SessionId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        principal.require_session("API keys cannot end sessions")?;
        let owner = self.account(principal).await?;
        let session = self.deps.sessions.session(id).await?.filter(|s| s.user_id == owner.id && s.revoked_at.is_none());
        let Some(session) = session else { return Err(CoreError::NotFound("session")) };
        let mut entry = self.audit_entry(AuditAction::SessionRevoked, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("session_id".into(), session.id.to_string().into());
        self.deps.sessions.revoke(session.id, RevokeReason::Revoked, self.now(), &entry).await?;
        self.signed_out(owner.id, Some(SignedOut::Session(session.id))).await;
        Ok(())
    }

    /// Ends every session of the caller except the current one; returns how many.
    pub async fn revoke_other_sessions(&self, principal: &Principal, meta: &RequestMeta) -> Result<u64, CoreError> {
        let current = principal.require_session("API keys cannot end sessions")?;
        let owner = self.account(principal).await?;
        let mut entry = self.audit_entry(AuditAction::OtherSessionsRevoked, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("kept_session_id".into(), current.to_string().into());
        let n = self.deps.sessions.revoke_others(owner.id, current, self.now(), &entry).await?;
        self.signed_out(owner.id, Some(SignedOut::Sessions { keep: Some(current) })).await;
        Ok(n)
    }
}

//! Refresh-token rotation and logout. Each refresh consumes the presented token; a consumed token
//! presented again revokes its whole session, which ends every token descended from it.

use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, TokenProblem};
use crate::session::{RevokeReason, Rotation, TokenLookup};

use super::{hash_secret, Accounts, Principal, RefreshSecret, SignedOut, TokenPair};

/// Refresh tokens we issue are 43 characters; anything much longer is not worth hashing.
const REFRESH_TOKEN_MAX: usize = 128;

impl Accounts {
    /// Exchanges a refresh token for a new access token and a new refresh token.
    pub async fn refresh(&self, refresh_token: &str, meta: &RequestMeta) -> Result<TokenPair, CoreError> {
        let TokenLookup { session, consumed } = self.lookup(refresh_token).await?;
        let now = self.now();
        if session.revoked_at.is_some() {
            return Err(CoreError::InvalidToken(TokenProblem::Revoked));
        }
        if consumed {
            self.revoke_for_reuse(session.id, session.user_id, meta).await?;
            return Err(CoreError::InvalidToken(TokenProblem::Reused));
        }
        if session.is_expired(now) {
            return Err(CoreError::InvalidToken(TokenProblem::Expired));
        }
        let user =
            self.deps.users.by_id(session.user_id).await?.ok_or(CoreError::InvalidToken(TokenProblem::Revoked))?;
        if user.disabled {
            return Err(CoreError::AccountDisabled);
        }

        let secret = RefreshSecret::generate();
        let mut entry = self.audit_entry(AuditAction::TokenRefreshed, Some(user.id), Some(user.id), meta);
        entry.detail.insert("session_id".into(), session.id.to_string().into());
        let old_hash = hash_secret(refresh_token);
        match self.deps.sessions.rotate(session.id, &old_hash, &secret.hash, now, &entry).await? {
            Rotation::Rotated => {}
            Rotation::AlreadyConsumed => {
                // Another request consumed the same token between our read and our write: a
                // second use of one token, handled exactly like a replay.
                self.revoke_for_reuse(session.id, session.user_id, meta).await?;
                return Err(CoreError::InvalidToken(TokenProblem::Reused));
            }
            Rotation::SessionRevoked => return Err(CoreError::InvalidToken(TokenProblem::Revoked)),
        }
        let (access_token, access_expires_at) = self.access_token(&user, session.id, now)?;
        let refresh_expires_at = session.expires_at.min(now + crate::session::IDLE_LIFETIME);
        Ok(TokenPair {
            access_token,
            access_expires_at,
            refresh_token: secret.token,
            refresh_expires_at,
            session_id: session.id,
        })
    }

    /// Ends the session the refresh token belongs to. Idempotent: an already-ended session is
    /// not an error, so a client can always log out.
    pub async fn logout(&self, refresh_token: &str, meta: &RequestMeta) -> Result<(), CoreError> {
        let TokenLookup { session, .. } = self.lookup(refresh_token).await?;
        let mut entry = self.audit_entry(AuditAction::Logout, Some(session.user_id), Some(session.user_id), meta);
        entry.detail.insert("session_id".into(), session.id.to_string().into());
        self.deps.sessions.revoke(session.id, RevokeReason::Logout, self.now(), &entry).await?;
        self.signed_out(session.user_id, Some(SignedOut::Session(session.id))).await;
        Ok(())
    }

    /// Ends every session of the caller, this one included.
    pub async fn logout_all(&self, principal: &Principal, meta: &RequestMeta) -> Result<u64, CoreError> {
        let session_id = principal.require_session("API keys cannot end sessions")?;
        let mut entry =
            self.audit_entry(AuditAction::LogoutAll, Some(principal.user_id), Some(principal.user_id), meta);
        entry.detail.insert("session_id".into(), session_id.to_string().into());
        let n = self.deps.sessions.revoke_all(principal.user_id, RevokeReason::LogoutAll, self.now(), &entry).await?;
        self.signed_out(principal.user_id, Some(SignedOut::Sessions { keep: None })).await;
        Ok(n)
    }

    async fn lookup(&self, refresh_token: &str) -> Result<TokenLookup, CoreError> {
        if refresh_token.is_empty() || refresh_token.len() > REFRESH_TOKEN_MAX {
            return Err(CoreError::InvalidToken(TokenProblem::Malformed));
        }
        self.deps
            .sessions
            .lookup_refresh_token(&hash_secret(refresh_token))
            .await?
            .ok_or(CoreError::InvalidToken(TokenProblem::Malformed))
    }

    async fn revoke_for_reuse(
        &self,
        session: crate::id::SessionId,
        user: crate::id::UserId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let mut entry = self.audit_entry(AuditAction::RefreshTokenReuse, None, Some(user), meta);
        entry.detail.insert("session_id".into(), session.to_string().into());
        tracing::warn!(%session, %user, "refresh token reuse detected; session revoked");
        self.deps.sessions.revoke(session, RevokeReason::Reuse, self.now(), &entry).await?;
        self.signed_out(user, Some(SignedOut::Session(session))).await;
        Ok(())
    }
}

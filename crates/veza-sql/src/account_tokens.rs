//! Single-use account tokens and the credential changes they authorize. A redemption is one
//! conditional UPDATE (unconsumed, unexpired, the right purpose and owner) followed, only when it
//! matched a row, by the change, in one transaction: two concurrent redemptions cannot both win.

use async_trait::async_trait;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use veza_core::account_token::{
    AccountToken, CooldownKey, CredentialChange, EndSessions, NewAccountToken, SpentCode, TokenPurpose,
};
use veza_core::audit::AuditEntry;
use veza_core::id::{SessionId, UserId};
use veza_core::ports::{AccountTokenRepo, MailOf, StoreError, StoreResult};

use crate::audit::commit_with_audit;
use crate::error::store_error;
use crate::mail::insert_mail;
use crate::rows::{from_micros, to_micros};
use crate::sessions::{revoke_sessions, Revoke};
use crate::Database;

#[derive(sqlx::FromRow)]
struct TokenRow {
    purpose: String,
    user_id: i64,
    email: Option<String>,
    session_id: Option<i64>,
    nonce_hash: Option<String>,
    first_factor: Option<String>,
    requested_from: Option<String>,
    created_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
}

impl TryFrom<TokenRow> for AccountToken {
    type Error = StoreError;

    fn try_from(r: TokenRow) -> StoreResult<Self> {
        Ok(AccountToken {
            purpose: TokenPurpose::parse(&r.purpose)
                .ok_or_else(|| StoreError::Other(format!("corrupt token purpose in database: {}", r.purpose)))?,
            user_id: UserId(r.user_id),
            email: r.email,
            session_id: r.session_id.map(SessionId),
            nonce_hash: r.nonce_hash,
            first_factor: r.first_factor,
            requested_from: r.requested_from,
            created_at: from_micros(r.created_at)?,
            expires_at: from_micros(r.expires_at)?,
            consumed_at: r.consumed_at.map(from_micros).transpose()?,
        })
    }
}

/// Marks the user's live tokens of `purpose` consumed: they can no longer be redeemed.
async fn void_tokens(conn: &mut AnyConnection, user: UserId, purpose: TokenPurpose, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE account_tokens SET consumed_at = $1 WHERE user_id = $2 AND purpose = $3 AND consumed_at IS NULL",
    )
    .bind(now)
    .bind(user.0)
    .bind(purpose.as_str())
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Applies a credential change inside the caller's transaction; false when the user is unknown.
pub(crate) async fn apply_credentials(
    conn: &mut AnyConnection,
    user: UserId,
    change: &CredentialChange,
    now: i64,
) -> StoreResult<bool> {
    let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
    if found.is_none() {
        return Ok(false);
    }
    let spent = match &change.spend {
        None => true,
        Some(SpentCode::TotpStep(step)) => crate::second_factors::spend_totp_step(conn, user, *step).await?,
        Some(SpentCode::RecoveryCode(hash)) => {
            crate::second_factors::spend_recovery_code(conn, user, hash, now).await?
        }
    };
    if !spent {
        return Ok(false);
    }
    if let Some(email) = &change.verified_email {
        sqlx::query(
            "UPDATE users SET email = $1, email_normalized = $2, email_verified_at = $3, updated_at = $3 WHERE id = $4",
        )
        .bind(email.as_str())
        .bind(email.normalized())
        .bind(now)
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    if let Some(hash) = &change.password_hash {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(user.0)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    for purpose in change.void_tokens {
        void_tokens(conn, user, *purpose, now).await?;
    }
    let scope = match change.end_sessions {
        EndSessions::None => None,
        EndSessions::All => Some(Revoke::AllOf(user)),
        EndSessions::AllBut(keep) => Some(Revoke::AllOfExcept(user, keep)),
    };
    if let Some(scope) = scope {
        revoke_sessions(conn, scope, change.reason, now).await?;
    }
    Ok(true)
}

impl Database {
    pub(crate) async fn redeem(
        &self,
        user: UserId,
        hash: &str,
        purpose: TokenPurpose,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        let now = to_micros(now);
        let mut tx = self.begin().await.map_err(store_error)?;
        let consumed = sqlx::query(
            "UPDATE account_tokens SET consumed_at = $1 \
             WHERE token_hash = $2 AND purpose = $3 AND user_id = $4 AND consumed_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(hash)
        .bind(purpose.as_str())
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if consumed.rows_affected() == 0 || !apply_credentials(&mut tx, user, change, now).await? {
            return Ok(false);
        }
        commit_with_audit(tx, audit).await?;
        Ok(true)
    }
}

#[async_trait]
impl AccountTokenRepo for Database {
    async fn issue(&self, token: &NewAccountToken, mail: Option<MailOf<'_>>, audit: &[AuditEntry]) -> StoreResult<()> {
        let t = &token.token;
        let mut tx = self.begin().await.map_err(store_error)?;
        if t.purpose.supersedes() {
            void_tokens(&mut tx, t.user_id, t.purpose, to_micros(t.created_at)).await?;
        }
        sqlx::query(
            "INSERT INTO account_tokens \
             (token_hash, purpose, user_id, email, session_id, nonce_hash, first_factor, requested_from, \
              created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&token.hash)
        .bind(t.purpose.as_str())
        .bind(t.user_id.0)
        .bind(t.email.as_deref())
        .bind(t.session_id.map(|s| s.0))
        .bind(t.nonce_hash.as_deref())
        .bind(t.first_factor.as_deref())
        .bind(t.requested_from.as_deref())
        .bind(to_micros(t.created_at))
        .bind(to_micros(t.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if let Some(m) = mail {
            insert_mail(&mut tx, m.id, m.mail, t.created_at).await?;
        }
        commit_with_audit(tx, audit).await?;
        Ok(())
    }

    async fn find(&self, hash: &str) -> StoreResult<Option<AccountToken>> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT purpose, user_id, email, session_id, nonce_hash, first_factor, requested_from, created_at, expires_at, \
             consumed_at \
             FROM account_tokens WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(AccountToken::try_from).transpose()
    }

    async fn purge_expired(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let purged = sqlx::query("DELETE FROM account_tokens WHERE expires_at < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(purged.rows_affected())
    }

    async fn last_issued(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        key: CooldownKey<'_>,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let base = "SELECT MAX(created_at) FROM account_tokens WHERE user_id = $1 AND purpose = $2";
        let (condition, value) = match key {
            CooldownKey::Any => ("", None),
            CooldownKey::Address(email) => (" AND lower(email) = $3", Some(email)),
            CooldownKey::RequestedFrom(ip) => (" AND requested_from = $3", Some(ip)),
        };
        let sql = format!("{base}{condition}");
        let mut query = sqlx::query_as(&sql).bind(user.0).bind(purpose.as_str());
        if let Some(value) = value {
            query = query.bind(value);
        }
        let (last,): (Option<i64>,) = query.fetch_one(&self.pool).await.map_err(store_error)?;
        last.map(from_micros).transpose()
    }
}

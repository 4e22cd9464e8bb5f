//! TOTP authenticators and recovery codes. Accepting a TOTP step is one conditional UPDATE
//! (`last_step < step`), so of two requests racing with the same code exactly one wins.

use async_trait::async_trait;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use veza_core::account_token::CredentialChange;
use veza_core::audit::AuditEntry;
use veza_core::id::UserId;
use veza_core::ports::{SecondFactorRepo, StoreResult, TotpEnabling, TotpRecord};

use crate::account_tokens::apply_credentials;
use crate::audit::commit_with_audit;
use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

async fn set_recovery_codes(conn: &mut AnyConnection, user: UserId, hashes: &[String], now: i64) -> StoreResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user.0)
            .bind(hash)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// Accepts a TOTP step inside the caller's transaction: only one later than every accepted one.
pub(crate) async fn spend_totp_step(conn: &mut AnyConnection, user: UserId, step: i64) -> StoreResult<bool> {
    let accepted = sqlx::query(
        "UPDATE totp_authenticators SET last_step = $1 WHERE user_id = $2 AND enabled_at IS NOT NULL AND last_step < $1",
    )
    .bind(step)
    .bind(user.0)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(accepted.rows_affected() == 1)
}

/// Spends an unused recovery code inside the caller's transaction.
pub(crate) async fn spend_recovery_code(
    conn: &mut AnyConnection,
    user: UserId,
    hash: &str,
    now: i64,
) -> StoreResult<bool> {
    let spent =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(now)
            .bind(user.0)
            .bind(hash)
            .execute(conn)
            .await
            .map_err(store_error)?;
    Ok(spent.rows_affected() == 1)
}

#[async_trait]
impl SecondFactorRepo for Database {
    async fn totp(&self, user: UserId) -> StoreResult<Option<TotpRecord>> {
        let row: Option<(String, i64, Option<i64>, i64)> = sqlx::query_as(
            "SELECT sealed_secret, created_at, enabled_at, last_step FROM totp_authenticators WHERE user_id = $1",
        )
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(|(sealed_secret, created_at, enabled_at, last_step)| {
            Ok(TotpRecord {
                sealed_secret,
                created_at: from_micros(created_at)?,
                enabled_at: enabled_at.map(from_micros).transpose()?,
                last_step,
            })
        })
        .transpose()
    }

    async fn set_pending_totp(&self, user: UserId, sealed_secret: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO totp_authenticators (user_id, sealed_secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
             created_at = excluded.created_at, last_step = 0 WHERE totp_authenticators.enabled_at IS NULL",
        )
        .bind(user.0)
        .bind(sealed_secret)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn enable_totp(
        &self,
        user: UserId,
        enabling: &TotpEnabling<'_>,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        let now = to_micros(now);
        let mut tx = self.begin().await.map_err(store_error)?;
        let enabled = sqlx::query(
            "UPDATE totp_authenticators SET enabled_at = $1, last_step = $2 \
             WHERE user_id = $3 AND enabled_at IS NULL AND sealed_secret = $4",
        )
        .bind(now)
        .bind(enabling.step)
        .bind(user.0)
        .bind(enabling.sealed_secret)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if enabled.rows_affected() == 0 {
            return Ok(false);
        }
        set_recovery_codes(&mut tx, user, enabling.recovery_hashes, now).await?;
        if !apply_credentials(&mut tx, user, change, now).await? {
            return Ok(false);
        }
        commit_with_audit(tx, audit).await?;
        Ok(true)
    }

    async fn disable_totp(
        &self,
        user: UserId,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        let now = to_micros(now);
        let mut tx = self.begin().await.map_err(store_error)?;
        let removed = sqlx::query("DELETE FROM totp_authenticators WHERE user_id = $1 AND enabled_at IS NOT NULL")
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        set_recovery_codes(&mut tx, user, &[], now).await?;
        if !apply_credentials(&mut tx, user, change, now).await? {
            return Ok(false);
        }
        commit_with_audit(tx, audit).await?;
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        spend_totp_step(&mut conn, user, step).await
    }

    async fn has_recovery_code(&self, user: UserId, hash: &str) -> StoreResult<bool> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user.0)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(found.is_some())
    }

    async fn use_recovery_code(&self, user: UserId, hash: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        spend_recovery_code(&mut conn, user, hash, to_micros(now)).await
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[String],
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        set_recovery_codes(&mut tx, user, hashes, to_micros(now)).await?;
        commit_with_audit(tx, audit).await?;
        Ok(())
    }

    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u32> {
        let (left,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(user.0)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(u32::try_from(left).unwrap_or(0))
    }
}

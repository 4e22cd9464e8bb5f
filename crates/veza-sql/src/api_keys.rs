//! API keys: stored with the SHA-256 of their secret, revoked rather than deleted (the audit log
//! refers to them), their last use recorded.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::api_key::{scopes_to_text, ApiKey, NewApiKey};
use veza_core::audit::AuditEntry;
use veza_core::id::{ApiKeyId, UserId};
use veza_core::ports::{ApiKeyRepo, StoreResult};

use crate::audit::{commit_if_changed, insert_audit};
use crate::error::store_error;
use crate::rows::{to_micros, ApiKeyRow, API_KEY_COLUMNS};
use crate::Database;

#[async_trait]
impl ApiKeyRepo for Database {
    async fn create(&self, new: &NewApiKey, audit: &AuditEntry) -> StoreResult<()> {
        let k = &new.key;
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, scopes, secret_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(k.id.0)
        .bind(k.user_id.0)
        .bind(&k.name)
        .bind(scopes_to_text(&k.scopes))
        .bind(&new.secret_hash)
        .bind(to_micros(k.created_at))
        .bind(k.expires_at.map(to_micros))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn for_user(&self, user: UserId) -> StoreResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC"
        );
        let rows =
            sqlx::query_as::<_, ApiKeyRow>(&sql).bind(user.0).fetch_all(&self.pool).await.map_err(store_error)?;
        rows.into_iter().map(|r| r.into_key().map(|(k, _)| k)).collect()
    }

    async fn get(&self, id: ApiKeyId) -> StoreResult<Option<(ApiKey, String)>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row =
            sqlx::query_as::<_, ApiKeyRow>(&sql).bind(id.0).fetch_optional(&self.pool).await.map_err(store_error)?;
        row.map(ApiKeyRow::into_key).transpose()
    }

    async fn revoke(&self, id: ApiKeyId, user: UserId, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(to_micros(now))
                .bind(id.0)
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        commit_if_changed(tx, done.rows_affected() > 0, audit).await
    }

    async fn record_use(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        ip: Option<&str>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query("UPDATE api_keys SET last_used_at = $1, last_used_ip = $2 WHERE id = $3")
            .bind(to_micros(now))
            .bind(ip)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if let Some(entry) = audit {
            insert_audit(&mut tx, entry).await?;
        }
        tx.commit().await.map_err(store_error)
    }
}

//! External identities linked to accounts. The UNIQUE (provider, subject) constraint is what
//! keeps one provider account from being linked to two Veza accounts, even under races.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::audit::AuditEntry;
use veza_core::id::{IdentityId, UserId};
use veza_core::identity::{Identity, Provider};
use veza_core::ports::{IdentityRepo, StoreError, StoreResult, Unlinked};
use veza_core::user::NewUser;

use crate::audit::{commit_with_audit, insert_audit};
use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

const COLUMNS: &str = "id, user_id, provider, subject, email, created_at, last_used_at";

#[derive(sqlx::FromRow)]
struct IdentityRow {
    id: i64,
    user_id: i64,
    provider: String,
    subject: String,
    email: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl TryFrom<IdentityRow> for Identity {
    type Error = StoreError;

    fn try_from(r: IdentityRow) -> StoreResult<Self> {
        Ok(Identity {
            id: IdentityId(r.id),
            user_id: UserId(r.user_id),
            provider: Provider::parse(&r.provider)
                .ok_or_else(|| StoreError::Other(format!("corrupt identity provider in database: {}", r.provider)))?,
            subject: r.subject,
            email: r.email,
            created_at: from_micros(r.created_at)?,
            last_used_at: r.last_used_at.map(from_micros).transpose()?,
        })
    }
}

/// Holds the account's row until the commit (writing it takes a row lock on PostgreSQL; on
/// SQLite the transaction holds the write lock from its start), so concurrent removals of its sign-in methods take turns and each sees
/// what the others left; then counts its ways to sign in other than the identity or passkey
/// being removed. `None` when the account does not exist.
pub(crate) async fn hold_and_count_ways_in(
    conn: &mut sqlx::AnyConnection,
    user: UserId,
    identity: Option<i64>,
    passkey: Option<i64>,
) -> StoreResult<Option<i64>> {
    let held = sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    if held.rows_affected() == 0 {
        return Ok(None);
    }
    let (ways,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM identities WHERE user_id = $1 AND id <> $2) \
              + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND id <> $3) \
              + (SELECT COUNT(*) FROM users WHERE id = $1 AND password_hash <> '')",
    )
    .bind(user.0)
    .bind(identity.unwrap_or(0))
    .bind(passkey.unwrap_or(0))
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(Some(ways))
}

async fn insert_identity(conn: &mut sqlx::AnyConnection, identity: &Identity) -> StoreResult<()> {
    sqlx::query(&format!("INSERT INTO identities ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
        .bind(identity.id.0)
        .bind(identity.user_id.0)
        .bind(identity.provider.as_str())
        .bind(&identity.subject)
        .bind(identity.email.as_deref())
        .bind(to_micros(identity.created_at))
        .bind(identity.last_used_at.map(to_micros))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl IdentityRepo for Database {
    async fn link(&self, identity: &Identity, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        insert_identity(&mut tx, identity).await?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn create_with_identity(&self, user: &NewUser, identity: &Identity, audit: &[AuditEntry]) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        crate::users::insert_user(&mut tx, user).await?;
        insert_identity(&mut tx, identity).await?;
        commit_with_audit(tx, audit).await
    }

    async fn find_identity(&self, provider: Provider, subject: &str) -> StoreResult<Option<Identity>> {
        let row: Option<IdentityRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM identities WHERE provider = $1 AND subject = $2"))
                .bind(provider.as_str())
                .bind(subject)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        row.map(Identity::try_from).transpose()
    }

    async fn identities_of(&self, user: UserId) -> StoreResult<Vec<Identity>> {
        let rows: Vec<IdentityRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM identities WHERE user_id = $1 ORDER BY id"))
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        rows.into_iter().map(Identity::try_from).collect()
    }

    async fn unlink(&self, id: IdentityId, user: UserId, audit: &AuditEntry) -> StoreResult<Unlinked> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let Some(other_ways) = hold_and_count_ways_in(&mut tx, user, Some(id.0), None).await? else {
            return Ok(Unlinked::NotFound);
        };
        let exists = sqlx::query("SELECT id FROM identities WHERE id = $1 AND user_id = $2")
            .bind(id.0)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        if exists.is_none() {
            return Ok(Unlinked::NotFound);
        }
        if other_ways == 0 {
            return Ok(Unlinked::LastSignInMethod);
        }
        sqlx::query("DELETE FROM identities WHERE id = $1").bind(id.0).execute(&mut *tx).await.map_err(store_error)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Unlinked::Done)
    }

    async fn identity_used(&self, id: IdentityId, now: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE identities SET last_used_at = $1 WHERE id = $2")
            .bind(to_micros(now))
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

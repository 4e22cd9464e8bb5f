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

/// A way to sign in that can be removed: an identity or a passkey, by id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WayIn {
    Identity(i64),
    Passkey(i64),
}

impl Database {
    /// Removes one of `user`'s ways to sign in, with its audit entry, unless it is the last
    /// one (no password, no other identity, no other passkey). The transaction first writes the
    /// account's row, which holds it until the commit (a row lock on PostgreSQL; on SQLite the
    /// transaction holds the write lock from its start), so concurrent removals take turns and
    /// each sees what the others left.
    pub(crate) async fn remove_way_in(&self, user: UserId, way: WayIn, audit: &AuditEntry) -> StoreResult<Unlinked> {
        let (table, id, identity, passkey) = match way {
            WayIn::Identity(id) => ("identities", id, id, 0),
            WayIn::Passkey(id) => ("passkeys", id, 0, id),
        };
        let mut tx = self.begin().await.map_err(store_error)?;
        let held = sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let exists = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1 AND user_id = $2"))
            .bind(id)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        if held.rows_affected() == 0 || exists.is_none() {
            return Ok(Unlinked::NotFound);
        }
        let (other_ways,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM identities WHERE user_id = $1 AND id <> $2) \
                  + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND id <> $3) \
                  + (SELECT COUNT(*) FROM users WHERE id = $1 AND password_hash <> '')",
        )
        .bind(user.0)
        .bind(identity)
        .bind(passkey)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if other_ways == 0 {
            return Ok(Unlinked::LastSignInMethod);
        }
        sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Unlinked::Done)
    }
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
        self.remove_way_in(user, WayIn::Identity(id.0), audit).await
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

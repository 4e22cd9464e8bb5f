//! Sessions and their refresh tokens. Rotation is a compare-and-set on `consumed_at IS NULL`,
//! so of two concurrent refreshes with one token exactly one wins.

use async_trait::async_trait;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use veza_core::audit::AuditEntry;
use veza_core::id::{SessionId, UserId};
use veza_core::ports::{SessionRepo, StoreResult};
use veza_core::session::{NewSession, RevokeReason, Rotation, Session, TokenLookup};

use crate::audit::insert_audit;
use crate::error::store_error;
use crate::rows::{to_micros, SessionRow, SESSION_COLUMNS};
use crate::Database;

pub(crate) async fn insert_session(conn: &mut AnyConnection, s: &NewSession) -> StoreResult<()> {
    let created = to_micros(s.created_at);
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.id.0)
    .bind(s.user_id.0)
    .bind(created)
    .bind(created)
    .bind(to_micros(s.expires_at()))
    .bind(s.user_agent.as_deref())
    .bind(s.ip.as_deref())
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    insert_token(conn, &s.token_hash, s.id, created).await
}

async fn insert_token(conn: &mut AnyConnection, hash: &str, session: SessionId, created: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)")
        .bind(hash)
        .bind(session.0)
        .bind(created)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Which live sessions a revocation ends.
pub(crate) enum Revoke {
    One(SessionId),
    AllOf(UserId),
    AllOfExcept(UserId, SessionId),
}

/// Ends the live sessions in `scope` inside the caller's transaction; returns how many. The one
/// statement every way of ending sessions goes through (logout, logout-all, disabling, replay).
pub(crate) async fn revoke_sessions(
    conn: &mut AnyConnection,
    scope: Revoke,
    reason: RevokeReason,
    now: i64,
) -> StoreResult<u64> {
    let (condition, a, b) = match scope {
        Revoke::One(id) => ("id = $3", id.0, None),
        Revoke::AllOf(user) => ("user_id = $3", user.0, None),
        Revoke::AllOfExcept(user, keep) => ("user_id = $3 AND id <> $4", user.0, Some(keep.0)),
    };
    let sql =
        format!("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE {condition} AND revoked_at IS NULL");
    let mut query = sqlx::query(&sql).bind(now).bind(reason.as_str()).bind(a);
    if let Some(b) = b {
        query = query.bind(b);
    }
    Ok(query.execute(conn).await.map_err(store_error)?.rows_affected())
}

#[derive(sqlx::FromRow)]
struct LookupRow {
    #[sqlx(flatten)]
    session: SessionRow,
    consumed_at: Option<i64>,
}

#[async_trait]
impl SessionRepo for Database {
    async fn create(&self, session: &NewSession, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        insert_session(&mut tx, session).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn revoke_others(
        &self,
        user: UserId,
        keep: SessionId,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64> {
        self.revoke_audited(Revoke::AllOfExcept(user, keep), RevokeReason::Revoked, now, audit).await
    }

    async fn sessions_of(&self, user: UserId) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL ORDER BY s.id DESC"
        );
        let rows =
            sqlx::query_as::<_, SessionRow>(&sql).bind(user.0).fetch_all(&self.pool).await.map_err(store_error)?;
        rows.into_iter().map(Session::try_from).collect()
    }

    async fn known_device(&self, user: UserId, user_agent: Option<&str>) -> StoreResult<bool> {
        // `$3` says "without a user agent": NULL never equals NULL in SQL.
        let row = sqlx::query(
            "SELECT 1 AS known FROM sessions WHERE user_id = $1 \
             AND (user_agent = $2 OR ($3 = 1 AND user_agent IS NULL)) LIMIT 1",
        )
        .bind(user.0)
        .bind(user_agent)
        .bind(i64::from(user_agent.is_none()))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(row.is_some())
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = $1");
        let row =
            sqlx::query_as::<_, SessionRow>(&sql).bind(id.0).fetch_optional(&self.pool).await.map_err(store_error)?;
        row.map(Session::try_from).transpose()
    }

    async fn lookup_refresh_token(&self, token_hash: &str) -> StoreResult<Option<TokenLookup>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, t.consumed_at FROM refresh_tokens t \
             JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1"
        );
        let row = sqlx::query_as::<_, LookupRow>(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|r| Ok(TokenLookup { consumed: r.consumed_at.is_some(), session: Session::try_from(r.session)? }))
            .transpose()
    }

    async fn rotate(
        &self,
        session: SessionId,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Rotation> {
        let now = to_micros(now);
        let mut tx = self.begin().await.map_err(store_error)?;
        // The session row first: it takes SQLite's write lock at once (waiting out the busy
        // timeout rather than failing to upgrade a read transaction later) and, on PostgreSQL,
        // locks the row against a concurrent revocation, which then either waits for us or has
        // already won.
        let live = sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(session.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if live.rows_affected() != 1 {
            return Ok(Rotation::SessionRevoked); // dropping `tx` rolls back
        }
        let consumed = sqlx::query(
            "UPDATE refresh_tokens SET consumed_at = $1 WHERE token_hash = $2 AND session_id = $3 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(old_hash)
        .bind(session.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if consumed.rows_affected() != 1 {
            return Ok(Rotation::AlreadyConsumed);
        }
        insert_token(&mut tx, new_hash, session, now).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Rotation::Rotated)
    }

    async fn revoke(
        &self,
        session: SessionId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        Ok(self.revoke_audited(Revoke::One(session), reason, now, audit).await? > 0)
    }

    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64> {
        self.revoke_audited(Revoke::AllOf(user), reason, now, audit).await
    }
}

impl Database {
    /// A revocation and its audit entry, in one transaction.
    async fn revoke_audited(
        &self,
        scope: Revoke,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let n = revoke_sessions(&mut tx, scope, reason, to_micros(now)).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(n)
    }
}

//! The audit log: appended inside the transaction of the action it records, and read with
//! optional filters, newest first.

use async_trait::async_trait;
use sqlx::AnyConnection;
use veza_core::audit::{AuditEntry, AuditQuery};
use veza_core::ports::{AuditRepo, StoreResult};

use crate::error::store_error;
use crate::filter::{Filter, Param};
use crate::rows::{to_micros, AuditRow, AUDIT_COLUMNS};
use crate::Database;

/// Appends the entries to the transaction that made the change they record, and commits both.
pub(crate) async fn commit_with_audit(mut tx: crate::WriteTx, audit: &[AuditEntry]) -> StoreResult<()> {
    for entry in audit {
        insert_audit(&mut tx, entry).await?;
    }
    tx.commit().await.map_err(store_error)
}

/// Commits the change with its audit entry when it touched something (`changed`); otherwise
/// rolls back at once (releasing SQLite's write lock now, not when the connection is next
/// used) and records nothing. Returns `changed`.
pub(crate) async fn commit_if_changed(mut tx: crate::WriteTx, changed: bool, audit: &AuditEntry) -> StoreResult<bool> {
    if !changed {
        tx.rollback().await.map_err(store_error)?;
        return Ok(false);
    }
    insert_audit(&mut tx, audit).await?;
    tx.commit().await.map_err(store_error)?;
    Ok(true)
}

pub(crate) async fn insert_audit(conn: &mut AnyConnection, e: &AuditEntry) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, action, actor_id, target_id, ip, user_agent, request_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.id.0)
    .bind(e.action.as_str())
    .bind(e.actor.map(|u| u.0))
    .bind(e.target.map(|u| u.0))
    .bind(e.ip.as_deref())
    .bind(e.user_agent.as_deref())
    .bind(e.request_id.as_deref())
    .bind(serde_json::Value::Object(e.detail.clone()).to_string())
    .bind(to_micros(e.created_at))
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl AuditRepo for Database {
    async fn append(&self, entry: &AuditEntry) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        insert_audit(&mut conn, entry).await
    }

    async fn list(&self, q: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        let mut f = Filter::default();
        if let Some(actor) = q.actor {
            f.add("actor_id = ?", [Param::Int(actor.0)]);
        }
        if let Some(user) = q.involving {
            f.add("(actor_id = ? OR target_id = ?)", [Param::Int(user.0), Param::Int(user.0)]);
        }
        if let Some(action) = q.action {
            f.add("action = ?", [Param::Text(action.as_str().to_string())]);
        }
        if let Some(since) = q.since {
            f.add("created_at >= ?", [Param::Int(to_micros(since))]);
        }
        if let Some(until) = q.until {
            f.add("created_at < ?", [Param::Int(to_micros(until))]);
        }
        if let Some(before) = q.page.before {
            f.add("id < ?", [Param::Int(before)]);
        }
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log {} ORDER BY id DESC LIMIT {}",
            f.where_clause(),
            i64::from(q.page.limit) + 1
        );
        let mut query = sqlx::query_as::<_, AuditRow>(&sql);
        for p in f.params {
            query = p.bind(query);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}

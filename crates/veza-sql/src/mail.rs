//! The outgoing mail queue. A claim is one conditional UPDATE: on PostgreSQL a second worker
//! racing for the same row waits for the first, re-reads it, finds it leased and claims nothing;
//! SQLite has a single writer. Either way a message is held by at most one worker at a time.

use async_trait::async_trait;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use veza_core::mail::{MailQueue, OutgoingMail, QueuedMail};
use veza_core::ports::StoreResult;

use crate::error::store_error;
use crate::rows::to_micros;
use crate::Database;

/// Longest error text kept for a failed delivery.
const ERROR_MAX: usize = 1000;

/// Queues a message inside the caller's transaction (or on a plain connection).
pub(crate) async fn insert_mail(
    conn: &mut AnyConnection,
    id: i64,
    mail: &OutgoingMail,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO mail_queue (id, recipient, subject, text_body, html_body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id)
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(to_micros(now))
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl MailQueue for Database {
    async fn enqueue(&self, id: i64, mail: &OutgoingMail, now: OffsetDateTime) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        insert_mail(&mut conn, id, mail, now).await
    }

    async fn claim(&self, now: OffsetDateTime, lease_until: OffsetDateTime) -> StoreResult<Option<QueuedMail>> {
        let free = "sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
                    AND (lease_until IS NULL OR lease_until < $2)";
        let row = sqlx::query(&format!(
            "UPDATE mail_queue SET lease_until = $1, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM mail_queue WHERE {free} ORDER BY next_attempt_at, id LIMIT 1) AND {free} \
             RETURNING id, recipient, subject, text_body, html_body, CAST(attempts AS BIGINT) AS attempts"
        ))
        .bind(to_micros(lease_until))
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(|r| {
            Ok(QueuedMail {
                id: r.try_get("id").map_err(store_error)?,
                mail: OutgoingMail {
                    to: r.try_get("recipient").map_err(store_error)?,
                    subject: r.try_get("subject").map_err(store_error)?,
                    text: r.try_get("text_body").map_err(store_error)?,
                    html: r.try_get("html_body").map_err(store_error)?,
                },
                attempts: u32::try_from(r.try_get::<i64, _>("attempts").map_err(store_error)?).unwrap_or(0),
            })
        })
        .transpose()
    }

    async fn delivered(&self, id: i64, now: OffsetDateTime) -> StoreResult<()> {
        // The bodies go: they may carry live links, which must not sit in the database.
        sqlx::query(
            "UPDATE mail_queue SET sent_at = $2, lease_until = NULL, last_error = NULL, text_body = '', html_body = '' \
             WHERE id = $1",
        )
            .bind(id)
            .bind(to_micros(now))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn purge_finished(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let purged = sqlx::query("DELETE FROM mail_queue WHERE sent_at < $1 OR failed_at < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(purged.rows_affected())
    }

    async fn failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(ERROR_MAX).collect();
        let query = match retry_at {
            Some(_) => "UPDATE mail_queue SET next_attempt_at = $3, lease_until = NULL, last_error = $2 WHERE id = $1",
            None => {
                "UPDATE mail_queue SET failed_at = $3, lease_until = NULL, last_error = $2, text_body = '', \
                 html_body = '' WHERE id = $1"
            }
        };
        sqlx::query(query)
            .bind(id)
            .bind(error)
            .bind(to_micros(retry_at.unwrap_or(now)))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

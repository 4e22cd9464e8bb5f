//! Timed comments. Posting and deleting take the track's row first (moving its count), so every
//! change to one track's comments takes its turn: a reply cannot land beside the deletion of
//! the comment it answers, and closing a track to comments holds against a post under way.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::id::{CommentId, TrackId, UserId};
use veza_core::ports::{CommentRepo, StoreResult};
use veza_core::social::comments::{Comment, CommentCursor, CommentOrder, CommentPosted};

use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

const COMMENT: &str = "id, track_id, author_id, reply_to, body, at_ms, created_at, edited_at";

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: i64,
    track_id: i64,
    author_id: i64,
    reply_to: Option<i64>,
    body: String,
    at_ms: i64,
    created_at: i64,
    edited_at: Option<i64>,
}

impl CommentRow {
    fn into_comment(self) -> StoreResult<Comment> {
        Ok(Comment {
            id: CommentId(self.id),
            track_id: TrackId(self.track_id),
            author_id: UserId(self.author_id),
            reply_to: self.reply_to.map(CommentId),
            body: self.body,
            at_ms: u64::try_from(self.at_ms).unwrap_or(0),
            created_at: from_micros(self.created_at)?,
            edited_at: self.edited_at.map(from_micros).transpose()?,
        })
    }
}

#[async_trait]
impl CommentRepo for Database {
    async fn post_comment(&self, c: &Comment) -> StoreResult<CommentPosted> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let counted =
            sqlx::query("UPDATE tracks SET comment_count = comment_count + 1 WHERE id = $1 AND comments_closed = 0")
                .bind(c.track_id.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        if counted.rows_affected() == 0 {
            let track: Option<(i64,)> = sqlx::query_as("SELECT id FROM tracks WHERE id = $1")
                .bind(c.track_id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
            tx.rollback().await.map_err(store_error)?;
            return Ok(if track.is_some() { CommentPosted::Closed } else { CommentPosted::TrackGone });
        }
        if let Some(parent) = c.reply_to {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM comments WHERE id = $1 AND track_id = $2 AND reply_to IS NULL")
                    .bind(parent.0)
                    .bind(c.track_id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(store_error)?;
            if found.is_none() {
                tx.rollback().await.map_err(store_error)?;
                return Ok(CommentPosted::ParentGone);
            }
        }
        sqlx::query(&format!("INSERT INTO comments ({COMMENT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(c.id.0)
            .bind(c.track_id.0)
            .bind(c.author_id.0)
            .bind(c.reply_to.map(|r| r.0))
            .bind(&c.body)
            .bind(i64::try_from(c.at_ms).unwrap_or(i64::MAX))
            .bind(to_micros(c.created_at))
            .bind(c.edited_at.map(to_micros))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(CommentPosted::Posted)
    }

    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        let row: Option<CommentRow> = sqlx::query_as(&format!("SELECT {COMMENT} FROM comments WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(CommentRow::into_comment).transpose()
    }

    async fn comments(&self, track: TrackId, cursor: CommentCursor, limit: u32) -> StoreResult<Vec<Comment>> {
        let (timeline, at, id) = match cursor {
            CommentCursor::Start(CommentOrder::Timeline) => (true, -1, 0),
            CommentCursor::Start(CommentOrder::Newest) => (false, 0, i64::MAX),
            CommentCursor::After { at_ms, id } => (true, i64::try_from(at_ms).unwrap_or(i64::MAX), id),
            CommentCursor::Before(id) => (false, 0, id),
        };
        let sql = if timeline {
            format!(
                "SELECT {COMMENT} FROM comments WHERE track_id = $1 AND (at_ms > $2 OR (at_ms = $2 AND id > $3)) \
                 ORDER BY at_ms, id LIMIT $4"
            )
        } else {
            format!(
                "SELECT {COMMENT} FROM comments WHERE track_id = $1 AND $2 = 0 AND id < $3 ORDER BY id DESC LIMIT $4"
            )
        };
        let rows: Vec<CommentRow> = sqlx::query_as(&sql)
            .bind(track.0)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.into_iter().map(CommentRow::into_comment).collect()
    }

    async fn edit_comment(&self, id: CommentId, body: &str, at: OffsetDateTime) -> StoreResult<Option<Comment>> {
        let _turn = self.write_turn().await;
        let row: Option<CommentRow> =
            sqlx::query_as(&format!("UPDATE comments SET body = $2, edited_at = $3 WHERE id = $1 RETURNING {COMMENT}"))
                .bind(id.0)
                .bind(body)
                .bind(to_micros(at))
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        row.map(CommentRow::into_comment).transpose()
    }

    async fn delete_comment(&self, id: CommentId) -> StoreResult<u64> {
        let track: Option<(i64,)> = sqlx::query_as("SELECT track_id FROM comments WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        let Some((track,)) = track else { return Ok(0) };
        let mut tx = self.begin().await.map_err(store_error)?;
        // The track's row first, as a post takes it: no reply can be added while this runs.
        sqlx::query("UPDATE tracks SET comment_count = comment_count WHERE id = $1")
            .bind(track)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        // Replies first: a cascade's deletions are not counted (SQLite's `changes()`).
        let mut gone = 0;
        for sql in ["DELETE FROM comments WHERE reply_to = $1", "DELETE FROM comments WHERE id = $1"] {
            gone += sqlx::query(sql).bind(id.0).execute(&mut *tx).await.map_err(store_error)?.rows_affected();
        }
        sqlx::query("UPDATE tracks SET comment_count = comment_count - $2 WHERE id = $1")
            .bind(track)
            .bind(i64::try_from(gone).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(gone)
    }
}

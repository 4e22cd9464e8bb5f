//! Messages, their mentions and edit history. History pages are by id (snowflakes are
//! time-ordered), so a page never shifts when messages arrive meanwhile.

use async_trait::async_trait;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use veza_core::chat::attachment::Attachment;
use veza_core::chat::message::{HistoryCursor, Mentions, Message, MessageEdit, Pin, Posted, ReactionCount, ReadState};
use veza_core::id::{AttachmentId, ChannelId, CommunityId, MessageId, RoleId, UserId};
use veza_core::ports::{MessageRepo, Purged, Reacted, StoreError, StoreResult};

use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

const MESSAGE: &str =
    "id, channel_id, author_id, content, nonce, reply_to, mention_everyone, created_at, edited_at, deleted_at";

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    channel_id: i64,
    author_id: i64,
    content: String,
    nonce: Option<String>,
    reply_to: Option<i64>,
    mention_everyone: i64,
    created_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    message_id: i64,
    id: i64,
    file_name: String,
    content_type: String,
    size: i64,
    storage_key: String,
}

const ATTACHMENT: &str = "a.message_id, a.id, a.file_name, a.content_type, a.size, a.storage_key";

impl From<&AttachmentRow> for Attachment {
    fn from(r: &AttachmentRow) -> Self {
        Self {
            id: AttachmentId(r.id),
            file_name: r.file_name.clone(),
            content_type: r.content_type.clone(),
            size: u64::try_from(r.size).unwrap_or(0),
            key: r.storage_key.clone(),
            url: None,
        }
    }
}

impl MessageRow {
    fn into_message(self, mentions: &[(i64, String, i64)], files: &[AttachmentRow]) -> StoreResult<Message> {
        let mine = mentions.iter().filter(|(m, _, _)| *m == self.id);
        let mut found = Mentions { everyone: self.mention_everyone != 0, ..Mentions::default() };
        for (_, kind, target) in mine {
            match kind.as_str() {
                "user" => found.users.push(UserId(*target)),
                "role" => found.roles.push(RoleId(*target)),
                other => return Err(StoreError::Other(format!("corrupt mention kind in database: {other}"))),
            }
        }
        Ok(Message {
            id: MessageId(self.id),
            channel_id: ChannelId(self.channel_id),
            author_id: UserId(self.author_id),
            content: self.content,
            nonce: self.nonce,
            reply_to: self.reply_to.map(MessageId),
            mentions: found,
            created_at: from_micros(self.created_at)?,
            edited_at: self.edited_at.map(from_micros).transpose()?,
            deleted_at: self.deleted_at.map(from_micros).transpose()?,
            embeds: Vec::new(),
            attachments: files.iter().filter(|a| a.message_id == self.id).map(Attachment::from).collect(),
        })
    }
}

async fn write_mentions(conn: &mut AnyConnection, m: &Message) -> StoreResult<()> {
    sqlx::query("DELETE FROM message_mentions WHERE message_id = $1")
        .bind(m.id.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    let users = m.mentions.users.iter().map(|u| ("user", u.0));
    let roles = m.mentions.roles.iter().map(|r| ("role", r.0));
    for (kind, target) in users.chain(roles) {
        sqlx::query("INSERT INTO message_mentions (message_id, kind, target_id) VALUES ($1, $2, $3)")
            .bind(m.id.0)
            .bind(kind)
            .bind(target)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

impl Database {
    /// Messages with their mentions and files, in the order of `rows` (all of one channel).
    async fn complete(&self, rows: Vec<MessageRow>) -> StoreResult<Vec<Message>> {
        let (Some(low), Some(high)) = (rows.iter().map(|r| r.id).min(), rows.iter().map(|r| r.id).max()) else {
            return Ok(Vec::new());
        };
        let channel = rows[0].channel_id;
        let mentions: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT mm.message_id, mm.kind, mm.target_id FROM message_mentions mm \
             JOIN messages m ON m.id = mm.message_id \
             WHERE m.channel_id = $1 AND mm.message_id BETWEEN $2 AND $3 ORDER BY mm.kind, mm.target_id",
        )
        .bind(channel)
        .bind(low)
        .bind(high)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let files: Vec<AttachmentRow> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT} FROM message_attachments a JOIN messages m ON m.id = a.message_id \
             WHERE m.channel_id = $1 AND a.message_id BETWEEN $2 AND $3 ORDER BY a.message_id, a.position"
        ))
        .bind(channel)
        .bind(low)
        .bind(high)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(|r| r.into_message(&mentions, &files)).collect()
    }

    async fn page(
        &self,
        condition: &str,
        order: &str,
        channel: ChannelId,
        id: i64,
        limit: u32,
    ) -> StoreResult<Vec<MessageRow>> {
        sqlx::query_as(&format!(
            "SELECT {MESSAGE} FROM messages WHERE channel_id = $1 AND {condition} ORDER BY id {order} LIMIT $3"
        ))
        .bind(channel.0)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)
    }
}

#[async_trait]
impl MessageRepo for Database {
    async fn post(&self, message: &Message) -> StoreResult<Posted> {
        let text = format!("INSERT INTO messages ({MESSAGE}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
        let insert = sqlx::query(&text)
            .bind(message.id.0)
            .bind(message.channel_id.0)
            .bind(message.author_id.0)
            .bind(&message.content)
            .bind(message.nonce.as_deref())
            .bind(message.reply_to.map(|r| r.0))
            .bind(i64::from(message.mentions.everyone))
            .bind(to_micros(message.created_at))
            .bind(message.edited_at.map(to_micros))
            .bind(message.deleted_at.map(to_micros));
        // Most messages are one row: one statement, atomic by itself, is one round trip where
        // a transaction would be four.
        let alone =
            message.mentions.users.is_empty() && message.mentions.roles.is_empty() && message.attachments.is_empty();
        let mut tx = None;
        let inserted = match alone {
            true => {
                let _turn = self.write_turn().await;
                insert.execute(&self.pool).await
            }
            false => {
                let tx = tx.insert(self.begin().await.map_err(store_error)?);
                insert.execute(&mut **tx).await
            }
        };
        match inserted.map_err(store_error) {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) if message.nonce.is_some() => {
                drop(tx);
                let nonce = message.nonce.as_deref().unwrap_or_default();
                let existing = self.by_nonce(message.channel_id, message.author_id, nonce).await?;
                return existing
                    .map(Posted::Existing)
                    .ok_or_else(|| StoreError::Other("a nonce conflict without its message".into()));
            }
            Err(e) => return Err(e),
        }
        let Some(mut tx) = tx else { return Ok(Posted::New(message.clone())) };
        write_mentions(&mut tx, message).await?;
        for (position, a) in message.attachments.iter().enumerate() {
            sqlx::query(
                "INSERT INTO message_attachments (id, message_id, position, file_name, content_type, size, storage_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(a.id.0)
            .bind(message.id.0)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(&a.file_name)
            .bind(&a.content_type)
            .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
            .bind(&a.key)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(Posted::New(message.clone()))
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        let row: Option<MessageRow> = sqlx::query_as(&format!("SELECT {MESSAGE} FROM messages WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(self.complete(row.into_iter().collect()).await?.pop())
    }

    async fn by_nonce(&self, channel: ChannelId, author: UserId, nonce: &str) -> StoreResult<Option<Message>> {
        let row: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE} FROM messages WHERE channel_id = $1 AND author_id = $2 AND nonce = $3"
        ))
        .bind(channel.0)
        .bind(author.0)
        .bind(nonce)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(self.complete(row.into_iter().collect()).await?.pop())
    }

    async fn history(&self, channel: ChannelId, cursor: HistoryCursor, limit: u32) -> StoreResult<Vec<Message>> {
        let rows = match cursor {
            HistoryCursor::Latest => self.page("id < $2", "DESC", channel, i64::MAX, limit).await?,
            HistoryCursor::Before(id) => self.page("id < $2", "DESC", channel, id.0, limit).await?,
            HistoryCursor::After(id) => {
                let mut newer = self.page("id > $2", "ASC", channel, id.0, limit).await?;
                newer.reverse();
                newer
            }
            HistoryCursor::Around(id) => {
                let mut newer = self.page("id > $2", "ASC", channel, id.0, limit / 2).await?;
                newer.reverse();
                let rest = limit - u32::try_from(newer.len()).unwrap_or(0);
                newer.extend(self.page("id <= $2", "DESC", channel, id.0, rest).await?);
                newer
            }
        };
        self.complete(rows).await
    }

    async fn edit_message(&self, message: &Message, previous: &MessageEdit) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let updated = sqlx::query(
            "UPDATE messages SET content = $1, mention_everyone = $2, edited_at = $3 WHERE id = $4 AND deleted_at IS NULL",
        )
        .bind(&message.content)
        .bind(i64::from(message.mentions.everyone))
        .bind(message.edited_at.map(to_micros))
        .bind(message.id.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO message_edits (message_id, content, edited_at) VALUES ($1, $2, $3)")
            .bind(previous.message_id.0)
            .bind(&previous.content)
            .bind(to_micros(previous.edited_at))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        write_mentions(&mut tx, message).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn edits(&self, id: MessageId) -> StoreResult<Vec<MessageEdit>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT content, edited_at FROM message_edits WHERE message_id = $1 ORDER BY edited_at")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        rows.into_iter()
            .map(|(content, at)| Ok(MessageEdit { message_id: id, content, edited_at: from_micros(at)? }))
            .collect()
    }

    async fn delete_message(&self, id: MessageId, now: OffsetDateTime) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let deleted = sqlx::query(
            "UPDATE messages SET content = '', mention_everyone = 0, deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        for table in ["message_mentions", "message_edits", "message_attachments"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE message_id = $1"))
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn last_post(&self, channel: ChannelId, author: UserId) -> StoreResult<Option<OffsetDateTime>> {
        let (at,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(created_at) FROM messages WHERE channel_id = $1 AND author_id = $2")
                .bind(channel.0)
                .bind(author.0)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
        at.map(from_micros).transpose()
    }

    async fn add_reaction(
        &self,
        message: MessageId,
        user: UserId,
        emoji: &str,
        max_emoji: usize,
        now: OffsetDateTime,
    ) -> StoreResult<Reacted> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let existing: Vec<(String, i64)> = sqlx::query_as(
            "SELECT emoji, COUNT(CASE WHEN user_id = $2 THEN 1 END) FROM message_reactions WHERE message_id = $1 GROUP BY emoji",
        )
        .bind(message.0)
        .bind(user.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        if existing.iter().any(|(e, mine)| e == emoji && *mine > 0) {
            return Ok(Reacted::Already);
        }
        if !existing.iter().any(|(e, _)| e == emoji) && existing.len() >= max_emoji {
            return Ok(Reacted::TooMany);
        }
        sqlx::query("INSERT INTO message_reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4)")
            .bind(message.0)
            .bind(user.0)
            .bind(emoji)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(Reacted::Added)
    }

    async fn remove_reaction(&self, message: MessageId, user: UserId, emoji: &str) -> StoreResult<bool> {
        let removed =
            sqlx::query("DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
                .bind(message.0)
                .bind(user.0)
                .bind(emoji)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(removed.rows_affected() > 0)
    }

    async fn clear_reactions(&self, message: MessageId, emoji: Option<&str>) -> StoreResult<u64> {
        let removed = match emoji {
            Some(emoji) => {
                sqlx::query("DELETE FROM message_reactions WHERE message_id = $1 AND emoji = $2")
                    .bind(message.0)
                    .bind(emoji)
                    .execute(&self.pool)
                    .await
            }
            None => {
                sqlx::query("DELETE FROM message_reactions WHERE message_id = $1")
                    .bind(message.0)
                    .execute(&self.pool)
                    .await
            }
        }
        .map_err(store_error)?;
        Ok(removed.rows_affected())
    }

    async fn reactors(
        &self,
        message: MessageId,
        emoji: &str,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM message_reactions WHERE message_id = $1 AND emoji = $2 AND user_id > $3 \
             ORDER BY user_id LIMIT $4",
        )
        .bind(message.0)
        .bind(emoji)
        .bind(after.map_or(i64::MIN, |u| u.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn reaction_counts(&self, message: MessageId, viewer: UserId) -> StoreResult<Vec<ReactionCount>> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT emoji, COUNT(*), COUNT(CASE WHEN user_id = $2 THEN 1 END), MIN(created_at) \
             FROM message_reactions WHERE message_id = $1 GROUP BY emoji ORDER BY MIN(created_at), emoji",
        )
        .bind(message.0)
        .bind(viewer.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(emoji, count, mine, _)| ReactionCount {
                emoji,
                count: u64::try_from(count).unwrap_or(0),
                me: mine > 0,
            })
            .collect())
    }

    async fn pin(
        &self,
        channel: ChannelId,
        message: MessageId,
        by: UserId,
        max: usize,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let (count, already): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(CASE WHEN message_id = $2 THEN 1 END) FROM channel_pins WHERE channel_id = $1",
        )
        .bind(channel.0)
        .bind(message.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if already > 0 {
            return Ok(true);
        }
        if usize::try_from(count).unwrap_or(usize::MAX) >= max {
            return Ok(false);
        }
        sqlx::query("INSERT INTO channel_pins (channel_id, message_id, pinned_by, pinned_at) VALUES ($1, $2, $3, $4)")
            .bind(channel.0)
            .bind(message.0)
            .bind(by.0)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn delete_recent(
        &self,
        community: CommunityId,
        author: UserId,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Purged> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let scope = "author_id = $1 AND created_at >= $2 AND deleted_at IS NULL \
                     AND channel_id IN (SELECT id FROM channels WHERE community_id = $3)";
        let attachment_keys: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT storage_key FROM message_attachments WHERE message_id IN (SELECT id FROM messages WHERE {scope}) \
             ORDER BY message_id, position"
        ))
        .bind(author.0)
        .bind(to_micros(since))
        .bind(community.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        for table in ["message_mentions", "message_edits", "message_attachments"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE message_id IN (SELECT id FROM messages WHERE {scope})"))
                .bind(author.0)
                .bind(to_micros(since))
                .bind(community.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        let deleted = sqlx::query(&format!(
            "UPDATE messages SET content = '', mention_everyone = 0, deleted_at = $4 WHERE {scope}"
        ))
        .bind(author.0)
        .bind(to_micros(since))
        .bind(community.0)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        let attachment_keys = attachment_keys.into_iter().map(|(k,)| k).collect();
        Ok(Purged { messages: deleted.rows_affected(), attachment_keys })
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>> {
        let row: Option<AttachmentRow> =
            sqlx::query_as(&format!("SELECT {ATTACHMENT} FROM message_attachments a WHERE a.id = $1"))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(row.as_ref().map(Attachment::from))
    }

    async fn ack(&self, user: UserId, channel: ChannelId, message: MessageId) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO read_states (user_id, channel_id, last_read_id) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, channel_id) DO UPDATE SET last_read_id = excluded.last_read_id \
             WHERE excluded.last_read_id > read_states.last_read_id",
        )
        .bind(user.0)
        .bind(channel.0)
        .bind(message.0)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn read_state(&self, user: UserId, channel: ChannelId, roles: &[RoleId]) -> StoreResult<ReadState> {
        let mark: Option<(i64,)> =
            sqlx::query_as("SELECT last_read_id FROM read_states WHERE user_id = $1 AND channel_id = $2")
                .bind(user.0)
                .bind(channel.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        let last_read = mark.map(|(id,)| MessageId(id));
        let role_list = crate::rows::placeholders(4, roles.len());
        let sql = format!(
            "SELECT COUNT(*), COUNT(CASE WHEN m.mention_everyone = 1 OR EXISTS (\
                 SELECT 1 FROM message_mentions mm WHERE mm.message_id = m.id AND \
                 ((mm.kind = 'user' AND mm.target_id = $2) OR (mm.kind = 'role' AND mm.target_id IN ({role_list})))\
             ) THEN 1 END) \
             FROM messages m WHERE m.channel_id = $1 AND m.author_id <> $2 AND m.deleted_at IS NULL AND m.id > $3"
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql)
            .bind(channel.0)
            .bind(user.0)
            .bind(last_read.map_or(i64::MIN, |m| m.0));
        for role in roles {
            query = query.bind(role.0);
        }
        let (unread, mentions) = query.fetch_one(&self.pool).await.map_err(store_error)?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(ReadState { channel_id: channel, last_read, unread: count(unread), mentions: count(mentions) })
    }

    async fn unpin(&self, channel: ChannelId, message: MessageId) -> StoreResult<bool> {
        let removed = sqlx::query("DELETE FROM channel_pins WHERE channel_id = $1 AND message_id = $2")
            .bind(channel.0)
            .bind(message.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(removed.rows_affected() > 0)
    }

    async fn pins(&self, channel: ChannelId) -> StoreResult<Vec<Pin>> {
        let pinned: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT message_id, pinned_by, pinned_at FROM channel_pins WHERE channel_id = $1 ORDER BY pinned_at DESC, message_id DESC",
        )
        .bind(channel.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let mut pins = Vec::with_capacity(pinned.len());
        for (message, by, at) in pinned {
            if let Some(message) = self.message(MessageId(message)).await? {
                pins.push(Pin { message, pinned_by: UserId(by), pinned_at: from_micros(at)? });
            }
        }
        Ok(pins)
    }
}

//! Channels and their permission overwrites; threads (channels of kind `thread` under their
//! parent) and their members.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::audit::AuditEntry;
use veza_core::chat::channel::{Channel, ChannelKind, DirectChannel, Thread, ThreadMember, AUTO_ARCHIVE_DEFAULT};
use veza_core::chat::permissions::{Overwrite, OverwriteTarget, Permissions};
use veza_core::id::{ChannelId, CommunityId, MessageId, RoleId, UserId};
use veza_core::ports::{ChannelRepo, StoreError, StoreResult};

use crate::audit::{commit_if_changed, commit_with_audit};
use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

const CHANNEL: &str = "id, community_id, kind, name, topic, parent_id, position, slowmode_secs, created_at, \
                       owner_id, starter_id, archived_at, locked, auto_archive_minutes, unarchived_at";

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: i64,
    community_id: i64,
    kind: String,
    name: String,
    topic: Option<String>,
    parent_id: Option<i64>,
    position: i64,
    slowmode_secs: i64,
    created_at: i64,
    owner_id: Option<i64>,
    starter_id: Option<i64>,
    archived_at: Option<i64>,
    locked: i64,
    auto_archive_minutes: Option<i64>,
    unarchived_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OverwriteRow {
    channel_id: i64,
    target_kind: String,
    target_id: i64,
    allow_bits: i64,
    deny_bits: i64,
}

impl OverwriteRow {
    fn overwrite(&self) -> StoreResult<Overwrite> {
        let target = match self.target_kind.as_str() {
            "role" => OverwriteTarget::Role(RoleId(self.target_id)),
            "member" => OverwriteTarget::Member(UserId(self.target_id)),
            other => return Err(StoreError::Other(format!("corrupt overwrite target kind in database: {other}"))),
        };
        Ok(Overwrite {
            target,
            allow: Permissions::from_bits_truncate(self.allow_bits as u64),
            deny: Permissions::from_bits_truncate(self.deny_bits as u64),
        })
    }
}

fn target_columns(target: OverwriteTarget) -> (&'static str, i64) {
    match target {
        OverwriteTarget::Role(role) => ("role", role.0),
        OverwriteTarget::Member(user) => ("member", user.0),
    }
}

fn channel_of(row: ChannelRow, overwrites: &[OverwriteRow]) -> StoreResult<Channel> {
    let number =
        |n: i64, what: &str| u32::try_from(n).map_err(|_| StoreError::Other(format!("bad channel {what} {n}")));
    let thread = match row.owner_id {
        Some(owner) => Some(Thread {
            owner_id: UserId(owner),
            starter_id: row.starter_id.map(MessageId),
            archived_at: row.archived_at.map(from_micros).transpose()?,
            locked: row.locked != 0,
            auto_archive_minutes: match row.auto_archive_minutes {
                Some(minutes) => number(minutes, "auto-archive")?,
                None => AUTO_ARCHIVE_DEFAULT,
            },
            unarchived_at: row.unarchived_at.map(from_micros).transpose()?,
        }),
        None => None,
    };
    Ok(Channel {
        id: ChannelId(row.id),
        community_id: CommunityId(row.community_id),
        kind: ChannelKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Other(format!("corrupt channel kind in database: {}", row.kind)))?,
        name: row.name,
        topic: row.topic,
        parent_id: row.parent_id.map(ChannelId),
        position: number(row.position, "position")?,
        slowmode_secs: number(row.slowmode_secs, "slowmode")?,
        created_at: from_micros(row.created_at)?,
        overwrites: overwrites
            .iter()
            .filter(|o| o.channel_id == row.id)
            .map(OverwriteRow::overwrite)
            .collect::<StoreResult<_>>()?,
        thread,
    })
}

/// The thread columns of a channel.
struct ThreadColumns {
    owner: Option<i64>,
    starter: Option<i64>,
    archived_at: Option<i64>,
    locked: i64,
    auto_archive_minutes: Option<i64>,
    unarchived_at: Option<i64>,
}

fn thread_columns(channel: &Channel) -> ThreadColumns {
    match &channel.thread {
        Some(t) => ThreadColumns {
            owner: Some(t.owner_id.0),
            starter: t.starter_id.map(|m| m.0),
            archived_at: t.archived_at.map(to_micros),
            locked: i64::from(t.locked),
            auto_archive_minutes: Some(i64::from(t.auto_archive_minutes)),
            unarchived_at: t.unarchived_at.map(to_micros),
        },
        None => ThreadColumns {
            owner: None,
            starter: None,
            archived_at: None,
            locked: 0,
            auto_archive_minutes: None,
            unarchived_at: None,
        },
    }
}

#[derive(sqlx::FromRow)]
struct DirectRow {
    id: i64,
    kind: String,
    name: String,
    owner_id: Option<i64>,
    created_at: i64,
}

impl DirectRow {
    /// `recipients`: (channel, user) pairs, by user id.
    fn direct(self, recipients: &[(i64, i64)]) -> StoreResult<DirectChannel> {
        Ok(DirectChannel {
            id: ChannelId(self.id),
            group: self.kind == "group_dm",
            owner_id: self.owner_id.map(UserId),
            name: self.name,
            recipients: recipients.iter().filter(|(c, _)| *c == self.id).map(|(_, u)| UserId(*u)).collect(),
            created_at: from_micros(self.created_at)?,
        })
    }
}

impl Database {
    /// The people of these conversations, as (channel, user), by user id.
    async fn recipients(&self, channels: &[i64]) -> StoreResult<Vec<(i64, i64)>> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let list = crate::rows::placeholders(1, channels.len());
        let sql = format!(
            "SELECT channel_id, user_id FROM dm_recipients WHERE channel_id IN ({list}) ORDER BY channel_id, user_id"
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in channels {
            query = query.bind(*id);
        }
        query.fetch_all(&self.pool).await.map_err(store_error)
    }
}

#[derive(sqlx::FromRow)]
struct ThreadMemberRow {
    thread_id: i64,
    user_id: i64,
    joined_at: i64,
}

async fn join(
    conn: &mut sqlx::AnyConnection,
    thread: ChannelId,
    user: UserId,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let joined = sqlx::query(
        "INSERT INTO thread_members (thread_id, user_id, joined_at) VALUES ($1, $2, $3) \
         ON CONFLICT (thread_id, user_id) DO NOTHING",
    )
    .bind(thread.0)
    .bind(user.0)
    .bind(to_micros(at))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(joined.rows_affected() > 0)
}

async fn write_overwrite(conn: &mut sqlx::AnyConnection, channel: ChannelId, o: &Overwrite) -> StoreResult<()> {
    let (kind, id) = target_columns(o.target);
    sqlx::query(
        "INSERT INTO channel_overwrites (channel_id, target_kind, target_id, allow_bits, deny_bits) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel_id, target_kind, target_id) \
         DO UPDATE SET allow_bits = excluded.allow_bits, deny_bits = excluded.deny_bits",
    )
    .bind(channel.0)
    .bind(kind)
    .bind(id)
    .bind(o.allow.0 as i64)
    .bind(o.deny.0 as i64)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl ChannelRepo for Database {
    async fn create_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let t = thread_columns(channel);
        sqlx::query(&format!(
            "INSERT INTO channels ({CHANNEL}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(channel.id.0)
        .bind(channel.community_id.0)
        .bind(channel.kind.as_str())
        .bind(&channel.name)
        .bind(channel.topic.as_deref())
        .bind(channel.parent_id.map(|p| p.0))
        .bind(i64::from(channel.position))
        .bind(i64::from(channel.slowmode_secs))
        .bind(to_micros(channel.created_at))
        .bind(t.owner)
        .bind(t.starter)
        .bind(t.archived_at)
        .bind(t.locked)
        .bind(t.auto_archive_minutes)
        .bind(t.unarchived_at)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        for o in &channel.overwrites {
            write_overwrite(&mut tx, channel.id, o).await?;
        }
        if let Some(owner) = t.owner {
            join(&mut tx, channel.id, UserId(owner), channel.created_at).await?;
        }
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>> {
        let row: Option<ChannelRow> =
            sqlx::query_as(&format!("SELECT {CHANNEL} FROM channels WHERE id = $1 AND community_id IS NOT NULL"))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let overwrites: Vec<OverwriteRow> = sqlx::query_as(
            "SELECT channel_id, target_kind, target_id, allow_bits, deny_bits FROM channel_overwrites \
             WHERE channel_id = $1 ORDER BY target_kind, target_id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        channel_of(row, &overwrites).map(Some)
    }

    async fn channels(&self, community: CommunityId) -> StoreResult<Vec<Channel>> {
        let rows: Vec<ChannelRow> = sqlx::query_as(&format!(
            "SELECT {CHANNEL} FROM channels WHERE community_id = $1 AND kind <> 'thread' ORDER BY position, id"
        ))
        .bind(community.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let overwrites: Vec<OverwriteRow> = sqlx::query_as(
            "SELECT o.channel_id, o.target_kind, o.target_id, o.allow_bits, o.deny_bits FROM channel_overwrites o \
             JOIN channels c ON c.id = o.channel_id WHERE c.community_id = $1 ORDER BY o.target_kind, o.target_id",
        )
        .bind(community.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(|row| channel_of(row, &overwrites)).collect()
    }

    async fn update_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let t = thread_columns(channel);
        let updated = sqlx::query(
            "UPDATE channels SET name = $1, topic = $2, parent_id = $3, position = $4, slowmode_secs = $5, \
             archived_at = $6, locked = $7, auto_archive_minutes = $9, unarchived_at = $10 WHERE id = $8",
        )
        .bind(&channel.name)
        .bind(channel.topic.as_deref())
        .bind(channel.parent_id.map(|p| p.0))
        .bind(i64::from(channel.position))
        .bind(i64::from(channel.slowmode_secs))
        .bind(t.archived_at)
        .bind(t.locked)
        .bind(channel.id.0)
        .bind(t.auto_archive_minutes)
        .bind(t.unarchived_at)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        commit_if_changed(tx, updated.rows_affected() > 0, audit).await
    }

    async fn delete_channel(&self, id: ChannelId, audit: &AuditEntry) -> StoreResult<bool> {
        // The channels of a deleted category leave it through parent_id's ON DELETE SET NULL.
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query("DELETE FROM channels WHERE parent_id = $1 AND kind = 'thread'")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let deleted = sqlx::query("DELETE FROM channels WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        commit_if_changed(tx, deleted.rows_affected() > 0, audit).await
    }

    async fn set_overwrite(&self, channel: ChannelId, overwrite: &Overwrite, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        write_overwrite(&mut tx, channel, overwrite).await?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn remove_overwrite(
        &self,
        channel: ChannelId,
        target: OverwriteTarget,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        let (kind, id) = target_columns(target);
        let mut tx = self.begin().await.map_err(store_error)?;
        let deleted =
            sqlx::query("DELETE FROM channel_overwrites WHERE channel_id = $1 AND target_kind = $2 AND target_id = $3")
                .bind(channel.0)
                .bind(kind)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        commit_if_changed(tx, deleted.rows_affected() > 0, audit).await
    }

    async fn threads(
        &self,
        parent: ChannelId,
        archived: bool,
        before: Option<ChannelId>,
        limit: u32,
    ) -> StoreResult<Vec<Channel>> {
        let state = if archived { "archived_at IS NOT NULL" } else { "archived_at IS NULL" };
        let rows: Vec<ChannelRow> = sqlx::query_as(&format!(
            "SELECT {CHANNEL} FROM channels WHERE parent_id = $1 AND kind = 'thread' AND {state} AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(parent.0)
        .bind(before.map_or(i64::MAX, |b| b.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(|row| channel_of(row, &[])).collect()
    }

    async fn active_threads(&self, community: CommunityId) -> StoreResult<Vec<Channel>> {
        let rows: Vec<ChannelRow> = sqlx::query_as(&format!(
            "SELECT {CHANNEL} FROM channels WHERE community_id = $1 AND kind = 'thread' AND archived_at IS NULL \
             ORDER BY id"
        ))
        .bind(community.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(|row| channel_of(row, &[])).collect()
    }

    async fn archive_idle_threads(&self, now: OffsetDateTime) -> StoreResult<Vec<Channel>> {
        // A thread's activity is the latest of its newest message's time (one index probe:
        // messages by channel and id), its creation and its last unarchiving.
        let mut tx = self.begin().await.map_err(store_error)?;
        let rows: Vec<ChannelRow> = sqlx::query_as(&format!(
            "UPDATE channels SET archived_at = $1 WHERE kind = 'thread' AND archived_at IS NULL \
             AND COALESCE((SELECT m.created_at FROM messages m WHERE m.channel_id = channels.id \
                           ORDER BY m.id DESC LIMIT 1), channels.created_at) \
                 < $1 - COALESCE(channels.auto_archive_minutes, $2) * 60000000 \
             AND COALESCE(channels.unarchived_at, channels.created_at) \
                 < $1 - COALESCE(channels.auto_archive_minutes, $2) * 60000000 \
             RETURNING {CHANNEL}"
        ))
        .bind(to_micros(now))
        .bind(i64::from(AUTO_ARCHIVE_DEFAULT))
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        let mut archived: Vec<Channel> =
            rows.into_iter().map(|row| channel_of(row, &[])).collect::<StoreResult<_>>()?;
        archived.sort_by_key(|c| c.id.0);
        Ok(archived)
    }

    async fn join_thread(&self, thread: ChannelId, user: UserId, at: OffsetDateTime) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        join(&mut conn, thread, user, at).await
    }

    async fn leave_thread(&self, thread: ChannelId, user: UserId) -> StoreResult<bool> {
        let left = sqlx::query("DELETE FROM thread_members WHERE thread_id = $1 AND user_id = $2")
            .bind(thread.0)
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(left.rows_affected() > 0)
    }

    async fn thread_members(&self, thread: ChannelId, limit: u32) -> StoreResult<Vec<ThreadMember>> {
        // Someone who left the community is out of its threads too.
        let rows: Vec<ThreadMemberRow> = sqlx::query_as(
            "SELECT t.thread_id, t.user_id, t.joined_at FROM thread_members t \
             JOIN channels c ON c.id = t.thread_id \
             JOIN community_members m ON m.community_id = c.community_id AND m.user_id = t.user_id \
             WHERE t.thread_id = $1 ORDER BY t.joined_at, t.user_id LIMIT $2",
        )
        .bind(thread.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter()
            .map(|r| {
                Ok(ThreadMember {
                    thread_id: ChannelId(r.thread_id),
                    user_id: UserId(r.user_id),
                    joined_at: from_micros(r.joined_at)?,
                })
            })
            .collect()
    }

    async fn create_direct(&self, channel: &DirectChannel) -> StoreResult<(DirectChannel, bool)> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let kind = if channel.group { "group_dm" } else { "dm" };
        sqlx::query(
            "INSERT INTO channels (id, community_id, kind, name, position, slowmode_secs, created_at, owner_id) \
             VALUES ($1, NULL, $2, $3, 0, 0, $4, $5)",
        )
        .bind(channel.id.0)
        .bind(kind)
        .bind(&channel.name)
        .bind(to_micros(channel.created_at))
        .bind(channel.owner_id.map(|o| o.0))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if let [low, high] = channel.recipients[..] {
            if !channel.group {
                let (low, high) = if low.0 <= high.0 { (low, high) } else { (high, low) };
                let paired = sqlx::query(
                    "INSERT INTO dm_pairs (low_id, high_id, channel_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (low_id, high_id) DO NOTHING",
                )
                .bind(low.0)
                .bind(high.0)
                .bind(channel.id.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                if paired.rows_affected() == 0 {
                    // The pair has its conversation already: that one, and nothing stored.
                    drop(tx);
                    let (id,): (i64,) =
                        sqlx::query_as("SELECT channel_id FROM dm_pairs WHERE low_id = $1 AND high_id = $2")
                            .bind(low.0)
                            .bind(high.0)
                            .fetch_one(&self.pool)
                            .await
                            .map_err(store_error)?;
                    let existing = self.direct_channel(ChannelId(id)).await?;
                    let existing = existing.ok_or_else(|| StoreError::Other("a DM pair names no channel".into()))?;
                    return Ok((existing, false));
                }
            }
        }
        for user in &channel.recipients {
            sqlx::query("INSERT INTO dm_recipients (channel_id, user_id) VALUES ($1, $2)")
                .bind(channel.id.0)
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok((channel.clone(), true))
    }

    async fn direct_channel(&self, id: ChannelId) -> StoreResult<Option<DirectChannel>> {
        let row: Option<DirectRow> = sqlx::query_as(
            "SELECT id, kind, name, owner_id, created_at FROM channels WHERE id = $1 AND community_id IS NULL",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let recipients = self.recipients(&[row.id]).await?;
        row.direct(&recipients).map(Some)
    }

    async fn direct_channels_of(&self, user: UserId) -> StoreResult<Vec<DirectChannel>> {
        let rows: Vec<DirectRow> = sqlx::query_as(
            "SELECT c.id, c.kind, c.name, c.owner_id, c.created_at FROM channels c \
             JOIN dm_recipients r ON r.channel_id = c.id WHERE r.user_id = $1 ORDER BY c.id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let recipients = self.recipients(&ids).await?;
        rows.into_iter().map(|r| r.direct(&recipients)).collect()
    }

    async fn add_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool> {
        let added = sqlx::query(
            "INSERT INTO dm_recipients (channel_id, user_id) VALUES ($1, $2) ON CONFLICT (channel_id, user_id) DO NOTHING",
        )
        .bind(channel.0)
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(added.rows_affected() > 0)
    }

    async fn update_group(
        &self,
        channel: ChannelId,
        by: UserId,
        name: Option<&str>,
        owner: Option<UserId>,
    ) -> StoreResult<Option<DirectChannel>> {
        // The group's row first (its lock on PostgreSQL; SQLite's write lock), as a removal
        // takes it: the two take turns, so someone leaving meanwhile is never made owner. Only
        // the fields given are written, and a handover only by whoever owns the group now.
        let mut tx = self.begin().await.map_err(store_error)?;
        let updated = sqlx::query(
            "UPDATE channels SET name = CASE WHEN $4 = 1 THEN $2 ELSE name END, \
             owner_id = CASE WHEN $5 = 1 THEN $3 ELSE owner_id END \
             WHERE id = $1 AND kind = 'group_dm' AND ($5 = 0 OR owner_id = $6)",
        )
        .bind(channel.0)
        .bind(name.unwrap_or_default())
        .bind(owner.map_or(0, |o| o.0))
        .bind(i64::from(name.is_some()))
        .bind(i64::from(owner.is_some()))
        .bind(by.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        let member = match owner {
            Some(owner) => {
                sqlx::query_as::<_, (i64,)>("SELECT user_id FROM dm_recipients WHERE channel_id = $1 AND user_id = $2")
                    .bind(channel.0)
                    .bind(owner.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(store_error)?
                    .is_some()
            }
            None => true,
        };
        if updated.rows_affected() == 0 || !member {
            tx.rollback().await.map_err(store_error)?;
            return Ok(None);
        }
        tx.commit().await.map_err(store_error)?;
        self.direct_channel(channel).await
    }

    async fn remove_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool> {
        // Takes turns with a handover (see `update_group`), and refuses the owner while others
        // remain, as the group is now, not as the caller last read it.
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query("UPDATE channels SET id = id WHERE id = $1")
            .bind(channel.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let group: Option<(Option<i64>, i64)> = sqlx::query_as(
            "SELECT owner_id, (SELECT COUNT(*) FROM dm_recipients WHERE channel_id = $1) FROM channels WHERE id = $1",
        )
        .bind(channel.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        if group.is_some_and(|(owner, people)| owner == Some(user.0) && people > 1) {
            tx.rollback().await.map_err(store_error)?;
            return Err(StoreError::Conflict("owner"));
        }
        let removed = sqlx::query("DELETE FROM dm_recipients WHERE channel_id = $1 AND user_id = $2")
            .bind(channel.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(removed.rows_affected() > 0)
    }

    async fn joined_threads(&self, community: CommunityId, user: UserId) -> StoreResult<Vec<ChannelId>> {
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT t.thread_id FROM thread_members t JOIN channels c ON c.id = t.thread_id \
             WHERE t.user_id = $1 AND c.community_id = $2 ORDER BY t.thread_id",
        )
        .bind(user.0)
        .bind(community.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(ids.into_iter().map(|(id,)| ChannelId(id)).collect())
    }
}

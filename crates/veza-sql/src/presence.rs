//! Presence: chosen statuses and live gateway connections, leased per node.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::chat::presence::{PresenceSetting, Status};
use veza_core::id::{CommunityId, TrackId, UserId};
use veza_core::ports::{PresenceRepo, StoreError, StoreResult};

use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

#[derive(sqlx::FromRow)]
struct SettingRow {
    user_id: i64,
    status: Option<String>,
    track_id: Option<i64>,
    since: Option<i64>,
}

impl SettingRow {
    /// Someone who never chose is `online`, listening to nothing, since `now`.
    fn setting(self, now: OffsetDateTime) -> StoreResult<PresenceSetting> {
        let status = match self.status.as_deref() {
            None => Status::Online,
            Some(s) => Status::parse(s)
                .ok_or_else(|| StoreError::Other(format!("corrupt presence status in database: {s}")))?,
        };
        Ok(PresenceSetting {
            user_id: UserId(self.user_id),
            status,
            listening_to: self.track_id.map(TrackId),
            since: self.since.map(from_micros).transpose()?.unwrap_or(now),
        })
    }
}

#[async_trait]
impl PresenceRepo for Database {
    async fn setting(&self, user: UserId) -> StoreResult<Option<PresenceSetting>> {
        let row: Option<SettingRow> =
            sqlx::query_as("SELECT user_id, status, track_id, since FROM presence_settings WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        row.map(|r| r.setting(OffsetDateTime::UNIX_EPOCH)).transpose()
    }

    async fn set_setting(&self, setting: &PresenceSetting) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO presence_settings (user_id, status, track_id, since) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, track_id = excluded.track_id, \
             since = excluded.since",
        )
        .bind(setting.user_id.0)
        .bind(setting.status.as_str())
        .bind(setting.listening_to.map(|t| t.0))
        .bind(to_micros(setting.since))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn connect(&self, user: UserId, connection: &str, node: &str, until: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO presence_connections (connection_id, user_id, node, lease_until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (connection_id) DO UPDATE SET node = excluded.node, lease_until = excluded.lease_until",
        )
        .bind(connection)
        .bind(user.0)
        .bind(node)
        .bind(to_micros(until))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn disconnect(&self, connection: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM presence_connections WHERE connection_id = $1")
            .bind(connection)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn renew(&self, node: &str, until: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE presence_connections SET lease_until = $1 WHERE node = $2")
            .bind(to_micros(until))
            .bind(node)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn expire(&self, now: OffsetDateTime) -> StoreResult<Vec<UserId>> {
        // Each lapsed row is deleted (and returned) by one node only.
        let lapsed: Vec<(i64,)> =
            sqlx::query_as("DELETE FROM presence_connections WHERE lease_until <= $1 RETURNING user_id")
                .bind(to_micros(now))
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        let mut users: Vec<i64> = lapsed.into_iter().map(|(u,)| u).collect();
        users.sort_unstable();
        users.dedup();
        let mut gone = Vec::with_capacity(users.len());
        for user in users {
            if !self.is_connected(UserId(user), now).await? {
                gone.push(UserId(user));
            }
        }
        Ok(gone)
    }

    async fn is_connected(&self, user: UserId, now: OffsetDateTime) -> StoreResult<bool> {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT user_id FROM presence_connections WHERE user_id = $1 AND lease_until > $2 LIMIT 1")
                .bind(user.0)
                .bind(to_micros(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(found.is_some())
    }

    async fn connected_in(
        &self,
        community: CommunityId,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<PresenceSetting>> {
        let rows: Vec<SettingRow> = sqlx::query_as(
            "SELECT m.user_id, p.status, p.track_id, p.since FROM community_members m \
             LEFT JOIN presence_settings p ON p.user_id = m.user_id \
             WHERE m.community_id = $1 AND EXISTS (SELECT 1 FROM presence_connections c \
                 WHERE c.user_id = m.user_id AND c.lease_until > $2) \
             ORDER BY m.user_id LIMIT $3",
        )
        .bind(community.0)
        .bind(to_micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(|r| r.setting(now)).collect()
    }
}

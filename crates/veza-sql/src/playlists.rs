//! Playlists, their items and collaborators. Every change of a playlist's items or
//! collaborators first writes the playlist's row (its lock on PostgreSQL, the write lock on
//! SQLite), so they take turns: the limits hold under races, and a move computes its position
//! from neighbours that stay put. Items are counted on read, so deleting a track — which takes
//! its items with it — never needs the playlist's row.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::catalog::track::Visibility;
use veza_core::id::{PlaylistId, PlaylistItemId, TrackId, UserId};
use veza_core::page::PageRequest;
use veza_core::ports::{PlaylistRepo, StoreError, StoreResult, TrackRepo};
use veza_core::social::playlist::{
    slot, spaced, Added, Playlist, PlaylistItem, PlaylistKind, PlaylistPatch, ITEMS_MAX,
};

use crate::error::store_error;
use crate::rows::{from_micros, placeholders, to_micros};
use crate::tracks::{rows_to_tracks, track_columns_of_t, TrackRow};
use crate::{Database, WriteTx};

pub(crate) const PLAYLIST: &str = "p.id, p.owner_id, p.title, p.description, p.visibility, p.kind, \
     p.share_token, p.like_count, p.repost_count, p.created_at, p.updated_at, (SELECT COUNT(*) FROM playlist_items i JOIN tracks t ON t.id = i.track_id \
     WHERE i.playlist_id = p.id AND t.visibility = 'public') AS track_count";

#[derive(sqlx::FromRow)]
pub(crate) struct PlaylistRow {
    id: i64,
    owner_id: i64,
    title: String,
    description: String,
    visibility: String,
    kind: String,
    share_token: String,
    like_count: i64,
    repost_count: i64,
    created_at: i64,
    updated_at: i64,
    track_count: i64,
}

impl PlaylistRow {
    fn into_playlist(self, collaborators: Vec<UserId>) -> StoreResult<Playlist> {
        let corrupt = |what: &str, v: &str| StoreError::Other(format!("corrupt playlist {what} in database: {v}"));
        Ok(Playlist {
            id: PlaylistId(self.id),
            owner_id: UserId(self.owner_id),
            title: self.title,
            description: self.description,
            visibility: Visibility::parse(&self.visibility).ok_or_else(|| corrupt("visibility", &self.visibility))?,
            kind: PlaylistKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            share_token: self.share_token,
            collaborators,
            track_count: u64::try_from(self.track_count).unwrap_or(0),
            likes: u64::try_from(self.like_count).unwrap_or(0),
            reposts: u64::try_from(self.repost_count).unwrap_or(0),
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    item_id: i64,
    item_by: i64,
    item_at: i64,
    #[sqlx(flatten)]
    track: TrackRow,
}

impl Database {
    /// The collaborators of each of `playlists`, by user id.
    async fn collaborators(&self, playlists: &[i64]) -> StoreResult<Vec<(i64, UserId)>> {
        let sql = format!(
            "SELECT playlist_id, user_id FROM playlist_collaborators WHERE playlist_id IN ({}) \
             ORDER BY playlist_id, user_id",
            placeholders(1, playlists.len())
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in playlists {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        Ok(rows.into_iter().map(|(p, u)| (p, UserId(u))).collect())
    }

    pub(crate) async fn with_collaborators(&self, rows: Vec<PlaylistRow>) -> StoreResult<Vec<Playlist>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let all = if ids.is_empty() { Vec::new() } else { self.collaborators(&ids).await? };
        rows.into_iter()
            .map(|r| {
                let mine = all.iter().filter(|(p, _)| *p == r.id).map(|(_, u)| *u).collect();
                r.into_playlist(mine)
            })
            .collect()
    }

    /// Writes the playlist's row, taking it for this transaction; false when it is gone.
    async fn take_playlist(tx: &mut WriteTx, id: PlaylistId) -> StoreResult<bool> {
        let taken = sqlx::query("UPDATE playlists SET updated_at = updated_at WHERE id = $1")
            .bind(id.0)
            .execute(&mut **tx)
            .await
            .map_err(store_error)?;
        Ok(taken.rows_affected() == 1)
    }

    /// A position for `index` among the items other than `moving`, laying them out again
    /// first when there is no room between the neighbours (the only time more than one row
    /// is written). Also returns the tracks present.
    async fn position(
        tx: &mut WriteTx,
        playlist: PlaylistId,
        moving: Option<PlaylistItemId>,
        index: usize,
    ) -> StoreResult<(i64, Vec<i64>)> {
        let items: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT id, track_id, position FROM playlist_items WHERE playlist_id = $1 ORDER BY position, id",
        )
        .bind(playlist.0)
        .fetch_all(&mut **tx)
        .await
        .map_err(store_error)?;
        let tracks = items.iter().map(|i| i.1).collect();
        let others: Vec<&(i64, i64, i64)> = items.iter().filter(|i| Some(i.0) != moving.map(|m| m.0)).collect();
        let positions: Vec<i64> = others.iter().map(|i| i.2).collect();
        if let Some(p) = slot(&positions, index) {
            return Ok((p, tracks));
        }
        let fresh = spaced(others.len());
        for (item, p) in others.iter().zip(&fresh) {
            sqlx::query("UPDATE playlist_items SET position = $2 WHERE id = $1")
                .bind(item.0)
                .bind(*p)
                .execute(&mut **tx)
                .await
                .map_err(store_error)?;
        }
        Ok((slot(&fresh, index).unwrap_or(i64::MAX), tracks))
    }
}

#[async_trait]
impl PlaylistRepo for Database {
    async fn create_playlist(&self, p: &Playlist) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO playlists (id, owner_id, title, description, visibility, kind, share_token, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(p.id.0)
        .bind(p.owner_id.0)
        .bind(&p.title)
        .bind(&p.description)
        .bind(p.visibility.as_str())
        .bind(p.kind.as_str())
        .bind(&p.share_token)
        .bind(to_micros(p.created_at))
        .bind(to_micros(p.updated_at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn playlist(&self, id: PlaylistId) -> StoreResult<Option<Playlist>> {
        let row: Option<PlaylistRow> = sqlx::query_as(&format!("SELECT {PLAYLIST} FROM playlists p WHERE p.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(self.with_collaborators(row.into_iter().collect()).await?.pop())
    }

    async fn update_playlist(
        &self,
        id: PlaylistId,
        p: &PlaylistPatch,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Playlist>> {
        let updated = {
            let _turn = self.write_turn().await;
            sqlx::query(
                "UPDATE playlists SET title = COALESCE($2, title), description = COALESCE($3, description), \
                 visibility = COALESCE($4, visibility), kind = COALESCE($5, kind), updated_at = $6 WHERE id = $1",
            )
            .bind(id.0)
            .bind(p.title.as_deref())
            .bind(p.description.as_deref())
            .bind(p.visibility.map(Visibility::as_str))
            .bind(p.kind.map(PlaylistKind::as_str))
            .bind(to_micros(now))
            .execute(&self.pool)
            .await
            .map_err(store_error)?
        };
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        self.playlist(id).await
    }

    async fn delete_playlist(&self, id: PlaylistId) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let deleted = sqlx::query("DELETE FROM playlists WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn playlists_by_owner(&self, owner: UserId, all: bool, page: PageRequest) -> StoreResult<Vec<Playlist>> {
        let rows: Vec<PlaylistRow> = sqlx::query_as(&format!(
            "SELECT {PLAYLIST} FROM playlists p WHERE p.owner_id = $1 AND ($2 = 1 OR p.visibility = 'public') \
             AND p.id < $3 ORDER BY p.id DESC LIMIT $4"
        ))
        .bind(owner.0)
        .bind(i64::from(all))
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        self.with_collaborators(rows).await
    }

    async fn playlist_items(&self, id: PlaylistId) -> StoreResult<Vec<PlaylistItem>> {
        let rows: Vec<ItemRow> = sqlx::query_as(&format!(
            "SELECT i.id AS item_id, i.added_by AS item_by, i.added_at AS item_at, {} \
             FROM playlist_items i JOIN tracks t ON t.id = i.track_id WHERE i.playlist_id = $1 \
             ORDER BY i.position, i.id",
            track_columns_of_t()
        ))
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let meta: Vec<(i64, i64, i64)> = rows.iter().map(|r| (r.item_id, r.item_by, r.item_at)).collect();
        let tracks = rows_to_tracks(rows.into_iter().map(|r| r.track).collect())?;
        meta.into_iter()
            .zip(tracks)
            .map(|((id, by, at), track)| {
                Ok(PlaylistItem { id: PlaylistItemId(id), track, added_by: UserId(by), added_at: from_micros(at)? })
            })
            .collect()
    }

    async fn add_item(
        &self,
        playlist: PlaylistId,
        item: PlaylistItemId,
        track: TrackId,
        index: Option<usize>,
        by: UserId,
        at: OffsetDateTime,
    ) -> StoreResult<Added> {
        let mut tx = self.begin().await.map_err(store_error)?;
        if !Self::take_playlist(&mut tx, playlist).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(Added::PlaylistGone);
        }
        // The track's row next, before any item is written: deleting a track takes the track
        // and then its items, so taking them the other way round could deadlock with it.
        let track_held = sqlx::query("UPDATE tracks SET like_count = like_count WHERE id = $1")
            .bind(track.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if track_held.rows_affected() == 0 {
            tx.rollback().await.map_err(store_error)?;
            return Ok(Added::TrackGone);
        }
        let (position, present) = Self::position(&mut tx, playlist, None, index.unwrap_or(usize::MAX)).await?;
        let refused = if present.contains(&track.0) {
            Some(Added::Duplicate)
        } else if present.len() >= ITEMS_MAX {
            Some(Added::Full)
        } else {
            None
        };
        if let Some(refused) = refused {
            tx.rollback().await.map_err(store_error)?;
            return Ok(refused);
        }
        sqlx::query(
            "INSERT INTO playlist_items (id, playlist_id, track_id, position, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(item.0)
        .bind(playlist.0)
        .bind(track.0)
        .bind(position)
        .bind(by.0)
        .bind(to_micros(at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        let Some(track) = TrackRepo::track(self, track).await? else { return Ok(Added::TrackGone) };
        Ok(Added::Added(Box::new(PlaylistItem { id: item, track, added_by: by, added_at: at })))
    }

    async fn move_item(&self, playlist: PlaylistId, item: PlaylistItemId, index: usize) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        Self::take_playlist(&mut tx, playlist).await?;
        let (position, _) = Self::position(&mut tx, playlist, Some(item), index).await?;
        let moved = sqlx::query("UPDATE playlist_items SET position = $3 WHERE id = $1 AND playlist_id = $2")
            .bind(item.0)
            .bind(playlist.0)
            .bind(position)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let moved = moved.rows_affected() == 1;
        if moved { tx.commit().await } else { tx.rollback().await }.map_err(store_error)?;
        Ok(moved)
    }

    async fn remove_item(&self, playlist: PlaylistId, item: PlaylistItemId) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let removed = sqlx::query("DELETE FROM playlist_items WHERE id = $1 AND playlist_id = $2")
            .bind(item.0)
            .bind(playlist.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(removed.rows_affected() == 1)
    }

    async fn set_collaborator(&self, playlist: PlaylistId, user: UserId, on: bool, max: usize) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        if !Self::take_playlist(&mut tx, playlist).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(false);
        }
        let changed = if on {
            let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM playlist_collaborators WHERE playlist_id = $1")
                .bind(playlist.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(store_error)?;
            usize::try_from(count).unwrap_or(usize::MAX) < max
                && sqlx::query(
                    "INSERT INTO playlist_collaborators (playlist_id, user_id) VALUES ($1, $2) \
                     ON CONFLICT (playlist_id, user_id) DO NOTHING",
                )
                .bind(playlist.0)
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected()
                    == 1
        } else {
            sqlx::query("DELETE FROM playlist_collaborators WHERE playlist_id = $1 AND user_id = $2")
                .bind(playlist.0)
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected()
                == 1
        };
        tx.commit().await.map_err(store_error)?;
        Ok(changed)
    }
}

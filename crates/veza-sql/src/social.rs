//! Follows, likes and reposts. Each toggle is one transaction that moves the counter first and
//! then adds or removes the row, undoing the counter when the row was already there (or not):
//! the counter's row lock orders every toggle of the same track or account, so the counters stay
//! equal to the rows under any race. The locks are always taken in the same order — accounts by
//! ascending id, a track before its likes and reposts (as deleting a track does) — so two
//! toggles never wait on each other in a cycle.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::catalog::track::Track;
use veza_core::id::{TrackId, UserId};
use veza_core::page::PageRequest;
use veza_core::ports::{FollowRepo, ReactionRepo, StoreResult};
use veza_core::social::{Edge, FollowCounts, Linked};
use veza_core::user::User;

use crate::error::store_error;
use crate::rows::{from_micros, placeholders, to_micros, UserRow, USER_COLUMNS};
use crate::tracks::{track_columns_of_t, TrackRow};
use crate::{Database, WriteTx};

#[derive(sqlx::FromRow)]
struct PersonRow {
    #[sqlx(flatten)]
    user: UserRow,
    follower_count: i64,
    following_count: i64,
}

#[derive(sqlx::FromRow)]
struct EdgeRow {
    id: i64,
    other: i64,
    created_at: i64,
    caption: Option<String>,
}

impl EdgeRow {
    fn into_edge(self) -> StoreResult<Edge<UserId>> {
        Ok(Edge { id: self.id, item: UserId(self.other), at: from_micros(self.created_at)?, caption: self.caption })
    }
}

#[derive(sqlx::FromRow)]
struct TrackEdgeRow {
    edge_id: i64,
    edge_at: i64,
    edge_caption: Option<String>,
    #[sqlx(flatten)]
    track: TrackRow,
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Moves `column` of the account by `by`; false when the account is gone.
async fn count_user(tx: &mut WriteTx, user: UserId, column: &str, by: i64) -> StoreResult<bool> {
    let moved = sqlx::query(&format!("UPDATE users SET {column} = {column} + $2 WHERE id = $1"))
        .bind(user.0)
        .bind(by)
        .execute(&mut **tx)
        .await
        .map_err(store_error)?;
    Ok(moved.rows_affected() == 1)
}

/// Moves both counts of a follow by `by`, the lower account id first; false when either
/// account is gone.
async fn count_follow(tx: &mut WriteTx, follower: UserId, followee: UserId, by: i64) -> StoreResult<bool> {
    let mut counts = [(follower, "following_count"), (followee, "follower_count")];
    counts.sort_by_key(|(user, _)| *user);
    for (user, column) in counts {
        if !count_user(tx, user, column, by).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A list of follows seen from one side: `me` is the column holding the listed person's
/// account, `other` the column of the people listed.
async fn follow_edges(
    db: &Database,
    me: &str,
    other: &str,
    user: UserId,
    page: PageRequest,
) -> StoreResult<Vec<Edge<UserId>>> {
    let rows: Vec<EdgeRow> = sqlx::query_as(&format!(
        "SELECT id, {other} AS other, created_at, CAST(NULL AS TEXT) AS caption FROM follows \
         WHERE {me} = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(user.0)
    .bind(page.before.unwrap_or(i64::MAX))
    .bind(i64::from(page.limit) + 1)
    .fetch_all(&db.pool)
    .await
    .map_err(store_error)?;
    rows.into_iter().map(EdgeRow::into_edge).collect()
}

#[async_trait]
impl FollowRepo for Database {
    async fn follow(&self, id: i64, follower: UserId, followee: UserId, at: OffsetDateTime) -> StoreResult<Linked> {
        let mut tx = self.begin().await.map_err(store_error)?;
        if !count_follow(&mut tx, follower, followee, 1).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(Linked::Gone);
        }
        let made = sqlx::query(
            "INSERT INTO follows (id, follower_id, followee_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (follower_id, followee_id) DO NOTHING",
        )
        .bind(id)
        .bind(follower.0)
        .bind(followee.0)
        .bind(to_micros(at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if made.rows_affected() == 0 {
            tx.rollback().await.map_err(store_error)?;
            return Ok(Linked::Already);
        }
        tx.commit().await.map_err(store_error)?;
        Ok(Linked::Made)
    }

    async fn unfollow(&self, follower: UserId, followee: UserId) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let counted = count_follow(&mut tx, follower, followee, -1).await?;
        let removed = counted
            && sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
                .bind(follower.0)
                .bind(followee.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected()
                == 1;
        if removed { tx.commit().await } else { tx.rollback().await }.map_err(store_error)?;
        Ok(removed)
    }

    async fn is_following(&self, follower: UserId, followee: UserId) -> StoreResult<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower.0)
            .bind(followee.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(row.is_some())
    }

    async fn followers(&self, user: UserId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        follow_edges(self, "followee_id", "follower_id", user, page).await
    }

    async fn following(&self, user: UserId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        follow_edges(self, "follower_id", "followee_id", user, page).await
    }

    async fn people(&self, ids: &[UserId]) -> StoreResult<Vec<(User, FollowCounts)>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, follower_count, following_count FROM users WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as::<_, PersonRow>(&sql);
        for id in ids {
            query = query.bind(id.0);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        rows.into_iter()
            .map(|r| {
                let counts = FollowCounts { followers: to_u64(r.follower_count), following: to_u64(r.following_count) };
                Ok((User::try_from(r.user)?, counts))
            })
            .collect()
    }
}

/// The two kinds of reaction to a track: their table and the track's counter of them.
#[derive(Clone, Copy)]
enum Kind {
    Like,
    Repost,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Self::Like => "likes",
            Self::Repost => "reposts",
        }
    }

    fn counter(self) -> &'static str {
        match self {
            Self::Like => "like_count",
            Self::Repost => "repost_count",
        }
    }

    /// The caption column, as the lists read it.
    fn caption(self) -> &'static str {
        match self {
            Self::Like => "CAST(NULL AS TEXT)",
            Self::Repost => "r.caption",
        }
    }
}

impl Database {
    async fn count_track(&self, tx: &mut WriteTx, kind: Kind, track: TrackId, by: i64) -> StoreResult<bool> {
        let counter = kind.counter();
        let moved = sqlx::query(&format!("UPDATE tracks SET {counter} = {counter} + $2 WHERE id = $1"))
            .bind(track.0)
            .bind(by)
            .execute(&mut **tx)
            .await
            .map_err(store_error)?;
        Ok(moved.rows_affected() == 1)
    }

    async fn react(
        &self,
        kind: Kind,
        id: i64,
        user: UserId,
        track: TrackId,
        caption: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<Linked> {
        let mut tx = self.begin().await.map_err(store_error)?;
        if !self.count_track(&mut tx, kind, track, 1).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(Linked::Gone);
        }
        let insert = match kind {
            Kind::Like => {
                "INSERT INTO likes (id, user_id, track_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, track_id) DO NOTHING"
            }
            Kind::Repost => {
                "INSERT INTO reposts (id, user_id, track_id, created_at, caption) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, track_id) DO NOTHING"
            }
        };
        let mut insert = sqlx::query(insert).bind(id).bind(user.0).bind(track.0).bind(to_micros(at));
        if matches!(kind, Kind::Repost) {
            insert = insert.bind(caption);
        }
        let made = insert.execute(&mut *tx).await.map_err(store_error)?;
        if made.rows_affected() == 1 {
            tx.commit().await.map_err(store_error)?;
            return Ok(Linked::Made);
        }
        if matches!(kind, Kind::Repost) {
            sqlx::query("UPDATE reposts SET caption = $3 WHERE user_id = $1 AND track_id = $2")
                .bind(user.0)
                .bind(track.0)
                .bind(caption)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            self.count_track(&mut tx, kind, track, -1).await?;
            tx.commit().await.map_err(store_error)?;
        } else {
            tx.rollback().await.map_err(store_error)?;
        }
        Ok(Linked::Already)
    }

    async fn unreact(&self, kind: Kind, user: UserId, track: TrackId) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let counted = self.count_track(&mut tx, kind, track, -1).await?;
        let removed = counted
            && sqlx::query(&format!("DELETE FROM {} WHERE user_id = $1 AND track_id = $2", kind.table()))
                .bind(user.0)
                .bind(track.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected()
                == 1;
        if removed { tx.commit().await } else { tx.rollback().await }.map_err(store_error)?;
        Ok(removed)
    }

    async fn reacted_tracks(
        &self,
        kind: Kind,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>> {
        let rows: Vec<TrackEdgeRow> = sqlx::query_as(&format!(
            "SELECT r.id AS edge_id, r.created_at AS edge_at, {caption} AS edge_caption, {columns} \
             FROM {table} r JOIN tracks t ON t.id = r.track_id \
             WHERE r.user_id = $1 AND r.id < $2 \
             AND (t.visibility = 'public' OR t.owner_id = $3 OR (r.user_id = $3 AND t.visibility = 'unlisted')) \
             ORDER BY r.id DESC LIMIT $4",
            caption = kind.caption(),
            columns = track_columns_of_t(),
            table = kind.table(),
        ))
        .bind(user.0)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(viewer.map_or(0, |v| v.0))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter()
            .map(|r| {
                Ok(Edge {
                    id: r.edge_id,
                    item: Track::try_from(r.track)?,
                    at: from_micros(r.edge_at)?,
                    caption: r.edge_caption,
                })
            })
            .collect()
    }

    async fn reactors(&self, kind: Kind, track: TrackId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        let rows: Vec<EdgeRow> = sqlx::query_as(&format!(
            "SELECT r.id, r.user_id AS other, r.created_at, {caption} AS caption FROM {table} r \
             WHERE r.track_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3",
            caption = kind.caption(),
            table = kind.table(),
        ))
        .bind(track.0)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(EdgeRow::into_edge).collect()
    }
}

#[async_trait]
impl ReactionRepo for Database {
    async fn like(&self, id: i64, user: UserId, track: TrackId, at: OffsetDateTime) -> StoreResult<Linked> {
        self.react(Kind::Like, id, user, track, None, at).await
    }

    async fn unlike(&self, user: UserId, track: TrackId) -> StoreResult<bool> {
        self.unreact(Kind::Like, user, track).await
    }

    async fn liked_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>> {
        self.reacted_tracks(Kind::Like, user, viewer, page).await
    }

    async fn likers(&self, track: TrackId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        self.reactors(Kind::Like, track, page).await
    }

    async fn repost(
        &self,
        id: i64,
        user: UserId,
        track: TrackId,
        caption: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<Linked> {
        self.react(Kind::Repost, id, user, track, caption, at).await
    }

    async fn unrepost(&self, user: UserId, track: TrackId) -> StoreResult<bool> {
        self.unreact(Kind::Repost, user, track).await
    }

    async fn reposted_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>> {
        self.reacted_tracks(Kind::Repost, user, viewer, page).await
    }

    async fn reposters(&self, track: TrackId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        self.reactors(Kind::Repost, track, page).await
    }
}

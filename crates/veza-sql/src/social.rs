//! Follows, and likes and reposts of tracks and playlists. Each toggle is one transaction that moves the counter first and
//! then adds or removes the row, undoing the counter when the row was already there (or not):
//! the counter's row lock orders every toggle of the same track or account, so the counters stay
//! equal to the rows under any race. The locks are always taken in the same order — accounts by
//! ascending id, a track or playlist before its likes and reposts (as deleting one does) — so two
//! toggles never wait on each other in a cycle.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::catalog::track::Track;
use veza_core::id::{PlaylistId, TrackId, UserId};
use veza_core::page::PageRequest;
use veza_core::ports::{FollowRepo, ReactionRepo, StoreResult};
use veza_core::social::playlist::Playlist;
use veza_core::social::reactions::Target;
use veza_core::social::{Edge, FollowCounts, Linked};
use veza_core::user::User;

use crate::error::store_error;
use crate::playlists::{PlaylistRow, PLAYLIST};
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

/// The two kinds of reaction.
#[derive(Clone, Copy)]
enum Kind {
    Like,
    Repost,
}

impl Kind {
    /// The counter of the target's row (named alike on tracks and playlists).
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

/// Where one kind of reaction to one kind of target is kept.
struct Place {
    /// `likes`, `reposts`, `playlist_likes`, `playlist_reposts`.
    table: &'static str,
    /// The target's table.
    parent: &'static str,
    /// The reaction's column naming the target.
    key: &'static str,
    id: i64,
}

fn place(kind: Kind, target: Target) -> Place {
    match (kind, target) {
        (Kind::Like, Target::Track(t)) => Place { table: "likes", parent: "tracks", key: "track_id", id: t.0 },
        (Kind::Repost, Target::Track(t)) => Place { table: "reposts", parent: "tracks", key: "track_id", id: t.0 },
        (Kind::Like, Target::Playlist(p)) => {
            Place { table: "playlist_likes", parent: "playlists", key: "playlist_id", id: p.0 }
        }
        (Kind::Repost, Target::Playlist(p)) => {
            Place { table: "playlist_reposts", parent: "playlists", key: "playlist_id", id: p.0 }
        }
    }
}

/// What a list of someone's reactions may show `$3`: public things, their own, and, in their own
/// list (`r.user_id`), unlisted ones they reached; `alias` is the target's.
fn seen_by_viewer(alias: &str) -> String {
    format!(
        "({alias}.visibility = 'public' OR {alias}.owner_id = $3 OR (r.user_id = $3 AND {alias}.visibility = 'unlisted'))"
    )
}

#[derive(sqlx::FromRow)]
struct PlaylistEdgeRow {
    edge_id: i64,
    edge_at: i64,
    edge_caption: Option<String>,
    #[sqlx(flatten)]
    playlist: PlaylistRow,
}

impl Database {
    async fn count_target(&self, tx: &mut WriteTx, kind: Kind, target: Target, by: i64) -> StoreResult<bool> {
        let (counter, at) = (kind.counter(), place(kind, target));
        let moved = sqlx::query(&format!("UPDATE {} SET {counter} = {counter} + $2 WHERE id = $1", at.parent))
            .bind(at.id)
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
        target: Target,
        caption: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<Linked> {
        let Place { table, key, id: target_id, .. } = place(kind, target);
        let mut tx = self.begin().await.map_err(store_error)?;
        if !self.count_target(&mut tx, kind, target, 1).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(Linked::Gone);
        }
        let insert = match kind {
            Kind::Like => format!(
                "INSERT INTO {table} (id, user_id, {key}, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, {key}) DO NOTHING"
            ),
            Kind::Repost => format!(
                "INSERT INTO {table} (id, user_id, {key}, created_at, caption) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, {key}) DO NOTHING"
            ),
        };
        let mut insert = sqlx::query(&insert).bind(id).bind(user.0).bind(target_id).bind(to_micros(at));
        if matches!(kind, Kind::Repost) {
            insert = insert.bind(caption);
        }
        let made = insert.execute(&mut *tx).await.map_err(store_error)?;
        if made.rows_affected() == 1 {
            tx.commit().await.map_err(store_error)?;
            return Ok(Linked::Made);
        }
        if matches!(kind, Kind::Repost) {
            sqlx::query(&format!("UPDATE {table} SET caption = $3 WHERE user_id = $1 AND {key} = $2"))
                .bind(user.0)
                .bind(target_id)
                .bind(caption)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            self.count_target(&mut tx, kind, target, -1).await?;
            tx.commit().await.map_err(store_error)?;
        } else {
            tx.rollback().await.map_err(store_error)?;
        }
        Ok(Linked::Already)
    }

    async fn unreact(&self, kind: Kind, user: UserId, target: Target) -> StoreResult<bool> {
        let Place { table, key, id: target_id, .. } = place(kind, target);
        let mut tx = self.begin().await.map_err(store_error)?;
        let counted = self.count_target(&mut tx, kind, target, -1).await?;
        let removed = counted
            && sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1 AND {key} = $2"))
                .bind(user.0)
                .bind(target_id)
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
        let table = place(kind, Target::Track(TrackId(0))).table;
        let rows: Vec<TrackEdgeRow> = sqlx::query_as(&format!(
            "SELECT r.id AS edge_id, r.created_at AS edge_at, {caption} AS edge_caption, {columns} \
             FROM {table} r JOIN tracks t ON t.id = r.track_id \
             WHERE r.user_id = $1 AND r.id < $2 AND {seen} ORDER BY r.id DESC LIMIT $4",
            caption = kind.caption(),
            columns = track_columns_of_t(),
            seen = seen_by_viewer("t"),
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

    async fn reacted_playlists(
        &self,
        kind: Kind,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Playlist>>> {
        let table = place(kind, Target::Playlist(PlaylistId(0))).table;
        let rows: Vec<PlaylistEdgeRow> = sqlx::query_as(&format!(
            "SELECT r.id AS edge_id, r.created_at AS edge_at, {caption} AS edge_caption, {PLAYLIST} \
             FROM {table} r JOIN playlists p ON p.id = r.playlist_id \
             WHERE r.user_id = $1 AND r.id < $2 AND ({seen} OR EXISTS (SELECT 1 FROM playlist_collaborators c \
             WHERE c.playlist_id = p.id AND c.user_id = $3)) ORDER BY r.id DESC LIMIT $4",
            caption = kind.caption(),
            seen = seen_by_viewer("p"),
        ))
        .bind(user.0)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(viewer.map_or(0, |v| v.0))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let edges: Vec<(i64, i64, Option<String>)> =
            rows.iter().map(|r| (r.edge_id, r.edge_at, r.edge_caption.clone())).collect();
        let playlists = self.with_collaborators(rows.into_iter().map(|r| r.playlist).collect()).await?;
        edges
            .into_iter()
            .zip(playlists)
            .map(|((id, at, caption), item)| Ok(Edge { id, item, at: from_micros(at)?, caption }))
            .collect()
    }

    async fn reactors(&self, kind: Kind, target: Target, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        let Place { table, key, id, .. } = place(kind, target);
        let rows: Vec<EdgeRow> = sqlx::query_as(&format!(
            "SELECT r.id, r.user_id AS other, r.created_at, {caption} AS caption FROM {table} r \
             WHERE r.{key} = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3",
            caption = kind.caption(),
        ))
        .bind(id)
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
    async fn like(&self, id: i64, user: UserId, target: Target, at: OffsetDateTime) -> StoreResult<Linked> {
        self.react(Kind::Like, id, user, target, None, at).await
    }

    async fn unlike(&self, user: UserId, target: Target) -> StoreResult<bool> {
        self.unreact(Kind::Like, user, target).await
    }

    async fn liked_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>> {
        self.reacted_tracks(Kind::Like, user, viewer, page).await
    }

    async fn liked_playlists(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Playlist>>> {
        self.reacted_playlists(Kind::Like, user, viewer, page).await
    }

    async fn likers(&self, target: Target, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        self.reactors(Kind::Like, target, page).await
    }

    async fn repost(
        &self,
        id: i64,
        user: UserId,
        target: Target,
        caption: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<Linked> {
        self.react(Kind::Repost, id, user, target, caption, at).await
    }

    async fn unrepost(&self, user: UserId, target: Target) -> StoreResult<bool> {
        self.unreact(Kind::Repost, user, target).await
    }

    async fn reposted_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>> {
        self.reacted_tracks(Kind::Repost, user, viewer, page).await
    }

    async fn reposted_playlists(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Playlist>>> {
        self.reacted_playlists(Kind::Repost, user, viewer, page).await
    }

    async fn reposters(&self, target: Target, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        self.reactors(Kind::Repost, target, page).await
    }
}

//! Tracks and the durable queue of jobs that process them. A claim is one conditional UPDATE,
//! as for mail (`mail.rs`): a job is held by at most one worker at a time, and a worker that
//! dies lets go when its lease ends.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::catalog::job::{Claim, Finished, Job, JobId, NewJob, Outcome};
use veza_core::catalog::track::{
    AudioFormat, Loudness, Original, Track, TrackCounts, TrackPatch, TrackState, Visibility,
};
use veza_core::id::{TrackId, UserId};
use veza_core::page::PageRequest;
use veza_core::ports::{JobQueue, StoreError, StoreResult, TrackRepo};

use crate::error::store_error;
use crate::rows::{from_micros, placeholders, to_micros};
use crate::Database;

const TRACK: &str = "id, owner_id, title, description, genre, tags, artist, album, year, visibility, downloadable, \
     share_token, state, progress, failure, original_format, original_size, original_name, has_cover, duration_ms, \
     loudness_lufs, true_peak_dbtp, comments_closed, like_count, repost_count, comment_count, created_at, updated_at";

/// [`TRACK`] with each column named through the alias `t`, for queries that join tracks.
pub(crate) fn track_columns_of_t() -> String {
    TRACK.split(", ").map(|c| format!("t.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// The condition every write of a claim carries (`$1` the job, `$2` the claim's attempt): the
/// job unfinished and still at that attempt, so a claim taken over writes nothing.
const HELD: &str = "id = $1 AND attempts = $2 AND finished_at IS NULL";

/// The one kind of job so far.
const PROCESS_TRACK: &str = "process_track";
/// Longest error text kept for a failed attempt.
const ERROR_MAX: usize = 1000;

#[derive(sqlx::FromRow)]
pub(crate) struct TrackRow {
    id: i64,
    owner_id: i64,
    title: String,
    description: String,
    genre: Option<String>,
    tags: String,
    artist: Option<String>,
    album: Option<String>,
    year: Option<i64>,
    visibility: String,
    downloadable: i64,
    share_token: String,
    state: String,
    progress: i64,
    failure: Option<String>,
    original_format: String,
    original_size: i64,
    original_name: String,
    has_cover: i64,
    duration_ms: i64,
    loudness_lufs: Option<f64>,
    true_peak_dbtp: Option<f64>,
    comments_closed: i64,
    like_count: i64,
    repost_count: i64,
    comment_count: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<TrackRow> for Track {
    type Error = StoreError;

    fn try_from(r: TrackRow) -> StoreResult<Self> {
        let corrupt = |what: &str, v: &str| StoreError::Other(format!("corrupt track {what} in database: {v}"));
        Ok(Track {
            id: TrackId(r.id),
            owner_id: UserId(r.owner_id),
            title: r.title,
            description: r.description,
            genre: r.genre,
            tags: if r.tags.is_empty() { Vec::new() } else { r.tags.split('\n').map(str::to_owned).collect() },
            artist: r.artist,
            album: r.album,
            year: r.year.and_then(|y| i32::try_from(y).ok()),
            visibility: Visibility::parse(&r.visibility).ok_or_else(|| corrupt("visibility", &r.visibility))?,
            downloadable: r.downloadable != 0,
            share_token: r.share_token,
            state: TrackState::parse(&r.state).ok_or_else(|| corrupt("state", &r.state))?,
            progress: u8::try_from(r.progress.clamp(0, 100)).unwrap_or(0),
            failure: r.failure,
            original: Original {
                format: AudioFormat::parse(&r.original_format).ok_or_else(|| corrupt("format", &r.original_format))?,
                size: u64::try_from(r.original_size).map_err(|_| corrupt("size", &r.original_size.to_string()))?,
                file_name: r.original_name,
            },
            has_cover: r.has_cover != 0,
            duration_ms: u64::try_from(r.duration_ms).unwrap_or(0),
            loudness: r
                .loudness_lufs
                .zip(r.true_peak_dbtp)
                .map(|(integrated_lufs, true_peak_dbtp)| Loudness { integrated_lufs, true_peak_dbtp }),
            comments_closed: r.comments_closed != 0,
            counts: TrackCounts {
                likes: u64::try_from(r.like_count).unwrap_or(0),
                reposts: u64::try_from(r.repost_count).unwrap_or(0),
                comments: u64::try_from(r.comment_count).unwrap_or(0),
            },
            created_at: from_micros(r.created_at)?,
            updated_at: from_micros(r.updated_at)?,
        })
    }
}

/// Moves the owner's count of public tracks by `change`, inside the transaction that made the
/// change.
async fn count_public(tx: &mut crate::WriteTx, owner: UserId, change: i64) -> StoreResult<()> {
    sqlx::query("UPDATE users SET track_count = track_count + $2 WHERE id = $1")
        .bind(owner.0)
        .bind(change)
        .execute(&mut **tx)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) fn rows_to_tracks(rows: Vec<TrackRow>) -> StoreResult<Vec<Track>> {
    rows.into_iter().map(Track::try_from).collect()
}

#[async_trait]
impl TrackRepo for Database {
    async fn create_track(&self, t: &Track, job: &NewJob) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query(
            "INSERT INTO tracks (id, owner_id, title, description, genre, tags, artist, album, year, visibility, \
             downloadable, share_token, state, progress, failure, original_format, original_size, original_name, \
             has_cover, duration_ms, loudness_lufs, true_peak_dbtp, created_at, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
        )
        .bind(t.id.0)
        .bind(t.owner_id.0)
        .bind(&t.title)
        .bind(&t.description)
        .bind(t.genre.as_deref())
        .bind(t.tags.join("\n"))
        .bind(t.artist.as_deref())
        .bind(t.album.as_deref())
        .bind(t.year.map(i64::from))
        .bind(t.visibility.as_str())
        .bind(i64::from(t.downloadable))
        .bind(&t.share_token)
        .bind(t.state.as_str())
        .bind(i64::from(t.progress))
        .bind(t.failure.as_deref())
        .bind(t.original.format.as_str())
        .bind(i64::try_from(t.original.size).unwrap_or(i64::MAX))
        .bind(&t.original.file_name)
        .bind(i64::from(t.has_cover))
        .bind(i64::try_from(t.duration_ms).unwrap_or(i64::MAX))
        .bind(t.loudness.map(|l| l.integrated_lufs))
        .bind(t.loudness.map(|l| l.true_peak_dbtp))
        .bind(to_micros(t.created_at))
        .bind(to_micros(t.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if t.visibility == Visibility::Public {
            count_public(&mut tx, t.owner_id, 1).await?;
        }
        sqlx::query("INSERT INTO jobs (id, kind, track_id, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(job.id.0)
            .bind(PROCESS_TRACK)
            .bind(job.track_id.0)
            .bind(to_micros(t.created_at))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn track(&self, id: TrackId) -> StoreResult<Option<Track>> {
        let row: Option<TrackRow> = sqlx::query_as(&format!("SELECT {TRACK} FROM tracks WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(Track::try_from).transpose()
    }

    async fn tracks_by_owner(&self, owner: UserId, all: bool, page: PageRequest) -> StoreResult<Vec<Track>> {
        let rows: Vec<TrackRow> = sqlx::query_as(&format!(
            "SELECT {TRACK} FROM tracks WHERE owner_id = $1 AND ($2 = 1 OR visibility = 'public') AND id < $3 \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(owner.0)
        .bind(i64::from(all))
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows_to_tracks(rows)
    }

    async fn update_track(&self, id: TrackId, p: &TrackPatch, now: OffsetDateTime) -> StoreResult<Option<Track>> {
        let mut tx = self.begin().await.map_err(store_error)?;
        // The visibility before, read under the row's lock (a write that changes nothing), so
        // that two edits racing to change it count the change once.
        let before: Option<(String,)> =
            sqlx::query_as("UPDATE tracks SET visibility = visibility WHERE id = $1 RETURNING visibility")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
        let Some((before,)) = before else {
            tx.rollback().await.map_err(store_error)?;
            return Ok(None);
        };
        // Each field is written only when the patch has it, so concurrent edits of different
        // fields both survive.
        let row: TrackRow = sqlx::query_as(&format!(
            "UPDATE tracks SET title = COALESCE($2, title), description = COALESCE($3, description), \
             genre = CASE WHEN $4 = 1 THEN $5 ELSE genre END, tags = COALESCE($6, tags), \
             visibility = COALESCE($7, visibility), downloadable = COALESCE($8, downloadable), updated_at = $9, \
             comments_closed = COALESCE($10, comments_closed) WHERE id = $1 RETURNING {TRACK}"
        ))
        .bind(id.0)
        .bind(p.title.as_deref())
        .bind(p.description.as_deref())
        .bind(i64::from(p.genre.is_some()))
        .bind(p.genre.clone().flatten())
        .bind(p.tags.as_ref().map(|t| t.join("\n")))
        .bind(p.visibility.map(Visibility::as_str))
        .bind(p.downloadable.map(i64::from))
        .bind(to_micros(now))
        .bind(p.comments_closed.map(i64::from))
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        let public = |v: &str| i64::from(v == Visibility::Public.as_str());
        let change = public(&row.visibility) - public(&before);
        if change != 0 {
            count_public(&mut tx, UserId(row.owner_id), change).await?;
        }
        tx.commit().await.map_err(store_error)?;
        Track::try_from(row).map(Some)
    }

    async fn delete_track(&self, id: TrackId) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query("DELETE FROM jobs WHERE track_id = $1").bind(id.0).execute(&mut *tx).await.map_err(store_error)?;
        let deleted: Option<(i64, String)> =
            sqlx::query_as("DELETE FROM tracks WHERE id = $1 RETURNING owner_id, visibility")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
        if let Some((owner, visibility)) = &deleted {
            if visibility == Visibility::Public.as_str() {
                count_public(&mut tx, UserId(*owner), -1).await?;
            }
        }
        tx.commit().await.map_err(store_error)?;
        Ok(deleted.is_some())
    }

    async fn public_track_counts(&self, owners: &[UserId]) -> StoreResult<Vec<(UserId, u64)>> {
        let ids: Vec<i64> = owners.iter().map(|o| o.0).collect();
        let sql = format!("SELECT id, track_count FROM users WHERE id IN ({})", placeholders(1, ids.len()));
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in &ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        Ok(rows.into_iter().map(|(id, n)| (UserId(id), u64::try_from(n).unwrap_or(0))).collect())
    }

    async fn track_progress(&self, claim: Claim, id: TrackId, percent: u8) -> StoreResult<()> {
        sqlx::query(&format!(
            "UPDATE tracks SET progress = $4 WHERE id = $3 AND state = 'processing' \
             AND EXISTS (SELECT 1 FROM jobs WHERE {HELD})"
        ))
        .bind(claim.job.0)
        .bind(i64::from(claim.attempt))
        .bind(id.0)
        .bind(i64::from(percent))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn finish_track(
        &self,
        claim: Claim,
        id: TrackId,
        outcome: &Outcome,
        now: OffsetDateTime,
    ) -> StoreResult<Finished> {
        let mut tx = self.begin().await.map_err(store_error)?;
        // The job first: it is the fence, and on SQLite writing first takes the write lock.
        let ended = sqlx::query(&format!("UPDATE jobs SET finished_at = $3, lease_until = NULL WHERE {HELD}"))
            .bind(claim.job.0)
            .bind(i64::from(claim.attempt))
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if ended.rows_affected() == 0 {
            let job: Option<(i64,)> = sqlx::query_as("SELECT id FROM jobs WHERE id = $1")
                .bind(claim.job.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
            tx.rollback().await.map_err(store_error)?;
            // Jobs go with their track, so no job row means no track.
            return Ok(if job.is_some() { Finished::Fenced } else { Finished::TrackGone });
        }
        let ready = format!(
            "UPDATE tracks SET state = 'ready', progress = 100, failure = NULL, duration_ms = $2, \
             loudness_lufs = $3, true_peak_dbtp = $4, updated_at = $5 WHERE id = $1 RETURNING {TRACK}"
        );
        let failed = format!(
            "UPDATE tracks SET state = 'failed', failure = $2, updated_at = $3 WHERE id = $1 RETURNING {TRACK}"
        );
        let query = match outcome {
            Outcome::Ready { duration_ms, loudness } => sqlx::query_as::<_, TrackRow>(&ready)
                .bind(id.0)
                .bind(i64::try_from(*duration_ms).unwrap_or(i64::MAX))
                .bind(loudness.integrated_lufs)
                .bind(loudness.true_peak_dbtp)
                .bind(to_micros(now)),
            Outcome::Failed { reason } => {
                sqlx::query_as::<_, TrackRow>(&failed).bind(id.0).bind(reason.as_str()).bind(to_micros(now))
            }
        };
        let row = query.fetch_optional(&mut *tx).await.map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(match row {
            Some(row) => Finished::Done(Box::new(Track::try_from(row)?)),
            None => Finished::TrackGone,
        })
    }
}

#[async_trait]
impl JobQueue for Database {
    async fn claim_job(&self, now: OffsetDateTime, lease_until: OffsetDateTime) -> StoreResult<Option<Job>> {
        let free = "finished_at IS NULL AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2)";
        let row: Option<(i64, i64, i64, Option<String>)> = sqlx::query_as(&format!(
            "UPDATE jobs SET lease_until = $1, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE {free} ORDER BY next_attempt_at, id LIMIT 1) AND {free} \
             RETURNING id, track_id, CAST(attempts AS BIGINT), last_error"
        ))
        .bind(to_micros(lease_until))
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(row.map(|(id, track, attempts, last_error)| Job {
            id: JobId(id),
            track_id: TrackId(track),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            last_error,
        }))
    }

    async fn renew_job(&self, claim: Claim, lease_until: OffsetDateTime) -> StoreResult<bool> {
        let renewed = sqlx::query(&format!("UPDATE jobs SET lease_until = $3 WHERE {HELD}"))
            .bind(claim.job.0)
            .bind(i64::from(claim.attempt))
            .bind(to_micros(lease_until))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(renewed.rows_affected() > 0)
    }

    async fn retry_job(&self, claim: Claim, at: OffsetDateTime, error: &str) -> StoreResult<bool> {
        let error: String = error.chars().take(ERROR_MAX).collect();
        let released = sqlx::query(&format!(
            "UPDATE jobs SET next_attempt_at = $3, lease_until = NULL, last_error = $4 WHERE {HELD}"
        ))
        .bind(claim.job.0)
        .bind(i64::from(claim.attempt))
        .bind(to_micros(at))
        .bind(error)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(released.rows_affected() > 0)
    }
}

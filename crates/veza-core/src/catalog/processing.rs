//! What a job worker does: claim the next processing job, have the media pipeline make the
//! renditions, and record how it ended. Jobs survive restarts (they live in the database); a
//! worker that dies holding one lets go when its lease ends, and the job runs again.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::catalog::job::{Job, JobId, Outcome};
use crate::catalog::media::{MediaError, ProgressReport};
use crate::catalog::renditions::{self, Rendition};
use crate::catalog::track::{Track, REASON_MAX};
use crate::catalog::Catalog;
use crate::chat::event::ChatEvent;
use crate::clock::Clock;
use crate::error::CoreError;
use crate::id::TrackId;
use crate::ports::TrackRepo;

/// A claim holds a job this long; each progress report extends it. The pipeline reports at
/// least every few seconds while ffmpeg runs, and gives up on an ffmpeg silent for a minute.
pub const LEASE: Duration = Duration::from_secs(120);
/// Attempts before a job fails for good on errors the file does not explain (a crash, storage).
pub const MAX_ATTEMPTS: u32 = 3;
/// The first retry waits this long; each later one twice as long as the one before.
pub const FIRST_RETRY: Duration = Duration::from_secs(15);
/// Progress is written at most this often: a 5-minute track then costs a dozen writes.
const PROGRESS_EVERY: time::Duration = time::Duration::seconds(1);

impl Catalog {
    /// Runs the next due job, if there is one: `Ok(true)` when a job was handled (whatever its
    /// outcome), `Ok(false)` when the queue had nothing due.
    pub async fn run_next_job(&self) -> Result<bool, CoreError> {
        let now = self.deps.clock.now();
        let Some(job) = self.deps.jobs.claim_job(now, now + LEASE).await? else { return Ok(false) };
        let Some(track) = self.deps.tracks.track(job.track_id).await? else {
            return Ok(true); // deleted since; its job went with it
        };
        if job.attempts > MAX_ATTEMPTS {
            let reason = job.last_error.clone().unwrap_or_else(|| "processing was interrupted too often".into());
            self.finish(&job, &track, Outcome::Failed { reason }).await?;
            return Ok(true);
        }
        tracing::info!(track = %track.id, attempt = job.attempts, "processing a track");
        let progress = Progress {
            tracks: self.deps.tracks.as_ref(),
            clock: self.deps.clock.as_ref(),
            job: job.id,
            track: track.id,
            last: Mutex::new(None),
        };
        let result = self
            .deps
            .media
            .process(track.id, &track.original_key(), track.duration_ms, track.has_cover, &progress)
            .await;
        let outcome = match result {
            Ok(done) => Outcome::Ready { duration_ms: done.duration_ms, loudness: done.loudness },
            Err(MediaError::Unsupported(why) | MediaError::Undecodable(why)) => Outcome::Failed { reason: why },
            Err(e) if job.attempts < MAX_ATTEMPTS => {
                let wait = FIRST_RETRY * 2u32.pow(job.attempts.saturating_sub(1));
                tracing::warn!(track = %track.id, attempt = job.attempts, error = %e, retry_in = ?wait, "processing failed; will retry");
                self.deps.jobs.retry_job(job.id, self.deps.clock.now() + wait, &e.to_string()).await?;
                return Ok(true);
            }
            Err(e) => Outcome::Failed { reason: format!("processing failed {MAX_ATTEMPTS} times; last: {e}") },
        };
        self.finish(&job, &track, outcome).await?;
        Ok(true)
    }

    async fn finish(&self, job: &Job, track: &Track, outcome: Outcome) -> Result<(), CoreError> {
        let outcome = match outcome {
            Outcome::Failed { reason } => {
                // A failed track keeps only its original: no half-made rendition stays behind.
                self.remove_renditions(track.id).await?;
                Outcome::Failed { reason: reason.chars().take(REASON_MAX).collect() }
            }
            ready => ready,
        };
        let now = self.deps.clock.now();
        let Some(done) = self.deps.tracks.finish_track(job.id, track.id, &outcome, now).await? else {
            // Deleted while it processed: what the pipeline stored must not outlive it.
            self.deps.store.delete_prefix(&Track::storage_prefix(track.id)).await?;
            return Ok(());
        };
        match &done.failure {
            Some(reason) => tracing::warn!(track = %done.id, reason, "track failed to process"),
            None => tracing::info!(track = %done.id, duration_ms = done.duration_ms, "track ready"),
        }
        self.deps
            .events
            .publish(ChatEvent::TrackProcessed {
                owner_id: done.owner_id,
                track_id: done.id,
                state: done.state,
                failure: done.failure.clone(),
            })
            .await;
        Ok(())
    }

    async fn remove_renditions(&self, id: TrackId) -> Result<(), CoreError> {
        for r in Rendition::ALL.into_iter().filter(|r| *r != Rendition::Original) {
            self.deps.store.delete_prefix(&r.key(id, "")).await?;
        }
        self.deps.store.delete_prefix(&renditions::waveform_prefix(id)).await?;
        Ok(())
    }
}

/// Writes a job's progress to its track, at most every [`PROGRESS_EVERY`], renewing the lease.
struct Progress<'a> {
    tracks: &'a dyn TrackRepo,
    clock: &'a dyn Clock,
    job: JobId,
    track: TrackId,
    last: Mutex<Option<(OffsetDateTime, u8)>>,
}

#[async_trait]
impl ProgressReport for Progress<'_> {
    async fn report(&self, percent: u8) {
        let now = self.clock.now();
        let percent = percent.min(99); // 100 means stored, which only finishing says
        {
            let mut last = self.last.lock().expect("progress lock");
            if last.is_some_and(|(at, p)| p == percent || now - at < PROGRESS_EVERY) {
                return;
            }
            *last = Some((now, percent));
        }
        if let Err(e) = self.tracks.track_progress(self.job, self.track, percent, now + LEASE).await {
            tracing::warn!(track = %self.track, error = %e, "could not record processing progress");
        }
    }
}

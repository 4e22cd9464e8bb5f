//! What a job worker does: claim the next processing job, have the media pipeline make the
//! renditions, and record how it ended. Jobs survive restarts (they live in the database); a
//! worker that dies holding one lets go when its lease ends, and the job runs again.
//!
//! A claim is fenced ([`Claim`]): the worker renews its lease on a timer for as long as the job
//! runs, whatever the pipeline is doing (fetching the original, a silent ffmpeg, storing), and
//! every write it makes carries the claim. A worker that loses its lease — taken over after it
//! could not renew in time — finds its writes refused, stops its run, and leaves the job to the
//! worker that holds it now; it never fails a track another made ready, nor deletes its files.

use std::pin::pin;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::{select, Either};
use time::OffsetDateTime;

use crate::catalog::job::{Claim, Finished, Job, Outcome};
use crate::catalog::media::{MediaError, ProgressReport};
use crate::catalog::renditions::{self, Rendition};
use crate::catalog::track::{Track, REASON_MAX};
use crate::catalog::Catalog;
use crate::chat::event::ChatEvent;
use crate::clock::Clock;
use crate::error::CoreError;
use crate::id::TrackId;
use crate::ports::TrackRepo;

/// A claim holds a job this long unless renewed (the default of `CatalogPolicy::lease`): how
/// long a dead worker's job waits before another takes it.
pub const LEASE: Duration = Duration::from_secs(120);
/// A live worker renews its lease every quarter of it, so a renewal can fail twice (the
/// database briefly away) before the lease is in danger.
const RENEWALS_PER_LEASE: u32 = 4;
/// Attempts before a job fails for good on errors the file does not explain (a crash, storage).
pub const MAX_ATTEMPTS: u32 = 3;
/// The first retry waits this long; each later one twice as long as the one before.
pub const FIRST_RETRY: Duration = Duration::from_secs(15);
/// Progress is written at most this often: a 5-minute track then costs a dozen writes.
const PROGRESS_EVERY: time::Duration = time::Duration::seconds(1);

impl Catalog {
    /// Runs the next due job, if there is one: `Ok(true)` when a job was handled (whatever its
    /// outcome, or its lease lost), `Ok(false)` when the queue had nothing due.
    pub async fn run_next_job(&self) -> Result<bool, CoreError> {
        if self.deps.media.unavailable().is_some() {
            return Ok(false); // the jobs wait for a node that has the tools
        }
        let now = self.deps.clock.now();
        let lease = self.deps.policy.lease;
        let Some(job) = self.deps.jobs.claim_job(now, now + lease).await? else { return Ok(false) };
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
            claim: job.claim(),
            track: track.id,
            last: Mutex::new(None),
        };
        let original = track.original_key();
        let run = self.deps.media.process(track.id, &original, track.duration_ms, track.has_cover, &progress);
        // The run is dropped (ffmpeg killed, its scratch folder removed) if the lease is lost.
        let result = match select(pin!(run), pin!(self.hold_lease(job.claim()))).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => {
                tracing::warn!(track = %track.id, attempt = job.attempts, "lost the job's lease; stopped processing");
                // Lost because the track was deleted (its job went with it): what this run
                // stored must not wait for the sweep.
                if self.deps.tracks.track(track.id).await?.is_none() {
                    self.deps.store.delete_prefix(&Track::storage_prefix(track.id)).await?;
                }
                return Ok(true);
            }
        };
        let outcome = match result {
            Ok(done) => Outcome::Ready { duration_ms: done.duration_ms, loudness: done.loudness },
            Err(MediaError::Unsupported(why) | MediaError::Undecodable(why)) => Outcome::Failed { reason: why },
            Err(e) if job.attempts < MAX_ATTEMPTS => {
                let wait = FIRST_RETRY * 2u32.pow(job.attempts.saturating_sub(1));
                tracing::warn!(track = %track.id, attempt = job.attempts, error = %e, retry_in = ?wait, "processing failed; will retry");
                if !self.deps.jobs.retry_job(job.claim(), self.deps.clock.now() + wait, &e.to_string()).await? {
                    tracing::warn!(track = %track.id, "the job was taken over meanwhile; its retry is not recorded");
                }
                return Ok(true);
            }
            Err(e) => Outcome::Failed { reason: format!("processing failed {MAX_ATTEMPTS} times; last: {e}") },
        };
        self.finish(&job, &track, outcome).await?;
        Ok(true)
    }

    /// Renews the claim's lease every [`RENEWALS_PER_LEASE`]th of it for as long as the job
    /// runs. Returns when the lease is lost: the claim was taken over, or renewals failed until
    /// the lease would run out before the next one (the worker can no longer know it holds it).
    async fn hold_lease(&self, claim: Claim) {
        let lease = self.deps.policy.lease;
        let every = lease / RENEWALS_PER_LEASE;
        let mut held_until = self.deps.clock.now() + lease;
        loop {
            self.deps.timer.sleep(every).await;
            let asked_at = self.deps.clock.now();
            match self.deps.jobs.renew_job(claim, asked_at + lease).await {
                Ok(true) => held_until = asked_at + lease,
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(job = claim.job.0, error = %e, "could not renew a job's lease");
                    if self.deps.clock.now() + every >= held_until {
                        return;
                    }
                }
            }
        }
    }

    /// Records how the run ended, if the claim still holds the job. A failure first renews the
    /// lease, so the renditions it removes cannot be another worker's.
    async fn finish(&self, job: &Job, track: &Track, outcome: Outcome) -> Result<(), CoreError> {
        let claim = job.claim();
        let outcome = match outcome {
            Outcome::Failed { reason } => {
                let now = self.deps.clock.now();
                if !self.deps.jobs.renew_job(claim, now + self.deps.policy.lease).await? {
                    tracing::warn!(track = %track.id, "the job was taken over meanwhile; its failure is not recorded");
                    return Ok(());
                }
                // A failed track keeps only its original: no half-made rendition stays behind.
                self.remove_renditions(track.id).await?;
                Outcome::Failed { reason: reason.chars().take(REASON_MAX).collect() }
            }
            ready => ready,
        };
        let now = self.deps.clock.now();
        let done = match self.deps.tracks.finish_track(claim, track.id, &outcome, now).await? {
            Finished::Done(done) => *done,
            Finished::TrackGone => {
                // Deleted while it processed: what the pipeline stored must not outlive it.
                self.deps.store.delete_prefix(&Track::storage_prefix(track.id)).await?;
                return Ok(());
            }
            Finished::Fenced => {
                tracing::warn!(track = %track.id, "the job was taken over meanwhile; its end is not recorded");
                return Ok(());
            }
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

/// Writes a job's progress to its track, at most every [`PROGRESS_EVERY`] (the lease is renewed
/// by the run's own timer, not here).
struct Progress<'a> {
    tracks: &'a dyn TrackRepo,
    clock: &'a dyn Clock,
    claim: Claim,
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
        if let Err(e) = self.tracks.track_progress(self.claim, self.track, percent).await {
            tracing::warn!(track = %self.track, error = %e, "could not record processing progress");
        }
    }
}

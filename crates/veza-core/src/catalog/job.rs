//! Processing jobs: the durable queue's entries and how a processing run ends.

use crate::catalog::track::Loudness;
use crate::id::TrackId;

/// A job's row id (a snowflake, like every id; jobs are never shown to clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId(pub i64);

/// A job to enqueue with its track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub id: JobId,
    pub track_id: TrackId,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub track_id: TrackId,
    /// Including this one.
    pub attempts: u32,
    /// The error of the previous attempt, if it failed.
    pub last_error: Option<String>,
}

impl Job {
    /// The fence every write of this claim carries.
    pub fn claim(&self) -> Claim {
        Claim { job: self.id, attempt: self.attempts }
    }
}

/// One claim of a job, as a fencing token: every claim counts an attempt, so the attempt number
/// names the claim. A write that carries a claim (renewing the lease, progress, a retry, the
/// end) changes something only while the job is unfinished and still at that attempt; a worker
/// whose lease lapsed and was taken over finds its writes refused and stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub job: JobId,
    pub attempt: u32,
}

/// How recording a job's end went.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    /// Recorded: the track as it now is.
    Done(Box<crate::catalog::track::Track>),
    /// The track (and its job with it) was deleted meanwhile.
    TrackGone,
    /// The claim was taken over (its lease lapsed): nothing was written.
    Fenced,
}

/// How processing ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ready { duration_ms: u64, loudness: Loudness },
    Failed { reason: String },
}

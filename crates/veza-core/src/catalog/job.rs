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

/// How processing ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ready { duration_ms: u64, loudness: Loudness },
    Failed { reason: String },
}

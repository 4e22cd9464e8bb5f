//! The catalog: tracks, from the upload of an original through processing into renditions, to
//! the signed URLs listeners play them from. `tracks.rs` holds what clients ask for,
//! `processing.rs` what the job workers do; the media itself is moved and transcoded behind the
//! ports of `media.rs`.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, Timer};
use crate::id::IdGenerator;
use crate::ports::{ChatEvents, JobQueue, TrackRepo};

pub mod fakes;
pub mod job;
pub mod media;
pub mod processing;
pub mod renditions;
pub mod sweep;
pub mod track;
pub mod tracks;

#[cfg(test)]
mod tests;

/// Wakes the job workers of this node when it has queued a job, so processing starts at once
/// rather than at the next poll.
pub trait JobWake: Send + Sync + std::fmt::Debug {
    fn wake(&self);
}

/// What the catalog's use cases need.
#[derive(Debug, Clone)]
pub struct CatalogDeps {
    pub tracks: Arc<dyn TrackRepo>,
    pub jobs: Arc<dyn JobQueue>,
    pub store: Arc<dyn media::ObjectStore>,
    pub media: Arc<dyn media::MediaPipeline>,
    pub clock: Arc<dyn Clock>,
    /// The job workers' lease renewals wait on it.
    pub timer: Arc<dyn Timer>,
    pub ids: Arc<dyn IdGenerator>,
    /// Where finished processing is announced (the gateway's bus).
    pub events: Arc<dyn ChatEvents>,
    pub wake: Arc<dyn JobWake>,
    pub signer: renditions::MediaSigner,
    pub policy: CatalogPolicy,
}

#[derive(Debug, Clone)]
pub struct CatalogPolicy {
    /// How long a signed media URL stays valid.
    pub url_ttl: Duration,
    /// Send players straight to the object store (presigned URLs) for segments and files,
    /// instead of proxying them.
    pub redirect_to_store: bool,
    /// How long a processing job's claim lasts unless renewed ([`processing::LEASE`] by
    /// default): a dead worker's job is taken up again after it.
    pub lease: Duration,
}

/// The catalog's use cases.
#[derive(Debug, Clone)]
pub struct Catalog {
    deps: CatalogDeps,
}

impl Catalog {
    pub fn new(deps: CatalogDeps) -> Self {
        Self { deps }
    }
}

//! The media ports: object storage (the local filesystem or an S3-compatible store) and the
//! media pipeline (probing and transcoding, ffmpeg in `veza-media`), with the values that cross
//! them. The core names storage keys and decides what is allowed; the adapters move bytes.

use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::catalog::track::{AudioFormat, FileTags, Loudness};
use crate::error::CoreError;
use crate::id::TrackId;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object: {0}")]
    NotFound(String),
    /// The requested byte range lies outside the object.
    #[error("range not satisfiable (object has {size} bytes)")]
    BadRange { size: u64 },
    /// The store cannot be reached or failed: retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<StorageError> for CoreError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) => CoreError::NotFound("media file"),
            StorageError::BadRange { size } => CoreError::RangeNotSatisfiable { size },
            StorageError::Unavailable(m) => CoreError::Unavailable(m),
        }
    }
}

/// Facts about a stored object, for caching headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub last_modified: OffsetDateTime,
    /// The store's entity tag, when it has one.
    pub etag: Option<String>,
}

/// A byte stream read from storage.
pub type ByteStream = Pin<Box<dyn futures_core::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;

/// An object opened for reading: its facts, the part being read, and the bytes.
pub struct ObjectRead {
    pub info: ObjectInfo,
    /// The half-open byte range the body holds (the whole object when no range was asked).
    pub range: std::ops::Range<u64>,
    pub body: ByteStream,
}

impl std::fmt::Debug for ObjectRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectRead").field("info", &self.info).field("range", &self.range).finish_non_exhaustive()
    }
}

/// A byte range as HTTP asks for it (RFC 9110 §14.1.2), before the object's size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-last`, inclusive; `last` may lie past the end.
    FromTo(u64, u64),
    /// `first-`.
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The half-open range this selects in an object of `size` bytes, or `None` when it selects
    /// nothing there.
    pub fn resolve(self, size: u64) -> Option<std::ops::Range<u64>> {
        let range = match self {
            Self::FromTo(first, last) if first <= last => first..last.saturating_add(1).min(size),
            Self::FromTo(..) => return None,
            Self::From(first) => first..size,
            Self::Suffix(n) => size.saturating_sub(n)..size,
        };
        (range.start < range.end).then_some(range)
    }

    /// The half-open part of an object of `size` bytes a read asks for: all of it without a
    /// range, [`StorageError::BadRange`] for a range that selects nothing there.
    pub fn part_of(range: Option<Self>, size: u64) -> Result<std::ops::Range<u64>, StorageError> {
        match range {
            Some(r) => r.resolve(size).ok_or(StorageError::BadRange { size }),
            None => Ok(0..size),
        }
    }
}

/// Where tracks' files live. Keys are `/`-separated relative paths chosen by the core.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Stores the local file under `key`, streaming it; replaces an object of that key.
    async fn put_file(&self, key: &str, file: &Path) -> Result<(), StorageError>;
    /// Stores a small object from memory.
    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError>;
    /// Copies the object into a local file, streaming it.
    async fn fetch_to_file(&self, key: &str, file: &Path) -> Result<(), StorageError>;
    /// Reads a small object whole.
    async fn read(&self, key: &str) -> Result<Vec<u8>, StorageError>;
    /// Opens the object, or the part of it `range` selects.
    async fn open(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectRead, StorageError>;
    /// Removes every object whose key starts with `prefix`; no error when there is none.
    async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError>;
    /// Every object whose key starts with `prefix`, with when it was last written (for the
    /// sweep of files nothing points at).
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StorageError>;
    /// A URL of the store itself that lets anyone fetch the object until `ttl` has passed, when
    /// the store can make one (S3 presigned URLs); `None` for the local filesystem.
    async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<Option<String>, StorageError>;
}

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub modified: OffsetDateTime,
}

/// What probing a file found.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub format: AudioFormat,
    pub duration_ms: u64,
    pub sample_rate: u32,
    pub channels: u32,
    pub tags: FileTags,
}

/// Why the media pipeline refused or failed a file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not audio in a format Veza accepts (a text file, a video, a format outside the list).
    #[error("{0}")]
    Unsupported(String),
    /// An accepted format, but the audio cannot be decoded (truncated or corrupt).
    #[error("{0}")]
    Undecodable(String),
    /// Storage failed on the way; trying again later may work.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The tool failed in a way the file does not explain (ffmpeg crashed or is missing).
    #[error("{0}")]
    Tool(String),
}

/// What processing produced, all of it stored under the track's prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    pub duration_ms: u64,
    pub loudness: Loudness,
}

/// Told how far processing has come.
#[async_trait]
pub trait ProgressReport: Send + Sync {
    async fn report(&self, percent: u8);
}

/// Probing and transcoding. The adapter reads originals from and writes renditions to the
/// object store it was built with, under the keys of [`crate::catalog::renditions`].
#[async_trait]
pub trait MediaPipeline: Send + Sync + std::fmt::Debug {
    /// Reads a local file's format, duration and tags without decoding all of it.
    async fn probe(&self, file: &Path) -> Result<Probe, MediaError>;
    /// Decodes the stored original once and stores every rendition, the waveform and the
    /// measured loudness under the track's prefix, and the cover art when the probe found one
    /// (`has_cover`). Reports progress as it goes.
    async fn process(
        &self,
        track: TrackId,
        original_key: &str,
        expected_duration_ms: u64,
        has_cover: bool,
        progress: &dyn ProgressReport,
    ) -> Result<Processed, MediaError>;
    /// Why the pipeline cannot work on this node (its tools are missing), if it cannot.
    fn unavailable(&self) -> Option<&str> {
        None
    }
}

/// The pipeline of a node whose tools are missing: it says why, and the node runs without
/// uploads or processing (accounts, chat and playback of what is already processed work).
#[derive(Debug, Clone)]
pub struct MissingPipeline {
    /// What is missing and how to install it.
    pub reason: String,
}

#[async_trait]
impl MediaPipeline for MissingPipeline {
    async fn probe(&self, _: &Path) -> Result<Probe, MediaError> {
        Err(MediaError::Tool(self.reason.clone()))
    }

    async fn process(
        &self,
        _: TrackId,
        _: &str,
        _: u64,
        _: bool,
        _: &dyn ProgressReport,
    ) -> Result<Processed, MediaError> {
        Err(MediaError::Tool(self.reason.clone()))
    }

    fn unavailable(&self) -> Option<&str> {
        Some(&self.reason)
    }
}

//! Veza's media adapter: where tracks' files are kept ([`Storage`], the core's `ObjectStore`
//! on the local filesystem or an S3-compatible store) and how they are made ([`Ffmpeg`], the
//! core's `MediaPipeline`: probing uploads, and one ffmpeg run per track that decodes the
//! original once into the whole HLS/MP3 ladder while Veza measures loudness and draws the
//! waveform from the same decoded audio).

mod analysis;
mod ffmpeg;
mod playlist;
mod storage;

pub use ffmpeg::{Ffmpeg, FfmpegConfig};
pub use storage::{Storage, StorageConfigError};

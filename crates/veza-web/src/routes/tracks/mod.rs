//! `/api/v1/tracks/…`: uploading, reading, editing and deleting tracks, where to play them, and
//! who likes and reposts them.

pub mod comments;
pub mod delete;
pub mod get;
pub mod like;
pub mod likers;
pub mod repost;
pub mod reposters;
pub mod stream;
pub mod update;
pub mod upload;
pub mod waveform;

use serde::Deserialize;
use utoipa::IntoParams;

/// The secret of an unlisted track's link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// The track's `secret` (from its owner's view of it): lets anyone play an unlisted track.
    #[param(max_length = 64)]
    pub secret: Option<String>,
}

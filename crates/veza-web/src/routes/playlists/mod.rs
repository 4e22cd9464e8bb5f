//! `/api/v1/playlists/…`: playlists, albums and EPs, their tracks and collaborators.

pub mod collaborators;
pub mod create;
pub mod delete;
pub mod get;
pub mod tracks;
pub mod update;

use serde::Deserialize;
use utoipa::IntoParams;

/// The secret of an unlisted playlist's link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaylistLink {
    /// The playlist's `secret`: lets anyone see an unlisted playlist.
    #[param(max_length = 64)]
    pub secret: Option<String>,
}

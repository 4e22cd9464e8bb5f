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

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::problem::ApiError;

/// The secret of an unlisted track's or playlist's link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// The `secret` its owner sees: lets anyone reach an unlisted track or playlist.
    #[param(max_length = 64)]
    pub secret: Option<String>,
}

impl LinkParams {
    /// The secret, refused when longer than any this server gives out.
    pub fn secret(&self) -> Result<Option<&str>, ApiError> {
        match self.secret.as_deref() {
            Some(s) if s.len() > SECRET_MAX => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("secret: at most {SECRET_MAX} characters"),
            )),
            secret => Ok(secret),
        }
    }
}

/// The longest link secret a client may send (Veza's are 22 characters).
pub const SECRET_MAX: usize = 64;

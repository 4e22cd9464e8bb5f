//! `GET /api/v1/tracks/{id}/waveform`

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use veza_core::id::TrackId;

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaveformParams {
    /// `full` (default): audiowaveform's JSON; `summary`: 1800 bars for a track's card.
    pub view: Option<WaveformView>,
    /// The secret of an unlisted track's link.
    #[param(max_length = 64)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaveformView {
    Full,
    Summary,
}

/// `view=full`: BBC audiowaveform's JSON format, version 2 (8-bit min/max pairs, one pair per
/// 512 samples at 44.1 kHz, mono).
#[derive(Debug, Serialize, ToSchema)]
pub struct AudioWaveform {
    pub version: u32,
    pub channels: u32,
    pub sample_rate: u32,
    pub samples_per_pixel: u32,
    pub bits: u32,
    /// Pairs in `data`.
    pub length: u64,
    /// min, max, min, max… in −128..127.
    pub data: Vec<i8>,
}

/// `view=summary`: a fixed number of bars, each the loudest point of its stretch.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaveformSummary {
    pub width: u32,
    /// The scale of `samples`: 0 is silence, `height` full scale.
    pub height: u32,
    pub samples: Vec<u32>,
}

/// The body of either view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // documents the stored JSON, which is served as it is
pub enum WaveformBody {
    Full(AudioWaveform),
    Summary(WaveformSummary),
}

/// A ready track's waveform, computed from its decoded audio.
#[utoipa::path(
    get, path = "/api/v1/tracks/{id}/waveform", tag = "tracks",
    security((), ("bearer" = []), ("api_key" = ["tracks:read"])),
    params(("id" = TrackId, Path, description = "The track"), WaveformParams),
    responses(
        (status = 200, description = "The waveform", body = WaveformBody),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The track is not processed yet, or failed (`not_ready`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database or storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn waveform(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<TrackId>,
    ApiQuery(params): ApiQuery<WaveformParams>,
) -> ApiResult<impl IntoResponse> {
    let summary = params.view == Some(WaveformView::Summary);
    let json = state.catalog.waveform(viewer.as_ref(), id, params.secret.as_deref(), summary).await?;
    // A track's waveform never changes; `private`, since the track may be.
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "private, max-age=86400")], json))
}

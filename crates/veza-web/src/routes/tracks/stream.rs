//! `GET /api/v1/tracks/{id}/stream`

use axum::extract::State;
use axum::http::header;
use axum::Json;
use veza_core::id::TrackId;

use super::LinkParams;
use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::StreamResponse;

/// Where to play a ready track: signed URLs of its renditions (HLS AAC, HLS Opus, MP3, a
/// preview, and the original when downloads are allowed), valid for a few minutes, with the
/// loudness gain to apply. When a URL answers 403, ask again.
#[utoipa::path(
    get, path = "/api/v1/tracks/{id}/stream", tag = "tracks",
    security((), ("bearer" = []), ("api_key" = ["tracks:read"])),
    params(("id" = TrackId, Path, description = "The track"), LinkParams),
    responses(
        (status = 200, description = "The stream's URLs", body = StreamResponse),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The track is still processing, or failed (`not_ready`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stream_track(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<TrackId>,
    ApiQuery(link): ApiQuery<LinkParams>,
) -> ApiResult<([(header::HeaderName, &'static str); 1], Json<StreamResponse>)> {
    let info = state.catalog.stream(viewer.as_ref(), id, link.secret()?).await?;
    // The URLs expire: no cache may hand them out later.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(StreamResponse::new(info, &state.media.public_url))))
}

//! `PATCH /api/v1/tracks/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::TrackId;

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{TrackResponse, UpdateTrackRequest};

/// Edit a track's details (its owner only).
#[utoipa::path(
    patch, path = "/api/v1/tracks/{id}", tag = "tracks",
    security(("bearer" = []), ("api_key" = ["tracks:write"])),
    params(("id" = TrackId, Path, description = "The track")),
    request_body = UpdateTrackRequest,
    responses(
        (status = 200, description = "Updated", body = TrackResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your track, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_track(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TrackId>,
    ApiJson(body): ApiJson<UpdateTrackRequest>,
) -> ApiResult<Json<TrackResponse>> {
    let track = state.catalog.update(&principal, id, body.into()).await?;
    Ok(Json(TrackResponse::for_viewer(track, Some(principal.user_id))))
}

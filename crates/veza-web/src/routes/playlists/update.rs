//! `PATCH /api/v1/playlists/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::PlaylistId;

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{PlaylistResponse, UpdatePlaylistRequest};

/// Change a playlist's title, description, visibility or kind (its owner).
#[utoipa::path(
    patch, path = "/api/v1/playlists/{id}", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist")),
    request_body = UpdatePlaylistRequest,
    responses(
        (status = 200, description = "The playlist as changed", body = PlaylistResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A title empty or too long, a description too long, or control characters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PlaylistId>,
    ApiJson(body): ApiJson<UpdatePlaylistRequest>,
) -> ApiResult<Json<PlaylistResponse>> {
    let playlist = state.social.update_playlist(&principal, id, body.into()).await?;
    Ok(Json(PlaylistResponse::for_viewer(playlist, Some(principal.user_id))))
}

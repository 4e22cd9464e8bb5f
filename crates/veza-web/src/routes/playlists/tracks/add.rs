//! `POST /api/v1/playlists/{id}/tracks`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use veza_core::id::PlaylistId;

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{AddToPlaylistRequest, PlaylistItemResponse};

/// Add a public track, or one of yours, to a playlist, at a position or at the end (its owner
/// and collaborators).
#[utoipa::path(
    post, path = "/api/v1/playlists/{id}/tracks", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist")),
    request_body = AddToPlaylistRequest,
    responses(
        (status = 201, description = "Added", body = PlaylistItemResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist or track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The track is in the playlist already (`duplicate`), or it holds 1000 tracks (`playlist_full`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body of the wrong shape", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_to_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PlaylistId>,
    ApiJson(body): ApiJson<AddToPlaylistRequest>,
) -> ApiResult<(StatusCode, Json<PlaylistItemResponse>)> {
    let index = body.position.map(|p| p as usize);
    let item = state.social.add_to_playlist(&principal, id, body.track_id, index).await?;
    Ok((StatusCode::CREATED, Json(PlaylistItemResponse::for_viewer(item, Some(principal.user_id)))))
}

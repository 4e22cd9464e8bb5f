//! `PATCH /api/v1/playlists/{id}/tracks/{item_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{PlaylistId, PlaylistItemId};

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::MovePlaylistItemRequest;

/// Move a track within a playlist (its owner and collaborators).
#[utoipa::path(
    patch, path = "/api/v1/playlists/{id}/tracks/{item_id}", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist"), ("item_id" = PlaylistItemId, Path, description = "The item")),
    request_body = MovePlaylistItemRequest,
    responses(
        (status = 204, description = "Moved"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist or item, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A position that is not a whole number of at least 0", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn move_playlist_item(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, item)): ApiPath<(PlaylistId, PlaylistItemId)>,
    ApiJson(body): ApiJson<MovePlaylistItemRequest>,
) -> ApiResult<StatusCode> {
    state.social.move_in_playlist(&principal, id, item, body.position as usize).await?;
    Ok(StatusCode::NO_CONTENT)
}

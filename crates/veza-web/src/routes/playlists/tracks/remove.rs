//! `DELETE /api/v1/playlists/{id}/tracks/{item_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{PlaylistId, PlaylistItemId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Take a track out of a playlist (its owner and collaborators).
#[utoipa::path(
    delete, path = "/api/v1/playlists/{id}/tracks/{item_id}", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist"), ("item_id" = PlaylistItemId, Path, description = "The item")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist or item, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_from_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, item)): ApiPath<(PlaylistId, PlaylistItemId)>,
) -> ApiResult<StatusCode> {
    state.social.remove_from_playlist(&principal, id, item).await?;
    Ok(StatusCode::NO_CONTENT)
}

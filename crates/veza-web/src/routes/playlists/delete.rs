//! `DELETE /api/v1/playlists/{id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::PlaylistId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a playlist (its tracks stay): its owner or an administrator.
#[utoipa::path(
    delete, path = "/api/v1/playlists/{id}", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PlaylistId>,
) -> ApiResult<StatusCode> {
    state.social.delete_playlist(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `PUT`, `DELETE /api/v1/playlists/{id}/like`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::PlaylistId;
use veza_core::social::reactions::Target;

use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::routes::tracks::LinkParams;
use crate::state::AppState;

/// Like a playlist (an unlisted one with its `secret`). Liking it again changes nothing.
#[utoipa::path(
    put, path = "/api/v1/playlists/{id}/like", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist"), LinkParams),
    responses(
        (status = 204, description = "You like it"),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn like_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PlaylistId>,
    ApiQuery(link): ApiQuery<LinkParams>,
) -> ApiResult<StatusCode> {
    state.social.like(&principal, Target::Playlist(id), link.secret()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take back a like; not liking it is no error.
#[utoipa::path(
    delete, path = "/api/v1/playlists/{id}/like", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist")),
    responses(
        (status = 204, description = "You do not like it"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlike_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PlaylistId>,
) -> ApiResult<StatusCode> {
    state.social.unlike(&principal, Target::Playlist(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

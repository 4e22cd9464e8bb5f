//! `PUT`, `DELETE /api/v1/playlists/{id}/collaborators/{user_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{PlaylistId, UserId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Let someone add, move and remove the playlist's tracks (its owner; at most 20).
#[utoipa::path(
    put, path = "/api/v1/playlists/{id}/collaborators/{user_id}", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist"), ("user_id" = UserId, Path, description = "The collaborator")),
    responses(
        (status = 204, description = "They collaborate"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist or user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner (`owner`), or 20 collaborators already (`too_many`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_collaborator(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, user)): ApiPath<(PlaylistId, UserId)>,
) -> ApiResult<StatusCode> {
    state.social.set_collaborator(&principal, id, user, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop someone collaborating (the owner); not collaborating is no error.
#[utoipa::path(
    delete, path = "/api/v1/playlists/{id}/collaborators/{user_id}", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist"), ("user_id" = UserId, Path, description = "The collaborator")),
    responses(
        (status = 204, description = "They do not collaborate"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_collaborator(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, user)): ApiPath<(PlaylistId, UserId)>,
) -> ApiResult<StatusCode> {
    state.social.set_collaborator(&principal, id, user, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

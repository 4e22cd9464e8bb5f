//! `DELETE /api/v1/tracks/{id}/comments/{comment_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{CommentId, TrackId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a comment with its replies: its author, the track's owner or an administrator.
#[utoipa::path(
    delete, path = "/api/v1/tracks/{id}/comments/{comment_id}", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = TrackId, Path, description = "The track"), ("comment_id" = CommentId, Path, description = "The comment")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither your comment nor your track, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment on this track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_comment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((track, id)): ApiPath<(TrackId, CommentId)>,
) -> ApiResult<StatusCode> {
    state.social.delete_comment(&principal, track, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

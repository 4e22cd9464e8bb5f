//! `PATCH /api/v1/tracks/{id}/comments/{comment_id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::{CommentId, TrackId};

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{CommentResponse, EditCommentRequest};

/// Change your comment's text.
#[utoipa::path(
    patch, path = "/api/v1/tracks/{id}/comments/{comment_id}", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = TrackId, Path, description = "The track"), ("comment_id" = CommentId, Path, description = "The comment")),
    request_body = EditCommentRequest,
    responses(
        (status = 200, description = "The comment as changed", body = CommentResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your comment, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment on this track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long body", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn edit_comment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((track, id)): ApiPath<(TrackId, CommentId)>,
    ApiJson(body): ApiJson<EditCommentRequest>,
) -> ApiResult<Json<CommentResponse>> {
    let (comment, author) = state.social.edit_comment(&principal, track, id, &body.body).await?;
    Ok(Json(CommentResponse::new(comment, author)))
}

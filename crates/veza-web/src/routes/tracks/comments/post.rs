//! `POST /api/v1/tracks/{id}/comments`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use veza_core::id::TrackId;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::routes::tracks::LinkParams;
use crate::state::AppState;
use crate::wire::{CommentRequest, CommentResponse};

/// Comment at a moment of a track (an unlisted one with its `secret`), or reply to a comment.
#[utoipa::path(
    post, path = "/api/v1/tracks/{id}/comments", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = TrackId, Path, description = "The track"), LinkParams),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "Posted", body = CommentResponse),
        (status = 400, description = "Malformed JSON or query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The track is closed to comments, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long body, a position outside the track, or a reply to a reply or to a comment not on this track", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_comment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TrackId>,
    ApiQuery(link): ApiQuery<LinkParams>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<(StatusCode, Json<CommentResponse>)> {
    let (comment, author) =
        state.social.comment(&principal, id, link.secret()?, &body.body, body.at_ms, body.reply_to).await?;
    Ok((StatusCode::CREATED, Json(CommentResponse::new(comment, author))))
}

//! `PUT`, `DELETE /api/v1/tracks/{id}/like`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::TrackId;
use veza_core::social::reactions::Target;

use super::LinkParams;
use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Like a track (an unlisted one with its `secret`). Liking it again changes nothing.
#[utoipa::path(
    put, path = "/api/v1/tracks/{id}/like", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = TrackId, Path, description = "The track"), LinkParams),
    responses(
        (status = 204, description = "You like it"),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn like_track(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TrackId>,
    ApiQuery(link): ApiQuery<LinkParams>,
) -> ApiResult<StatusCode> {
    state.social.like(&principal, Target::Track(id), link.secret()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take back a like; not liking it is no error.
#[utoipa::path(
    delete, path = "/api/v1/tracks/{id}/like", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = TrackId, Path, description = "The track")),
    responses(
        (status = 204, description = "You do not like it"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlike_track(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TrackId>,
) -> ApiResult<StatusCode> {
    state.social.unlike(&principal, Target::Track(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

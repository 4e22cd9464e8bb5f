//! `PUT`, `DELETE /api/v1/tracks/{id}/repost`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::TrackId;
use veza_core::social::reactions::Target;

use crate::extract::{ApiPath, Auth, OptionalJson};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::RepostRequest;

/// Repost someone else's public track to your followers, with an optional caption (the body may
/// be left out). Reposting again replaces the caption and keeps the repost's place.
#[utoipa::path(
    put, path = "/api/v1/tracks/{id}/repost", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = TrackId, Path, description = "The track")),
    request_body(content = Option<RepostRequest>, description = "The caption, if any"),
    responses(
        (status = 204, description = "Reposted"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own track (`own_track`), or one that is not public (`not_public`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A caption too long or not one line", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn repost_track(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TrackId>,
    OptionalJson(body): OptionalJson<RepostRequest>,
) -> ApiResult<StatusCode> {
    state.social.repost(&principal, Target::Track(id), body.caption.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take back a repost; not having reposted it is no error.
#[utoipa::path(
    delete, path = "/api/v1/tracks/{id}/repost", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = TrackId, Path, description = "The track")),
    responses(
        (status = 204, description = "Not reposted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unrepost_track(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TrackId>,
) -> ApiResult<StatusCode> {
    state.social.unrepost(&principal, Target::Track(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

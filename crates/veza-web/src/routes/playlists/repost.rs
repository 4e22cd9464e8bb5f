//! `PUT`, `DELETE /api/v1/playlists/{id}/repost`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::PlaylistId;
use veza_core::social::reactions::Target;

use crate::extract::{ApiPath, Auth, OptionalJson};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::RepostRequest;

/// Repost someone else's public playlist to your followers, with an optional caption (the body
/// may be left out). Reposting again replaces the caption and keeps the repost's place.
#[utoipa::path(
    put, path = "/api/v1/playlists/{id}/repost", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist")),
    request_body(content = Option<RepostRequest>, description = "The caption, if any"),
    responses(
        (status = 204, description = "Reposted"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own playlist (`own_track`), or one that is not public (`not_public`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A caption too long or not one line", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn repost_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PlaylistId>,
    OptionalJson(body): OptionalJson<RepostRequest>,
) -> ApiResult<StatusCode> {
    state.social.repost(&principal, Target::Playlist(id), body.caption.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take back a repost; not having reposted it is no error.
#[utoipa::path(
    delete, path = "/api/v1/playlists/{id}/repost", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = PlaylistId, Path, description = "The playlist")),
    responses(
        (status = 204, description = "Not reposted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unrepost_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PlaylistId>,
) -> ApiResult<StatusCode> {
    state.social.unrepost(&principal, Target::Playlist(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `POST /api/v1/playlists`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::extract::{ApiJson, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{CreatePlaylistRequest, PlaylistResponse};

/// Create a playlist, album or EP (empty: add tracks to it next).
#[utoipa::path(
    post, path = "/api/v1/playlists", tag = "playlists",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    request_body = CreatePlaylistRequest,
    responses(
        (status = 201, description = "Created", body = PlaylistResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not yours to change, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A title empty or too long, a description too long, or control characters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_playlist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreatePlaylistRequest>,
) -> ApiResult<(StatusCode, Json<PlaylistResponse>)> {
    let playlist = state.social.create_playlist(&principal, body.into()).await?;
    Ok((StatusCode::CREATED, Json(PlaylistResponse::for_viewer(playlist, Some(principal.user_id)))))
}

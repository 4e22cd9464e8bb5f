//! `DELETE /api/v1/tracks/{id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::TrackId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a track with every file stored for it (its owner, or an administrator).
#[utoipa::path(
    delete, path = "/api/v1/tracks/{id}", tag = "tracks",
    security(("bearer" = []), ("api_key" = ["tracks:write"])),
    params(("id" = TrackId, Path, description = "The track")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your track, account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database or storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_track(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TrackId>,
) -> ApiResult<StatusCode> {
    state.catalog.delete(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `GET /api/v1/tracks/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::TrackId;

use super::LinkParams;
use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::TrackResponse;

/// A track: public ones to anyone, unlisted ones with their secret, private ones to their owner.
/// While it processes, `progress` says how far it is.
#[utoipa::path(
    get, path = "/api/v1/tracks/{id}", tag = "tracks",
    security((), ("bearer" = []), ("api_key" = ["tracks:read"])),
    params(("id" = TrackId, Path, description = "The track"), LinkParams),
    responses(
        (status = 200, description = "The track", body = TrackResponse),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_track(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<TrackId>,
    ApiQuery(link): ApiQuery<LinkParams>,
) -> ApiResult<Json<TrackResponse>> {
    let track = state.catalog.track(viewer.as_ref(), id, link.secret()?).await?;
    Ok(Json(TrackResponse::for_viewer(track, viewer.map(|p| p.user_id))))
}

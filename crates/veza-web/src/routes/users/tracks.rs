//! `GET /api/v1/users/{id}/tracks`

use axum::extract::State;
use axum::Json;
use veza_core::id::UserId;

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::routes::PageParams;
use crate::state::AppState;
use crate::wire::{TrackPage, TrackResponse};

/// A user's tracks, newest first: their public ones, or all of them for the user themself.
#[utoipa::path(
    get, path = "/api/v1/users/{id}/tracks", tag = "tracks",
    security((), ("bearer" = []), ("api_key" = ["tracks:read"])),
    params(("id" = UserId, Path, description = "The user"), PageParams),
    responses(
        (status = 200, description = "A page of tracks", body = TrackPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The id is not an id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range, or a cursor this server did not issue", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_tracks(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(owner): ApiPath<UserId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<TrackPage>> {
    let page = params.page()?;
    let tracks = state.catalog.tracks_by(viewer.as_ref(), owner, page).await?;
    let me = viewer.map(|p| p.user_id);
    Ok(Json(TrackPage {
        items: tracks.items.into_iter().map(|t| TrackResponse::for_viewer(t, me)).collect(),
        next_cursor: tracks.next_cursor,
    }))
}

//! `GET /api/v1/users/{id}/tracks`

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use veza_core::id::UserId;
use veza_core::page::PageRequest;

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{TrackPage, TrackResponse};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TracksParams {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub before: Option<String>,
}

/// A user's tracks, newest first: their public ones, or all of them for the user themself.
#[utoipa::path(
    get, path = "/api/v1/users/{id}/tracks", tag = "tracks",
    security((), ("bearer" = []), ("api_key" = ["tracks:read"])),
    params(("id" = UserId, Path, description = "The user"), TracksParams),
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
    ApiQuery(params): ApiQuery<TracksParams>,
) -> ApiResult<Json<TrackPage>> {
    let page = PageRequest::parse(params.limit, params.before.as_deref())?;
    let tracks = state.catalog.tracks_by(viewer.as_ref(), owner, page).await?;
    let me = viewer.map(|p| p.user_id);
    Ok(Json(TrackPage {
        items: tracks.items.into_iter().map(|t| TrackResponse::for_viewer(t, me)).collect(),
        next_cursor: tracks.next_cursor,
    }))
}

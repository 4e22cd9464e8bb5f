//! `GET /api/v1/users/{id}/playlists`

use axum::extract::State;
use axum::Json;
use veza_core::id::UserId;

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::routes::PageParams;
use crate::state::AppState;
use crate::wire::{PlaylistPage, PlaylistResponse};

/// A user's playlists, newest first: their public ones, or all of them for the user themself.
#[utoipa::path(
    get, path = "/api/v1/users/{id}/playlists", tag = "playlists",
    security((), ("bearer" = []), ("api_key" = ["social:read"])),
    params(("id" = UserId, Path, description = "The user"), PageParams),
    responses(
        (status = 200, description = "A page of playlists", body = PlaylistPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range, or a cursor this server did not issue", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_playlists(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(owner): ApiPath<UserId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<PlaylistPage>> {
    let page = state.social.playlists_by(viewer.as_ref(), owner, params.page()?).await?;
    let me = viewer.map(|p| p.user_id);
    Ok(Json(PlaylistPage {
        items: page.items.into_iter().map(|p| PlaylistResponse::for_viewer(p, me)).collect(),
        next_cursor: page.next_cursor,
    }))
}

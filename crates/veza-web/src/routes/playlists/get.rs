//! `GET /api/v1/playlists/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::PlaylistId;

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::routes::tracks::LinkParams;
use crate::state::AppState;
use crate::wire::PlaylistDetail;

/// A playlist with its tracks in order, leaving out those you may not see: public playlists to
/// anyone, unlisted ones with their secret, private ones to their owner and collaborators.
#[utoipa::path(
    get, path = "/api/v1/playlists/{id}", tag = "playlists",
    security((), ("bearer" = []), ("api_key" = ["social:read"])),
    params(("id" = PlaylistId, Path, description = "The playlist"), LinkParams),
    responses(
        (status = 200, description = "The playlist", body = PlaylistDetail),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such playlist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_playlist(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<PlaylistId>,
    ApiQuery(link): ApiQuery<LinkParams>,
) -> ApiResult<Json<PlaylistDetail>> {
    let view = state.social.playlist(viewer.as_ref(), id, link.secret()?).await?;
    Ok(Json(PlaylistDetail::for_viewer(view, viewer.map(|p| p.user_id))))
}

//! `GET /api/v1/playlists/{id}/reposters`

use axum::extract::State;
use axum::Json;
use veza_core::id::PlaylistId;
use veza_core::social::reactions::Target;

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::routes::tracks::LinkParams;
use crate::routes::PageParams;
use crate::state::AppState;
use crate::wire::RelatedUserPage;

/// Who reposted a playlist, the latest first, with their captions.
#[utoipa::path(
    get, path = "/api/v1/playlists/{id}/reposters", tag = "playlists",
    security((), ("bearer" = []), ("api_key" = ["social:read"])),
    params(("id" = PlaylistId, Path, description = "The playlist"), PageParams, LinkParams),
    responses(
        (status = 200, description = "A page, the latest first", body = RelatedUserPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The playlist does not exist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range, or a cursor this server did not issue", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn playlist_reposters(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<PlaylistId>,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(link): ApiQuery<LinkParams>,
) -> ApiResult<Json<RelatedUserPage>> {
    let page = state.social.reposters(viewer.as_ref(), Target::Playlist(id), link.secret()?, params.page()?).await?;
    Ok(Json(page.into()))
}

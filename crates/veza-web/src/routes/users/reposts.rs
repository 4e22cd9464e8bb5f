//! `GET /api/v1/users/{id}/reposts`

use axum::extract::State;
use axum::Json;
use veza_core::id::UserId;

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::routes::PageParams;

use crate::state::AppState;
use crate::wire::RelatedItemPage;

/// The tracks and playlists a user reposted, the latest first, with their captions. What you may not see is left out.
#[utoipa::path(
    get, path = "/api/v1/users/{id}/reposts", tag = "social",
    security((), ("bearer" = []), ("api_key" = ["social:read"])),
    params(("id" = UserId, Path, description = "The user"), PageParams),
    responses(
        (status = 200, description = "A page, the latest first", body = RelatedItemPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The user does not exist, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range, or a cursor this server did not issue", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_reposts(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<UserId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<RelatedItemPage>> {
    let reposts = state.social.reposts_of(viewer.as_ref(), id, params.page()?).await?;
    Ok(Json(RelatedItemPage::for_viewer(reposts, viewer.map(|p| p.user_id))))
}

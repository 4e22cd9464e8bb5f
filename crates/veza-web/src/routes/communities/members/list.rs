//! `GET /api/v1/communities/{id}/members`

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use veza_core::id::{CommunityId, UserId};
use veza_core::page::decode_cursor;

use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::MemberPage;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersParams {
    /// Page size (default 100).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub after: Option<String>,
}

/// The community's members, by user id.
#[utoipa::path(
    get, path = "/api/v1/communities/{id}/members", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("id" = CommunityId, Path, description = "The community")),
    responses(
        (status = 200, description = "A page of members", body = MemberPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or it was called without the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_members(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<CommunityId>,
    ApiQuery(params): ApiQuery<MembersParams>,
) -> ApiResult<Json<MemberPage>> {
    let after = params.after.as_deref().map(decode_cursor).transpose()?.map(UserId);
    let page = state.communities.members(&principal, id, after, params.limit.unwrap_or(100)).await?;
    Ok(Json(MemberPage { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

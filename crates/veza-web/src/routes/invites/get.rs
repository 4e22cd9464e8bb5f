//! `GET /api/v1/invites/{code}`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{CommunityResponse, InvitePreviewResponse};

/// What an invite leads to: the community's name and size. Expired and used-up invites are not
/// found.
#[utoipa::path(
    get, path = "/api/v1/invites/{code}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("code" = String, Path, description = "The invite code")),
    responses(
        (status = 200, description = "The invite", body = InvitePreviewResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or it was called without the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such usable invite", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<InvitePreviewResponse>> {
    let (invite, community, member_count) = state.communities.preview_invite(&principal, &code).await?;
    let community = CommunityResponse::from(community);
    Ok(Json(InvitePreviewResponse { code: invite.code, community, member_count, expires_at: invite.expires_at }))
}

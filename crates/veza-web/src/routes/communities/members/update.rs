//! `PATCH /api/v1/communities/{id}/members/{user_id}`

use axum::extract::State;
use axum::Json;
use veza_core::chat::communities::MemberPatch;
use veza_core::id::{CommunityId, UserId};

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{MemberResponse, UpdateMemberRequest};

/// Change a member: nickname (one's own with `change_nickname`, others' with `manage_nicknames`),
/// roles (`manage_roles`, only roles below one's highest) or timeout (`moderate_members`, up to 28
/// days). Acting on someone else takes a higher role than theirs.
#[utoipa::path(
    patch, path = "/api/v1/communities/{id}/members/{user_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community"), ("user_id" = UserId, Path, description = "The member")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Updated", body = MemberResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a permission or the role hierarchy forbids it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or member", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, user)): ApiPath<(CommunityId, UserId)>,
    ApiJson(body): ApiJson<UpdateMemberRequest>,
) -> ApiResult<Json<MemberResponse>> {
    let patch = MemberPatch { nickname: body.nickname, roles: body.roles, timed_out_until: body.timed_out_until };
    Ok(Json(state.communities.update_member(&principal, id, user, patch, &meta).await?.into()))
}

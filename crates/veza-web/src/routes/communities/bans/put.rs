//! `PUT /api/v1/communities/{id}/bans/{user_id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::{CommunityId, UserId};

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{BanRequest, BanResponse};

/// Ban someone (`ban_members`; a member must rank below the caller): they are removed and cannot
/// join again until unbanned.
#[utoipa::path(
    put, path = "/api/v1/communities/{id}/bans/{user_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community"), ("user_id" = UserId, Path, description = "The member")),
    request_body = BanRequest,
    responses(
        (status = 200, description = "Banned", body = BanResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a permission or the role hierarchy forbids it, or it is the owner or the caller", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or user", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ban_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, user)): ApiPath<(CommunityId, UserId)>,
    ApiJson(body): ApiJson<BanRequest>,
) -> ApiResult<Json<BanResponse>> {
    Ok(Json(
        state
            .communities
            .ban(&principal, id, user, body.reason.as_deref(), body.delete_message_hours.map(|h| h.0), &meta)
            .await?
            .into(),
    ))
}

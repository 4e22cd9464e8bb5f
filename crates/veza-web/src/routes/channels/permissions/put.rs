//! `PUT /api/v1/channels/{channel_id}/permissions/{target_id}`

use axum::extract::State;
use axum::Json;
use veza_core::chat::permissions::{Overwrite, OverwriteTarget};
use veza_core::id::{ChannelId, RoleId, UserId};
use veza_core::CoreError;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{permissions_of, OverwriteKind, OverwriteRequest, OverwriteResponse};

/// Set a role's or member's overwrite in a channel (`manage_roles` in it): only permissions the
/// caller has there, and for a role, one below the caller's highest.
#[utoipa::path(
    put, path = "/api/v1/channels/{channel_id}/permissions/{target_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("target_id" = String, Path, description = "The role's or member's id")),
    request_body = OverwriteRequest,
    responses(
        (status = 200, description = "Set", body = OverwriteResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a permission or the role hierarchy forbids it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it), role or member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A thread takes its parent's overwrites (`thread`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_overwrite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, target)): ApiPath<(ChannelId, String)>,
    ApiJson(body): ApiJson<OverwriteRequest>,
) -> ApiResult<Json<OverwriteResponse>> {
    let raw: i64 = target.parse().map_err(|_| CoreError::NotFound("role or member"))?;
    let target = match body.kind {
        OverwriteKind::Role => OverwriteTarget::Role(RoleId(raw)),
        OverwriteKind::Member => OverwriteTarget::Member(UserId(raw)),
    };
    let overwrite = Overwrite { target, allow: permissions_of(&body.allow), deny: permissions_of(&body.deny) };
    Ok(Json(state.communities.set_overwrite(&principal, id, overwrite, &meta).await?.into()))
}

//! `PATCH /api/v1/me/channels/{channel_id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::ChannelId;

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{DirectChannelResponse, UpdateGroupRequest};

/// Rename a group conversation (anyone in it), or hand it to another of its people (its owner
/// only, who may then leave it). Everyone in it gets the group in a `CHANNEL_UPDATE`.
#[utoipa::path(
    patch, path = "/api/v1/me/channels/{channel_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The group conversation")),
    request_body = UpdateGroupRequest,
    responses(
        (status = 200, description = "Updated", body = DirectChannelResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or handing over a group you do not own", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation of yours, or the new owner is not in it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A two-person DM, which has no name or owner (`not_a_group`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid name", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_group(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
    ApiJson(body): ApiJson<UpdateGroupRequest>,
) -> ApiResult<Json<DirectChannelResponse>> {
    let channel = state.communities.update_group(&principal, id, body.name.as_deref(), body.owner_id).await?;
    Ok(Json(channel.into()))
}

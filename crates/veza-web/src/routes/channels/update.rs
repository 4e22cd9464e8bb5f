//! `PATCH /api/v1/channels/{channel_id}`

use axum::extract::State;
use axum::Json;
use veza_core::chat::channels::ChannelPatch;
use veza_core::id::ChannelId;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{ChannelResponse, UpdateChannelRequest};

/// Edit a channel (`manage_channels` in it), or a thread: its owner or `manage_threads` rename
/// it, set its slowmode or archive it; whoever may post in it unarchives it unless it is locked;
/// `manage_threads` locks it.
#[utoipa::path(
    patch, path = "/api/v1/channels/{channel_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    request_body = UpdateChannelRequest,
    responses(
        (status = 200, description = "Updated", body = ChannelResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it), or no such category", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The parent is not a category, or a category was given a parent (`not_a_category`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; `archived` or `locked` on a channel that is not a thread (`not_a_thread`); topic, category or position on a thread (`not_for_threads`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_channel(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<ChannelId>,
    ApiJson(body): ApiJson<UpdateChannelRequest>,
) -> ApiResult<Json<ChannelResponse>> {
    let patch = ChannelPatch {
        name: body.name,
        topic: body.topic,
        parent_id: body.parent_id,
        position: body.position.map(|w| w.0),
        slowmode_secs: body.slowmode_secs.map(|w| w.0),
        archived: body.archived,
        locked: body.locked,
        auto_archive_minutes: body.auto_archive_minutes.map(|m| m.0),
    };
    Ok(Json(state.communities.update_channel(&principal, id, patch, &meta).await?.into()))
}

//! `GET /api/v1/channels/{channel_id}/pins`

use axum::extract::State;
use axum::Json;
use veza_core::id::ChannelId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::PinResponse;

/// The channel's pinned messages, newest pin first (`read_message_history`).
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}/pins", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    responses(
        (status = 200, description = "The pins", body = Vec<PinResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_pins(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<Json<Vec<PinResponse>>> {
    Ok(Json(state.communities.pins(&principal, id).await?.into_iter().map(Into::into).collect()))
}

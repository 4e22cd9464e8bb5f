//! `GET /api/v1/channels/{channel_id}`

use axum::extract::State;
use axum::Json;
use veza_core::api_key::Scope;
use veza_core::id::ChannelId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{AnyChannelResponse, ChannelResponse, DirectChannelResponse};

/// A channel or thread the caller may view, with what they may do in it; or a direct
/// conversation they are in.
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    responses(
        (status = 200, description = "The channel", body = AnyChannelResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or it was called without the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel, or you cannot view it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_channel(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<Json<AnyChannelResponse>> {
    match state.communities.get_channel(&principal, id).await {
        Ok(view) => Ok(Json(AnyChannelResponse::Community(ChannelResponse::from(view)))),
        Err(veza_core::CoreError::NotFound(_)) => {
            let direct = state.communities.direct_channel(&principal, id, Scope::ChatRead).await?;
            Ok(Json(AnyChannelResponse::Direct(DirectChannelResponse::from(direct))))
        }
        Err(e) => Err(e.into()),
    }
}

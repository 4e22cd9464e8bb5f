//! `GET /api/v1/me/channels`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::DirectChannelResponse;

/// Your direct conversations, newest first.
#[utoipa::path(
    get, path = "/api/v1/me/channels", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    responses(
        (status = 200, description = "Your conversations", body = Vec<DirectChannelResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_direct_channels(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<DirectChannelResponse>>> {
    Ok(Json(state.communities.my_direct_channels(&principal).await?.into_iter().map(Into::into).collect()))
}

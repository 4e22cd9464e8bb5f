//! `GET /api/v1/channels/{channel_id}/threads`

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use veza_core::id::ChannelId;

use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ChannelResponse;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadParams {
    /// The archived threads instead of the open ones (default false).
    pub archived: Option<bool>,
    /// Threads started before this one (the last id of the previous page).
    #[param(value_type = Option<ChannelId>)]
    pub before: Option<ChannelId>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A page of the channel's threads, newest first, with what you may do in each: the open
/// ones, or the archived ones (`archived=true`).
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}/threads", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ThreadParams),
    responses(
        (status = 200, description = "The threads", body = Vec<ChannelResponse>),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_threads(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
    ApiQuery(params): ApiQuery<ThreadParams>,
) -> ApiResult<Json<Vec<ChannelResponse>>> {
    let archived = params.archived.unwrap_or(false);
    let threads =
        state.communities.list_threads(&principal, id, archived, params.before, params.limit.unwrap_or(50)).await?;
    Ok(Json(threads.into_iter().map(Into::into).collect()))
}

//! `GET /api/v1/channels/{channel_id}/messages/{message_id}/reactions/{emoji}`

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use veza_core::id::{ChannelId, MessageId, UserId};
use veza_core::page::decode_cursor;

use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReactorsParams {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The last user id of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub after: Option<String>,
}

/// Who reacted with an emoji, by user id.
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}/messages/{message_id}/reactions/{emoji}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("message_id" = MessageId, Path, description = "The message"), ("emoji" = String, Path, description = "One Unicode emoji, percent-encoded")),
    responses(
        (status = 200, description = "The users' ids", body = Vec<UserId>),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it) or message", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a single Unicode emoji (`not_an_emoji`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reactors(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, message, emoji)): ApiPath<(ChannelId, MessageId, String)>,
    ApiQuery(params): ApiQuery<ReactorsParams>,
) -> ApiResult<Json<Vec<UserId>>> {
    let after = params.after.as_deref().map(decode_cursor).transpose()?.map(UserId);
    let users = state.communities.reactors(&principal, id, message, &emoji, after, params.limit.unwrap_or(50)).await?;
    Ok(Json(users))
}

//! `GET /api/v1/channels/{channel_id}/messages`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use veza_core::chat::message::HistoryCursor;
use veza_core::id::{ChannelId, MessageId};

use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::wire::MessageResponse;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    #[param(value_type = Option<MessageId>)]
    pub before: Option<MessageId>,
    #[param(value_type = Option<MessageId>)]
    pub after: Option<MessageId>,
    #[param(value_type = Option<MessageId>)]
    pub around: Option<MessageId>,
}

/// A page of the channel's messages, newest first (`read_message_history`): the latest, or those
/// `before` or `after` a message, or `around` one (half on each side). At most one cursor.
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}/messages", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    responses(
        (status = 200, description = "The messages", body = Vec<MessageResponse>),
        (status = 400, description = "Malformed query, or more than one cursor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> ApiResult<Json<Vec<MessageResponse>>> {
    let cursor = match (params.before, params.after, params.around) {
        (None, None, None) => HistoryCursor::Latest,
        (Some(id), None, None) => HistoryCursor::Before(id),
        (None, Some(id), None) => HistoryCursor::After(id),
        (None, None, Some(id)) => HistoryCursor::Around(id),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "use at most one of before, after and around",
            ))
        }
    };
    let page = state.communities.history(&principal, id, cursor, params.limit.unwrap_or(50)).await?;
    Ok(Json(page.into_iter().map(Into::into).collect()))
}

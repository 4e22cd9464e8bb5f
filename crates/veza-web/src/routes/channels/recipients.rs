//! `PUT` and `DELETE /api/v1/channels/{channel_id}/recipients/{user_id}`: people in a group
//! conversation.

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{ChannelId, UserId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Add someone to a group you are in (someone you share a community with); adding them twice
/// changes nothing.
#[utoipa::path(
    put, path = "/api/v1/channels/{channel_id}/recipients/{user_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The group"), ("user_id" = UserId, Path, description = "Who")),
    responses(
        (status = 204, description = "They are in it"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation of yours, or they share no community with you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A two-person DM (`not_a_group`), or the group has its ten people (`group_full`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_recipient(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, user)): ApiPath<(ChannelId, UserId)>,
) -> ApiResult<StatusCode> {
    state.communities.add_recipient(&principal, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a group (your own id), or, as its owner, remove someone. The owner stays while others
/// are in it.
#[utoipa::path(
    delete, path = "/api/v1/channels/{channel_id}/recipients/{user_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The group"), ("user_id" = UserId, Path, description = "Who")),
    responses(
        (status = 204, description = "They are out of it"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or you are not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation of yours, or they are not in it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A two-person DM (`not_a_group`), or the owner leaving others behind (`owner_cannot_leave`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_recipient(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, user)): ApiPath<(ChannelId, UserId)>,
) -> ApiResult<StatusCode> {
    state.communities.remove_recipient(&principal, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

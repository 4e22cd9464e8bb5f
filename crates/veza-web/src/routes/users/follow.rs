//! `GET`, `PUT`, `DELETE /api/v1/users/{id}/follow`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use veza_core::id::UserId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::FollowState;

/// Whether you follow this user.
#[utoipa::path(
    get, path = "/api/v1/users/{id}/follow", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:read"])),
    params(("id" = UserId, Path, description = "The user")),
    responses(
        (status = 200, description = "Whether you follow them", body = FollowState),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The id is not an id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn follow_state(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<FollowState>> {
    Ok(Json(FollowState { following: state.social.follows(&principal, id).await? }))
}

/// Follow a user: their new public tracks and reposts reach your feed. Following someone you
/// already follow changes nothing.
#[utoipa::path(
    put, path = "/api/v1/users/{id}/follow", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = UserId, Path, description = "The user to follow")),
    responses(
        (status = 204, description = "You follow them"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "That is you (`self`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn follow(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    state.social.follow(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop following a user; not following them is no error.
#[utoipa::path(
    delete, path = "/api/v1/users/{id}/follow", tag = "social",
    security(("bearer" = []), ("api_key" = ["social:write"])),
    params(("id" = UserId, Path, description = "The user to unfollow")),
    responses(
        (status = 204, description = "You do not follow them"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unfollow(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    state.social.unfollow(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

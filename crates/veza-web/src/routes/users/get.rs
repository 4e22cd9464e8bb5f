//! `GET /api/v1/users/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::UserId;

use crate::extract::ApiPath;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::UserResponse;

/// A user's public profile.
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The profile", body = UserResponse),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_user(State(state): State<AppState>, ApiPath(id): ApiPath<UserId>) -> ApiResult<Json<UserResponse>> {
    let user = state.accounts.user(id).await?;
    Ok(Json(state.social.with_counts(user).await?.into()))
}

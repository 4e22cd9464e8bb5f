//! `GET /api/v1/users/by-username/{name}`

use axum::extract::State;
use axum::Json;

use crate::extract::ApiPath;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::UserResponse;

/// A user's public profile, by username (case-insensitive).
#[utoipa::path(
    get, path = "/api/v1/users/by-username/{name}", tag = "users",
    params(("name" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The profile", body = UserResponse),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_user_by_username(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<UserResponse>> {
    let user = state.accounts.user_by_username(&name).await?;
    Ok(Json(state.social.with_counts(user).await?.into()))
}

//! `GET /api/v1/me`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::MeResponse;

/// The caller's account.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "me",
    security(("bearer" = []), ("api_key" = ["profile:read"])),
    responses(
        (status = 200, description = "The caller's account", body = MeResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_me(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<MeResponse>> {
    let me = state.accounts.me(&principal).await?;
    Ok(Json(state.social.with_counts(me).await?.into()))
}

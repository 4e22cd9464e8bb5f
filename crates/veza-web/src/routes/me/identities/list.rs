//! `GET /api/v1/me/identities`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::IdentitiesResponse;

/// The caller's ways of signing in: whether the account has a password, and its linked
/// provider accounts.
#[utoipa::path(
    get, path = "/api/v1/me/identities", tag = "me",
    security(("bearer" = []), ("api_key" = ["profile:read"])),
    responses(
        (status = 200, description = "The sign-in methods", body = IdentitiesResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the key lacks `profile:read`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_identities(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<IdentitiesResponse>> {
    Ok(Json(state.accounts.sign_in_methods(&principal).await?.into()))
}

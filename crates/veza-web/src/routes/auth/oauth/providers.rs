//! `GET /api/v1/auth/oauth/providers`

use axum::extract::State;
use axum::Json;

use crate::problem::ApiResult;
use crate::state::AppState;
use crate::wire::ProvidersResponse;

/// The providers this server is configured to sign in with.
#[utoipa::path(
    get, path = "/api/v1/auth/oauth/providers", tag = "auth",
    responses((status = 200, description = "The configured providers", body = ProvidersResponse))
)]
pub async fn providers(State(state): State<AppState>) -> ApiResult<Json<ProvidersResponse>> {
    let enabled = state.accounts.deps().providers.enabled();
    Ok(Json(ProvidersResponse { providers: enabled.into_iter().map(Into::into).collect() }))
}

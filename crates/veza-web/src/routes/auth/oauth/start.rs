//! `POST /api/v1/auth/oauth/{provider}/start`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiPath, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{OAuthStartResponse, ProviderName};

/// Start signing in (or up) with a provider: the URL to send the person to, the `state` that
/// comes back, and the `binding` this client keeps for the callback. Valid for 10 minutes.
#[utoipa::path(
    post, path = "/api/v1/auth/oauth/{provider}/start", tag = "auth",
    params(("provider" = ProviderName, Path, description = "The provider")),
    responses(
        (status = 200, description = "Send the person to `authorization_url`", body = OAuthStartResponse),
        (status = 404, description = "Unknown provider, or not configured on this server", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath(provider): ApiPath<ProviderName>,
) -> ApiResult<Json<OAuthStartResponse>> {
    Ok(Json(state.accounts.start_oauth(provider.into(), &meta).await?.into()))
}

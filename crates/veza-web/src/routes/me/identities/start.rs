//! `POST /api/v1/me/identities/{provider}/start`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{OAuthStartResponse, ProviderName};

/// Start linking a provider account to the caller's, as for a sign-in; finish with
/// `POST /api/v1/me/identities/{provider}/callback` from the same session.
#[utoipa::path(
    post, path = "/api/v1/me/identities/{provider}/start", tag = "me",
    security(("bearer" = [])),
    params(("provider" = ProviderName, Path, description = "The provider")),
    responses(
        (status = 200, description = "Send the person to `authorization_url`", body = OAuthStartResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown provider, or not configured on this server", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(provider): ApiPath<ProviderName>,
) -> ApiResult<Json<OAuthStartResponse>> {
    Ok(Json(state.accounts.start_oauth_link(&principal, provider.into(), &meta).await?.into()))
}

//! `POST /api/v1/me/identities/{provider}/start`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{OAuthStartResponse, PresenceRequest, ProviderName};

/// Start linking a provider account to the caller's, as for a sign-in; finish with
/// `POST /api/v1/me/identities/{provider}/callback` from the same session.
#[utoipa::path(
    post, path = "/api/v1/me/identities/{provider}/start", tag = "me",
    security(("bearer" = [])),
    params(("provider" = ProviderName, Path, description = "The provider")),
    request_body = PresenceRequest,
    responses(
        (status = 200, description = "Send the person to `authorization_url`", body = OAuthStartResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, called with an API key, or an account without a password did not sign in within the last 10 minutes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown provider, or not configured on this server", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current password is missing or wrong (`current_password`: `required`, `incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(provider): ApiPath<ProviderName>,
    ApiJson(body): ApiJson<PresenceRequest>,
) -> ApiResult<Json<OAuthStartResponse>> {
    let password = body.current_password.as_deref();
    Ok(Json(state.accounts.start_oauth_link(&principal, provider.into(), password, &meta).await?.into()))
}

//! `POST /api/v1/me/identities/{provider}/callback`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{IdentityResponse, OAuthCallbackRequest, ProviderName};

/// Finish linking: the provider account signs in to the caller's from now on (whatever its
/// address). The owner is told by mail.
#[utoipa::path(
    post, path = "/api/v1/me/identities/{provider}/callback", tag = "me",
    security(("bearer" = [])),
    params(("provider" = ProviderName, Path, description = "The provider")),
    request_body = OAuthCallbackRequest,
    responses(
        (status = 200, description = "Linked (or it already was)", body = IdentityResponse),
        (status = 400, description = "Malformed JSON; the state is unknown, spent, another account's or provider's (`token_invalid`) or expired (`token_expired`); or the provider refused the code (`provider_refused`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown provider", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "That provider account is linked to another Veza account (`linked_elsewhere`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The provider failed or answered something unacceptable (`provider_unavailable`, `provider_invalid`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn finish_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(provider): ApiPath<ProviderName>,
    ApiJson(body): ApiJson<OAuthCallbackRequest>,
) -> ApiResult<Json<IdentityResponse>> {
    let identity = state.accounts.finish_oauth_link(&principal, provider.into(), &body.into(), &meta).await?;
    Ok(Json(identity.into()))
}

//! `POST /api/v1/auth/oauth/{provider}/callback`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ApiPath, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{LoginResult, OAuthCallbackRequest, ProviderName};

/// Finish signing in with a provider: post the `code` and `state` of its redirect with the
/// `binding` of the start. An identity linked before signs its account in; otherwise only an
/// address the provider verified is used: an account that verified the same address to Veza is
/// linked and signed in; with no account on it, a new one (without a password) is made. With two-factor
/// authentication on, the answer is the second step (`mfa_required`).
#[utoipa::path(
    post, path = "/api/v1/auth/oauth/{provider}/callback", tag = "auth",
    params(("provider" = ProviderName, Path, description = "The provider")),
    request_body = OAuthCallbackRequest,
    responses(
        (status = 200, description = "Logged in, or (`mfa_required`) a code is needed next", body = LoginResult),
        (status = 400, description = "Malformed JSON; the state is unknown, spent, for another client or provider (`token_invalid`) or expired (`token_expired`); or the provider refused the code (`provider_refused`): start again", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown provider", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account already has the address the provider verified, but never verified it to Veza (`link_required`): sign in to it and link from its settings", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the provider vouched for no address (`email`: `unverified`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-in attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 502, description = "The provider failed or answered something unacceptable (`provider_unavailable`, `provider_invalid`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath(provider): ApiPath<ProviderName>,
    ApiJson(body): ApiJson<OAuthCallbackRequest>,
) -> ApiResult<Json<LoginResult>> {
    let outcome = state.accounts.finish_oauth(provider.into(), &body.into(), &meta).await?;
    Ok(Json(LoginResult::from_outcome(outcome, &state.social, state.accounts.deps().clock.now()).await?))
}

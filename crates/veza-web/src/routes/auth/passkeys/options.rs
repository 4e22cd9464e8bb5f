//! `POST /api/v1/auth/passkeys/options`

use axum::extract::State;
use axum::Json;

use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::PasskeyOptionsResponse;

/// Start signing in with a passkey: options for `navigator.credentials.get` that let the
/// authenticator offer any passkey it holds for this site.
#[utoipa::path(
    post, path = "/api/v1/auth/passkeys/options", tag = "auth",
    responses(
        (status = 200, description = "The request options", body = PasskeyOptionsResponse),
        (status = 429, description = "Too many sign-in attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 403, description = "Passkeys are off on this server (its web client URL is not https or localhost)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn passkey_login_options(State(state): State<AppState>) -> ApiResult<Json<PasskeyOptionsResponse>> {
    Ok(Json(state.accounts.start_passkey_login().await?.into()))
}

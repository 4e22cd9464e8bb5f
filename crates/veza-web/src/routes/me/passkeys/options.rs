//! `POST /api/v1/me/passkeys/options`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::PasskeyOptionsResponse;

/// Start adding a passkey: the options for `navigator.credentials.create` (a discoverable
/// credential with user verification), and the ceremony to finish with `POST /api/v1/me/passkeys`.
#[utoipa::path(
    post, path = "/api/v1/me/passkeys/options", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The creation options", body = PasskeyOptionsResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, called with an API key, or passkeys are off on this server (its web client URL is not https or localhost)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn passkey_options(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<PasskeyOptionsResponse>> {
    Ok(Json(state.accounts.start_passkey_registration(&principal).await?.into()))
}

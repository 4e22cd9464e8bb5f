//! `POST /api/v1/me/2fa/totp/setup`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::TotpSetupResponse;

/// Start setting up an authenticator app: a new secret, its `otpauth://` URI and a QR code.
///
/// Nothing is on until `POST /api/v1/me/2fa/totp/enable` proves the app holds the secret;
/// asking again replaces a secret not yet enabled.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/totp/setup", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The secret, shown once", body = TotpSetupResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor authentication is already on", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn totp_setup(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<TotpSetupResponse>> {
    let setup = state.accounts.setup_totp(&principal).await?;
    Ok(Json(TotpSetupResponse {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
        qr_png_base64: setup.qr_png_base64,
    }))
}

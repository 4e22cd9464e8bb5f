//! `POST /api/v1/auth/magic-link`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use veza_core::accounts::MagicLinkNonce;
use veza_core::user::Email;
use veza_core::CoreError;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{ForgotPasswordRequest, MagicLinkResponse};

/// Ask for a sign-in link by mail.
///
/// Always 202 with a nonce for a well-formed address: whether it belongs to an account is never
/// told (the lookup runs after the answer). Keep the nonce: the link (single use, 10 minutes)
/// signs in only together with it, so a forwarded link is useless. An account's address gets at
/// most one link a minute per asking client address.
#[utoipa::path(
    post, path = "/api/v1/auth/magic-link", tag = "auth",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "If the address is an account's, a link is on its way", body = MagicLinkResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn magic_link(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<ForgotPasswordRequest>,
) -> ApiResult<(StatusCode, Json<MagicLinkResponse>)> {
    let email = Email::parse(&body.email).map_err(CoreError::invalid)?;
    let nonce = MagicLinkNonce::generate();
    let accounts = state.accounts.clone();
    let hash = nonce.hash;
    tokio::spawn(async move {
        if let Err(e) = accounts.request_magic_link(&email, hash, &meta).await {
            tracing::warn!(error = %e, "could not handle a sign-in link request");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(MagicLinkResponse { nonce: nonce.nonce })))
}

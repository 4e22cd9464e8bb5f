//! `GET /.well-known/jwks.json`

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use crate::state::AppState;
use crate::wire::JwksResponse;

/// The public keys (JWK Set, RFC 7517) that verify Veza's access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "ops", responses((status = 200, description = "JWK Set", body = JwksResponse)))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    let keys = state.accounts.deps().tokens.public_keys();
    // Short cache: verifiers pick up a rotated key within five minutes.
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(JwksResponse { keys }))
}

//! The benchmark's yardstick: a bare axum server whose only work is verifying the same Ed25519
//! access token Veza issues, with the same [`JwtSigner`], and no middleware or database. Also a
//! bare JSON route, the floor of any axum request. Used by `bench/run.sh`.
//!
//! `bare_verify KEY_FILE ISSUER` prints `listening on http://ADDR` and serves
//! `GET /verify` (Authorization: Bearer …) and `GET /json`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use veza_core::ports::TokenSigner;
use veza_crypto::{JwtSigner, TokenAudience};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(key_file), Some(issuer)) = (args.next(), args.next()) else {
        return Err("usage: bare_verify KEY_FILE ISSUER".into());
    };
    let key = std::fs::read(key_file)?;
    let signer = Arc::new(JwtSigner::from_pkcs8(&key, TokenAudience { issuer, audience: "veza".into() })?);
    let app = Router::new()
        .route("/verify", get(verify))
        .route("/json", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .with_state(signer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn verify(
    State(signer): State<Arc<JwtSigner>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let claims = signer.verify(token).map_err(|_| StatusCode::UNAUTHORIZED)?;
    Ok(Json(serde_json::json!({"id": claims.user_id.to_string()})))
}

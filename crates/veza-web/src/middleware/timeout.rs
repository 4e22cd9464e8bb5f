//! The request timeout: a request still without an answer after it gets 408 (its body filled in
//! by the problem layer) and is abandoned. Uploads (tracks, messages' files) are exempt — a large
//! file over a slow link rightly takes many minutes — and time out when their client stops
//! sending instead.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if crate::routes::streams_body(req.method(), req.uri().path(), req.headers()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

//! Per-route body limits below the general one: the route table names them, this layer caps the
//! body so that reading past the cap fails (and the JSON extractor answers 413) without
//! buffering more than the cap.

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

pub async fn per_route(req: Request, next: Next) -> Response {
    let limit =
        req.extensions().get::<MatchedPath>().and_then(|m| crate::routes::body_limit_of(req.method(), m.as_str()));
    match limit {
        Some(limit) => next.run(req.map(|body| Body::new(http_body_util::Limited::new(body, limit)))).await,
        None => next.run(req).await,
    }
}

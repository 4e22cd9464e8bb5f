//! Errors produced outside our handlers — axum's 405, tower's 408 on timeout, a body-limit 413 —
//! arrive with an empty or plain-text body. This layer gives them the same problem+json shape as
//! every other error, so clients parse one format.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::{ApiError, PROBLEM_JSON};

pub async fn problem_body(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return res;
    }
    let (code, detail) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this route does not accept that method; see the Allow header")
        }
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long and was abandoned"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is larger than this route accepts"),
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "this content type is not accepted here"),
        s if s.is_server_error() => ("internal_error", "an unexpected error occurred; it has been logged"),
        _ => ("bad_request", "the request could not be processed"),
    };
    let mut problem = ApiError::new(status, code, detail).into_response();
    // Keep headers that matter to the client (Allow, Retry-After, …), replace the body.
    let (parts, _) = res.into_parts();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

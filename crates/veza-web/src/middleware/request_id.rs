//! Request ids: taken from the client's `X-Request-Id` when it is sane (so a trace can span
//! systems), generated otherwise, stored for handlers and logs, and echoed on the response.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Ids longer than this, or with characters outside `[A-Za-z0-9._:-]`, are replaced: they end
/// up in logs and the audit log and must not carry anything hostile.
const MAX_LEN: usize = 128;

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(X_REQUEST_ID.clone(), value.clone());
    req.extensions_mut().insert(RequestId(id));
    let mut res = next.run(req).await;
    res.headers_mut().insert(X_REQUEST_ID.clone(), value);
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn acceptable_ids() {
        assert!(super::acceptable("abc-123_x.y:z"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable("a b"));
        assert!(!super::acceptable("<script>"));
        assert!(!super::acceptable(&"a".repeat(129)));
    }
}

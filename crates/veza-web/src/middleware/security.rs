//! Browser-facing protections: security headers on every response, the CORS allowlist, the
//! Origin policy the WebSocket gateway will apply, and load shedding.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::problem::ApiError;

/// The docs page runs Swagger UI's own scripts and styles, served by Veza itself; the API's
/// responses are data and may load nothing at all.
const DOCS_CSP: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// One year, the usual HSTS policy once HTTPS is known to work.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds the security headers; `hsts` when the public URL is https.
pub async fn headers(hsts: bool, req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/api/docs");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A handler may have set a stricter policy of its own (messages' files add `sandbox`).
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(if docs { DOCS_CSP } else { API_CSP }));
    if hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    res
}

/// CORS for the configured origins only (none: no CORS headers, browsers on other origins are
/// refused by their own rules).
pub fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::RANGE,
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("x-api-key"),
            ])
            .expose_headers(
                [
                    HeaderName::from_static("x-request-id"),
                    header::LOCATION,
                    header::RETRY_AFTER,
                    header::CONTENT_RANGE,
                    header::ETAG,
                ]
                .into_iter()
                .chain(super::rate_limit::HEADERS)
                .collect::<Vec<_>>(),
            )
            .max_age(Duration::from_secs(600)),
    )
}

/// Which page origins may open a WebSocket to the gateway: the public URL's own origin and the
/// CORS allowlist. A request without `Origin` is not from a browser page and is not subject to
/// it (it must still authenticate).
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed: Vec<HeaderValue>,
}

impl OriginPolicy {
    pub fn new(public_url: &str, cors_origins: &[HeaderValue]) -> Self {
        let mut allowed = cors_origins.to_vec();
        if let Some(own) = origin_of(public_url).and_then(|o| HeaderValue::from_str(&o).ok()) {
            allowed.push(own);
        }
        Self { allowed }
    }

    pub fn allows(&self, origin: Option<&HeaderValue>) -> bool {
        origin.is_none_or(|o| self.allowed.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(o.as_bytes())))
    }
}

/// `https://music.example.org/some/path` → `https://music.example.org`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

/// Seconds a shed client is asked to wait.
const RETRY_AFTER_OVERLOADED: &str = "1";

/// The answer when the concurrency limit is reached: refuse at once rather than queue without
/// bound.
pub async fn overloaded(_: tower::BoxError) -> Response {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "the server is at capacity; retry shortly")
        .with_header(header::RETRY_AFTER, RETRY_AFTER_OVERLOADED)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_policy() {
        let p = OriginPolicy::new("https://music.example.org/", &[HeaderValue::from_static("https://app.example.org")]);
        assert!(p.allows(None), "non-browser clients");
        assert!(p.allows(Some(&HeaderValue::from_static("https://music.example.org"))));
        assert!(p.allows(Some(&HeaderValue::from_static("https://APP.example.org"))));
        assert!(!p.allows(Some(&HeaderValue::from_static("https://evil.example"))));
        assert!(!p.allows(Some(&HeaderValue::from_static("null"))));
        assert_eq!(origin_of("http://127.0.0.1:8080/x?y"), Some("http://127.0.0.1:8080".into()));
        assert_eq!(origin_of("nonsense"), None);
    }
}

//! Veza's HTTP adapter: the REST API under `/api/v1`, the ops endpoints, the OpenAPI document and
//! its docs UI. It drives the core's use cases and knows nothing of SQL or where configuration
//! comes from; the binary hands it an [`AppState`] and an [`HttpConfig`].
//!
//! Every request passes, outermost first: request id → security headers → client address →
//! metrics → tracing span → panic guard → problem+json for bodiless errors → timeout → body limit
//! → CORS → routing → (API routes only) rate limits → per-route body limits → load shedding →
//! extractors → handler. `/media/…` has a lean stack of its own (see [`media`]).

pub mod extract;
pub mod gateway;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod state;
mod upload;
pub mod wire;

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_swagger_ui::SwaggerUi;

pub use axum::http::HeaderValue;
pub use state::{AppState, DbPoolStats, Dependencies};

use crate::middleware::request_id::RequestId;
use crate::problem::ApiError;

/// HTTP limits, from configuration.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body a JSON route accepts.
    pub body_limit: usize,
    /// A request still running after this is answered 408 and abandoned.
    pub request_timeout: Duration,
    /// Proxies whose forwarding header is believed, and which header they write.
    pub trusted_proxies: middleware::client_ip::TrustedProxies,
    /// Page origins allowed to call the API from a browser (CORS).
    pub cors_origins: Vec<axum::http::HeaderValue>,
    /// API requests handled at once; beyond it, 503 with `Retry-After` instead of a queue.
    pub max_concurrent_requests: usize,
    /// The public URL is https: send HSTS.
    pub https: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        // 64 KiB: the largest JSON body of this API (a profile) is a few KiB.
        Self {
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            trusted_proxies: Default::default(),
            cors_origins: Vec::new(),
            max_concurrent_requests: 512,
            https: false,
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState, config: &HttpConfig) -> Router {
    // Load shedding guards the API only: health, readiness and metrics must stay reachable when
    // the API is saturated, or monitoring goes blind exactly when it matters. The limit is one
    // semaphore for all routes (`Router::layer` gives each route its own copy of a layer).
    // Rate limits come first: a caller over its limit is refused before it takes a slot.
    let api = routes::api()
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(middleware::security::overloaded))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(config.max_concurrent_requests.max(1))),
        )
        .layer(axum::middleware::from_fn(middleware::body_limit::per_route))
        .layer(axum::middleware::from_fn_with_state(std::sync::Arc::new(state.clone()), middleware::rate_limit::limit));
    // The gateway's upgrade: limited per address like any anonymous request (the credential
    // comes later, inside the socket), under its own bucket.
    let gateway = Router::new()
        .route("/gateway", axum::routing::get(gateway::upgrade))
        .layer(axum::middleware::from_fn_with_state(std::sync::Arc::new(state.clone()), middleware::rate_limit::limit));
    let (router, mut doc) = api.merge(routes::ops()).split_for_parts();
    let router = router.merge(gateway);
    openapi::add_rate_limit_responses(&mut doc);
    let metrics = state.metrics.clone();
    let https = config.https;
    let router = match middleware::security::cors(&config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .route_layer(axum::middleware::from_fn(middleware::metrics::record_route))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(middleware::request_id::request_id))
                .layer(axum::middleware::from_fn(move |req, next| middleware::security::headers(https, req, next)))
                .layer(axum::middleware::from_fn_with_state(
                    std::sync::Arc::new(config.trusted_proxies.clone()),
                    middleware::client_ip::attach,
                ))
                .layer(axum::middleware::from_fn_with_state(metrics, middleware::metrics::track))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &axum::extract::Request| {
                            let id = req.extensions().get::<RequestId>().map_or("", |r| r.0.as_str());
                            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                        })
                        // One line per request is for debugging (RUST_LOG=tower_http=debug); 5xx
                        // are logged as errors by the default failure handler, and security
                        // events go to the audit log.
                        .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
                )
                .layer(CatchPanicLayer::custom(|_| panic_response()))
                .layer(axum::middleware::from_fn(middleware::problem_body::problem_body))
                .layer(axum::middleware::from_fn_with_state(config.request_timeout, middleware::timeout::limit))
                .layer(DefaultBodyLimit::max(config.body_limit)),
        )
        .with_state(state.clone())
        .merge(media(state, config))
}

/// `/media/…` on a stack of its own. Signed URLs are the permission, players fetch a segment
/// every few seconds, and a busy API must not stall playback: no rate limits, no load shedding.
/// And the hottest route gets only what a file needs — security headers, CORS, problem bodies,
/// the panic guard — not the API's per-request ids, tracing spans, metrics and timeout.
fn media(state: AppState, config: &HttpConfig) -> Router {
    let https = config.https;
    let router = Router::new().route("/media/{*path}", axum::routing::get(routes::media::media));
    let router = match middleware::security::cors(&config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(move |req, next| middleware::security::headers(https, req, next)))
                .layer(CatchPanicLayer::custom(|_| panic_response()))
                .layer(axum::middleware::from_fn(middleware::problem_body::problem_body)),
        )
        .with_state(state)
}

/// The largest request head (request line and headers) read: beyond it, hyper answers 431. A
/// token or API key and ordinary headers fit many times over; hyper's own bound is its read
/// buffer, ~400 KiB. (hyper allows 100 headers at most, also answering 431 past them.)
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting connections and
/// waits for in-flight requests to finish. A client must deliver a request's headers within
/// `header_read_timeout` (a slowloris client trickling bytes cannot hold a connection open), and
/// peer addresses reach handlers as `ConnectInfo` (for the client address and the audit log).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    // HTTP/1.1 (with upgrades, for WebSockets) only: HTTP/2 comes through the reverse proxy, and
    // detecting the protocol first would read each connection with no timeout at all. hyper's
    // header-read timeout covers a connection from its first byte on.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).max_header_size(MAX_HEADER_BYTES);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors and the like: log, breathe, keep serving the others.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {} // reap finished connections
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req.map(axum::body::Body::new)
        });
        let conn = builder
            .serve_connection(TokioIo::new(stream), hyper_util::service::TowerToHyperService::new(service))
            .with_upgrades();
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                // Shutting down: finish the request in flight, answer nothing new, then close.
                () = async { let _ = stop.wait_for(|stop| *stop).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener); // refuse new connections while the open ones drain
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

fn panic_response() -> Response {
    tracing::error!("handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "an unexpected error occurred; it has been logged",
    )
    .into_response()
}

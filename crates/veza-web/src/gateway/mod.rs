//! The chat gateway at `/gateway`: a WebSocket per client, over which the server pushes every
//! chat event the client may see, numbered per session so a dropped connection can resume
//! without loss. It lives in the HTTP adapter because it speaks the same wire types as REST,
//! calls the same use cases, and sits behind the same client-address, rate-limit and origin
//! checks. GATEWAY.md at the repository's root describes the protocol for client authors.
//!
//! - [`protocol`]: opcodes, close codes, frames;
//! - [`event`]: chat events encoded once per event, and the publisher the use cases call;
//! - [`hub`]: this node's sessions, their topics, and the bus subscription per topic;
//! - [`session`]: one session's sequence, resume buffer and visible channels;
//! - [`connection`]: one socket's task; [`ready`], [`calls`]: READY and REQUEST;
//! - [`socket`]: WebSocket framing that keeps no buffer for an idle connection.

pub mod calls;
pub mod connection;
pub mod event;
pub mod hub;
pub mod protocol;
pub mod ready;
pub mod session;
pub mod socket;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::extract::ClientMeta;
use crate::problem::ApiError;
use crate::state::AppState;

/// The gateway's timing, from configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// How often clients heartbeat; one missing for half again as long closes the connection.
    pub heartbeat_interval: Duration,
    /// How long a session waits for its client to resume after the connection drops.
    pub resume_window: Duration,
    /// How often a connection's credential is checked against the store at a heartbeat (sign-outs
    /// are pushed as they happen; this is the backstop). Zero: at every heartbeat.
    pub sign_in_recheck: Duration,
    /// The test suite's hold on identifying sessions; never set in production.
    pub test_pause: Option<TestPause>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        // 41.25 s: Discord's interval, which its clients and proxies are tuned to; 2 minutes
        // covers a phone switching networks or a laptop waking.
        Self {
            heartbeat_interval: Duration::from_millis(41_250),
            resume_window: Duration::from_secs(120),
            sign_in_recheck: Duration::from_secs(300),
            test_pause: None,
        }
    }
}

/// A point where the black-box tests hold an identifying session, to land a change at an exact
/// moment: after READY's state is read, before the session starts. The session connects to
/// the test's gate at `addr`, says who it is, and goes on when the gate answers or closes (a
/// test that fails releases it by dropping the gate). Set only by the test suite.
#[derive(Debug, Clone)]
pub struct TestPause {
    pub addr: std::net::SocketAddr,
}

impl TestPause {
    pub async fn hold(&self, user: veza_core::id::UserId) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Bounded: a gate that never answers must not hold identifies for ever.
        let hold = async {
            let Ok(mut gate) = tokio::net::TcpStream::connect(self.addr).await else { return };
            if gate.write_all(format!("{user}\n").as_bytes()).await.is_ok() {
                let _ = gate.read(&mut [0u8; 1]).await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(60), hold).await;
    }
}

/// The node's gateway: its sessions and timing, and the publisher the chat use cases announce
/// through (for its failure count).
#[derive(Debug)]
pub struct Gateway {
    pub hub: Arc<hub::Hub>,
    pub config: GatewayConfig,
    pub publisher: event::Publisher,
}

impl Gateway {
    pub fn stats(&self) -> crate::middleware::metrics::GatewayStats {
        let (sessions, connected) = self.hub.counts();
        crate::middleware::metrics::GatewayStats { sessions, connected, publish_failures: self.publisher.failures() }
    }
}

/// The largest message a client may send (and frame: fragments add up to it): a
/// 4000-character message, JSON-escaped, fits.
const FRAME_MAX: usize = 64 * 1024;

/// A connection once upgraded: hyper's, as a tokio stream.
pub type Upgraded = hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>;

/// `GET /gateway`: upgrades to the gateway's WebSocket (RFC 6455 §4.2; no subprotocol or
/// extension is offered, so compression is never negotiated).
pub async fn upgrade(State(app): State<AppState>, request: axum::extract::Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if !app.origins.allows(parts.headers.get(header::ORIGIN)) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this page's origin may not open the gateway",
        )
        .into_response();
    }
    let ClientMeta(meta) = ClientMeta::from_request_parts(&mut parts, &app).await.unwrap_or_else(|e| match e {});
    let Some(accept) = websocket_key(&parts.headers).map(socket::accept_key) else { return not_a_websocket() };
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else { return not_a_websocket() };
    tokio::spawn(async move {
        // The client went away between the answer and the switch: nothing to run.
        if let Ok(upgraded) = on_upgrade.await {
            let socket = socket::Socket::new(hyper_util::rt::TokioIo::new(upgraded), FRAME_MAX);
            connection::run(socket, app, meta).await;
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, HeaderValue::try_from(accept).expect("base64 is a header value"));
    response
}

/// The `Sec-WebSocket-Key` of a well-formed WebSocket opening handshake: `Connection` names
/// `upgrade`, `Upgrade` is `websocket`, the version is 13, and the key is 16 bytes in base64.
fn websocket_key(headers: &HeaderMap) -> Option<&[u8]> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let version = headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes);
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") || version != Some(b"13") {
        return None;
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?.as_bytes();
    // 16 bytes in base64 are 24 characters ending in "==".
    (key.len() == 24 && key.ends_with(b"==")).then_some(key)
}

fn not_a_websocket() -> Response {
    ApiError::new(
        StatusCode::UPGRADE_REQUIRED,
        "websocket_required",
        "the gateway speaks WebSocket: send a GET with `Connection: Upgrade`, `Upgrade: websocket` and `Sec-WebSocket-Version: 13`",
    )
    .with_header(header::UPGRADE, "websocket")
    .with_header(header::SEC_WEBSOCKET_VERSION, "13")
    .into_response()
}

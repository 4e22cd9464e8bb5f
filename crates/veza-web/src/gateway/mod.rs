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
//! - [`connection`]: one socket's task; [`ready`], [`calls`]: READY and REQUEST.

pub mod calls;
pub mod connection;
pub mod event;
pub mod hub;
pub mod protocol;
pub mod ready;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::http::{header, StatusCode};
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
}

impl Default for GatewayConfig {
    fn default() -> Self {
        // 41.25 s: Discord's interval, which its clients and proxies are tuned to; 2 minutes
        // covers a phone switching networks or a laptop waking.
        Self { heartbeat_interval: Duration::from_millis(41_250), resume_window: Duration::from_secs(120) }
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

/// The largest frame a client may send: a 4000-character message, JSON-escaped, fits.
const FRAME_MAX: usize = 64 * 1024;
/// Socket buffers: small, since most connections are idle most of the time (tungstenite's
/// defaults, 128 KiB each way, would cost more than everything else a connection holds).
/// What clients send is mostly heartbeats and requests of a few hundred bytes: 2 KiB holds
/// them in one read, and a longer frame (a 4000-character message) takes a few more reads
/// into a buffer grown for it.
const READ_BUFFER: usize = 2 * 1024;
/// Each frame is written as it is fed (0): tungstenite's write buffer is a vector that keeps
/// its largest size, so gathering a burst of dispatches (a storm of presence updates at
/// connect time) before writing would leave every connection holding kilobytes ever after.
/// Unwritten bytes still wait there when the socket is full.
const WRITE_BUFFER: usize = 0;
/// Written but unsent bytes past this fail the connection (the outbound limit usually acts
/// first).
const WRITE_BUFFER_MAX: usize = 1024 * 1024;

/// `GET /gateway`: upgrades to the gateway's WebSocket.
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
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &app).await {
        Ok(upgrade) => upgrade,
        Err(_) => return not_a_websocket(),
    };
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER_MAX)
        .max_message_size(FRAME_MAX)
        .max_frame_size(FRAME_MAX)
        .on_upgrade(move |socket| connection::run(socket, app, meta))
}

fn not_a_websocket() -> Response {
    ApiError::new(
        StatusCode::UPGRADE_REQUIRED,
        "websocket_required",
        "the gateway speaks WebSocket: send a GET with `Connection: Upgrade`, `Upgrade: websocket` and `Sec-WebSocket-Version: 13`",
    )
    .with_header(header::UPGRADE, "websocket")
    .into_response()
}

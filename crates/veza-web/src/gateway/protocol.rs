//! The gateway's frames: opcodes, close codes, what clients send and how dispatches are
//! written. GATEWAY.md at the repository's root is the protocol's description for client
//! authors; this file is its source of truth.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::problem::Problem;

/// Opcodes.
pub mod op {
    /// Server → client: an event, with the session's sequence number.
    pub const DISPATCH: u8 = 0;
    /// Both ways: client proves it is alive (d: last sequence seen); the server may ask for one.
    pub const HEARTBEAT: u8 = 1;
    pub const IDENTIFY: u8 = 2;
    pub const RESUME: u8 = 6;
    /// Client → server: a state-changing call (the same use cases as REST).
    pub const REQUEST: u8 = 8;
    /// Server → client: the session cannot be resumed (d: false); identify again.
    pub const INVALID_SESSION: u8 = 9;
    pub const HELLO: u8 = 10;
    pub const HEARTBEAT_ACK: u8 = 11;
    /// Server → client: the answer to a REQUEST.
    pub const RESPONSE: u8 = 12;
}

/// Close codes (4000–4999 are the application's, RFC 6455 §7.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Something went wrong on our side; resume.
    UnknownError = 4000,
    UnknownOpcode = 4001,
    /// Not JSON, not the frame's shape, or a binary frame.
    DecodeError = 4002,
    /// An op other than HEARTBEAT, IDENTIFY or RESUME before identifying, or no IDENTIFY in time.
    NotAuthenticated = 4003,
    /// The token does not verify (expired, revoked, malformed) or lacks `chat:read`.
    AuthenticationFailed = 4004,
    AlreadyAuthenticated = 4005,
    /// RESUME named a sequence number the session never reached.
    InvalidSeq = 4007,
    /// More ops than the per-connection limit allows.
    RateLimited = 4008,
    /// No heartbeat within the interval and its grace; resume.
    SessionTimedOut = 4009,
    /// The client read too slowly and its outbound buffer filled; resume (nothing is lost
    /// while the session's buffer still holds what it missed).
    SlowConsumer = 4010,
    /// Another connection resumed this session.
    SessionReplaced = 4011,
    /// Chat state could not be recomputed; identify again and re-sync over REST.
    ResyncRequired = 4012,
    /// Framing that breaks RFC 6455 (an unmasked frame, reserved bits or opcodes, a broken
    /// fragment sequence; RFC 6455's code).
    ProtocolError = 1002,
    /// A text message that is not UTF-8 (RFC 6455's code).
    InvalidPayload = 1007,
    /// A frame past the size limit (RFC 6455's code).
    MessageTooBig = 1009,
    /// The node is shutting down; its sessions go with it: reconnect and identify.
    ServiceRestart = 1012,
}

impl Close {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn reason(self) -> &'static str {
        match self {
            Close::UnknownError => "unknown error; resume",
            Close::UnknownOpcode => "unknown opcode",
            Close::DecodeError => "frames are JSON text objects {op, d}",
            Close::NotAuthenticated => "identify first",
            Close::AuthenticationFailed => "authentication failed",
            Close::AlreadyAuthenticated => "already identified",
            Close::InvalidSeq => "invalid sequence number",
            Close::RateLimited => "too many ops; slow down",
            Close::SessionTimedOut => "no heartbeat in time; resume",
            Close::SlowConsumer => "outbound buffer full; read faster and resume",
            Close::SessionReplaced => "session resumed on another connection",
            Close::ResyncRequired => "state changed beyond recovery; identify again",
            Close::ProtocolError => "WebSocket protocol error",
            Close::InvalidPayload => "text frames are UTF-8",
            Close::MessageTooBig => "frames are at most 64 KiB",
            Close::ServiceRestart => "server restarting; reconnect and identify",
        }
    }
}

/// A frame from a client. `d` is kept raw until the op says what it holds.
#[derive(Debug, Deserialize)]
pub struct Inbound<'a> {
    pub op: u8,
    #[serde(borrow, default)]
    pub d: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    /// An access token or an API key with `chat:read`.
    pub token: String,
    /// Communities with more members than this start without their presences in READY
    /// (clamped to 50..=250; 50 when absent, as Discord's).
    #[serde(default)]
    pub large_threshold: Option<u64>,
}

impl Identify {
    pub fn large_threshold(&self) -> u64 {
        const LEAST: u64 = 50;
        const MOST: u64 = 250;
        self.large_threshold.unwrap_or(LEAST).clamp(LEAST, MOST)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    pub token: String,
    pub session_id: String,
    pub seq: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request<'a> {
    /// The client's id for the call, echoed in the RESPONSE (1–64 characters).
    pub id: String,
    pub method: String,
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
}

/// The answer to a REQUEST: `result` on success, else a problem (as REST would answer).
#[derive(Debug, Serialize)]
pub struct Response<T: Serialize> {
    pub id: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// `{"op":N,"d":…}` for frames outside the dispatch sequence.
pub fn frame(op: u8, d: &impl Serialize) -> String {
    #[derive(Serialize)]
    struct Frame<'a, D: Serialize> {
        op: u8,
        d: &'a D,
    }
    serde_json::to_string(&Frame { op, d }).unwrap_or_else(|_| format!("{{\"op\":{op},\"d\":null}}"))
}

/// A dispatch as written to one session: `{"op":0,"s":seq,"t":"NAME","d":…}`. The event's
/// payload was encoded once for every session; only the sequence number is the session's.
pub fn dispatch(seq: u64, name: &str, data: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(data.len() + name.len() + 40);
    let _ = write!(out, "{{\"op\":0,\"s\":{seq},\"t\":\"{name}\",\"d\":");
    out.push_str(data);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dispatch_is_one_json_object_with_the_sessions_sequence() {
        let text = dispatch(7, "MESSAGE_CREATE", r#"{"id":"1"}"#);
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v, serde_json::json!({"op": 0, "s": 7, "t": "MESSAGE_CREATE", "d": {"id": "1"}}));
    }

    #[test]
    fn inbound_frames_keep_their_payload_raw() {
        let f: Inbound<'_> = serde_json::from_str(r#"{"op":2,"d":{"token":"x"}}"#).expect("frame");
        assert_eq!(f.op, op::IDENTIFY);
        let id: Identify = serde_json::from_str(f.d.expect("d").get()).expect("identify");
        assert_eq!(id.token, "x");
        assert!(serde_json::from_str::<Inbound<'_>>(r#"{"op":"2"}"#).is_err());
    }
}

//! Cross-cutting request handling: request ids, client addresses, metrics, rate limits,
//! browser protections, and giving every error a problem+json body.

pub mod body_limit;
pub mod client_ip;
pub mod metrics;
pub mod problem_body;
pub mod rate_limit;
pub mod request_id;
pub mod security;
pub mod timeout;

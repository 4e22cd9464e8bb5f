//! Cross-cutting request handling: request ids, metrics, and giving every error a
//! problem+json body.

pub mod client_ip;
pub mod metrics;
pub mod problem_body;
pub mod request_id;
pub mod security;

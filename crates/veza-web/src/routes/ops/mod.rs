//! Operations endpoints outside `/api/v1`: liveness, readiness, metrics, signing keys.

pub mod healthz;
pub mod jwks;
pub mod metrics;
pub mod readyz;

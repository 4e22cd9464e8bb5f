//! What every handler can reach: the use cases and the node's dependencies.

use std::sync::Arc;

use async_trait::async_trait;
use veza_core::accounts::Accounts;

use crate::middleware::metrics::Metrics;
use crate::middleware::rate_limit::RateLimits;
use crate::middleware::security::OriginPolicy;

/// Database pool occupancy, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DbPoolStats {
    pub max: u32,
    pub open: u32,
    pub idle: u32,
}

/// The node's external dependencies as the ops endpoints see them. Implemented by the binary,
/// which knows the concrete adapters; this crate stays ignorant of SQL.
#[async_trait]
pub trait Dependencies: Send + Sync + std::fmt::Debug {
    /// `Err(reason)` when the node cannot serve: database down, schema not migrated.
    async fn readiness(&self) -> Result<(), String>;
    fn db_pool(&self) -> DbPoolStats;
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub accounts: Accounts,
    pub communities: veza_core::chat::communities::Communities,
    pub deps: Arc<dyn Dependencies>,
    pub metrics: Arc<Metrics>,
    /// Which page origins may open a WebSocket (for the gateway's upgrade check).
    pub origins: OriginPolicy,
    /// The chat gateway of this node.
    pub gateway: Arc<crate::gateway::Gateway>,
    /// The API's rate limits; `None` turns limiting off.
    pub rate_limits: Option<Arc<RateLimits>>,
}

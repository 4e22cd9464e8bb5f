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

/// What handlers are given: the node's [`Services`], shared. Every request and every gateway
/// connection holds a copy, so a copy is one reference (a connection holding the whole set
/// inline would cost about a kilobyte per client).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

#[derive(Debug)]
pub struct Services {
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
    pub catalog: veza_core::catalog::Catalog,
    pub social: veza_core::social::Social,
    pub media: Arc<MediaHttp>,
}

/// How the track routes take uploads and hand out media URLs.
#[derive(Debug, Clone)]
pub struct MediaHttp {
    /// Where uploads are received before the catalog accepts them (on the node's own disk).
    pub upload_dir: std::path::PathBuf,
    /// Largest accepted audio file.
    pub upload_max_bytes: u64,
    /// The most bytes one chat message's files may hold together.
    pub attachment_max_bytes: u64,
    /// An upload that sends nothing for this long is dropped (the request timeout does not
    /// apply to uploads, which may rightly take many minutes).
    pub upload_idle_timeout: std::time::Duration,
    /// Prepended to media paths to make the URLs clients fetch (the public URL).
    pub public_url: String,
}

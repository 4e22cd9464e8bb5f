//! Prometheus metrics: request count and latency by method, route template and status, requests
//! in flight, database pool occupancy and build info. Route templates (`/api/v1/users/{id}`)
//! rather than paths keep the label set bounded whatever clients request.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::state::DbPoolStats;

/// Latency buckets from 1 ms to 10 s: an authenticated read is ~1 ms, a login ~50 ms (argon2).
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGauge,
    pool: IntGaugeVec,
    pool_max: IntGauge,
    gateway_sessions: IntGauge,
    gateway_connections: IntGauge,
    publish_failures: prometheus::IntCounter,
}

/// The gateway as `/metrics` shows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayStats {
    /// Sessions kept on this node, connected or waiting for a resume.
    pub sessions: usize,
    /// Of those, the ones with a connection.
    pub connected: usize,
    /// Chat events the bus refused since start (stored, but not delivered live).
    pub publish_failures: u64,
}

/// The matched route, copied into the response by an inner layer so the outer metrics layer
/// (which runs before routing) can label by it.
#[derive(Debug, Clone)]
struct RouteTemplate(MatchedPath);

impl Metrics {
    pub fn new(version: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(Opts::new("veza_http_requests_total", "HTTP requests answered."), labels)?;
        let latency = HistogramVec::new(
            HistogramOpts::new("veza_http_request_duration_seconds", "Time to answer HTTP requests.")
                .buckets(BUCKETS.to_vec()),
            labels,
        )?;
        let in_flight = IntGauge::new("veza_http_requests_in_flight", "HTTP requests being answered now.")?;
        let pool =
            IntGaugeVec::new(Opts::new("veza_db_pool_connections", "Database pool connections by state."), &["state"])?;
        let pool_max = IntGauge::new("veza_db_pool_max_connections", "The database pool's connection limit.")?;
        let gateway_sessions =
            IntGauge::new("veza_gateway_sessions", "Gateway sessions on this node, connected or awaiting a resume.")?;
        let gateway_connections =
            IntGauge::new("veza_gateway_connections", "Gateway sessions on this node with a connection.")?;
        let publish_failures = prometheus::IntCounter::new(
            "veza_gateway_publish_failures_total",
            "Chat events the event bus refused (stored, but not delivered live).",
        )?;
        let build = IntGaugeVec::new(Opts::new("veza_build_info", "Build information; always 1."), &["version"])?;
        build.with_label_values(&[version]).set(1);
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(in_flight.clone()),
            Box::new(pool.clone()),
            Box::new(pool_max.clone()),
            Box::new(gateway_sessions.clone()),
            Box::new(gateway_connections.clone()),
            Box::new(publish_failures.clone()),
            Box::new(build),
        ] {
            registry.register(c)?;
        }
        Ok(Self {
            registry,
            requests,
            latency,
            in_flight,
            pool,
            pool_max,
            gateway_sessions,
            gateway_connections,
            publish_failures,
        })
    }

    /// The text exposition, with pool and gateway gauges read fresh.
    pub fn render(&self, pool: DbPoolStats, gateway: GatewayStats) -> String {
        self.gateway_sessions.set(i64::try_from(gateway.sessions).unwrap_or(i64::MAX));
        self.gateway_connections.set(i64::try_from(gateway.connected).unwrap_or(i64::MAX));
        let counted = self.publish_failures.get();
        if gateway.publish_failures > counted {
            self.publish_failures.inc_by(gateway.publish_failures - counted);
        }
        self.pool.with_label_values(&["idle"]).set(i64::from(pool.idle));
        self.pool.with_label_values(&["in_use"]).set(i64::from(pool.open.saturating_sub(pool.idle)));
        self.pool_max.set(i64::from(pool.max));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "could not encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Only standard methods become label values; anything else is `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    // A guard, so that a request dropped mid-way (client gone) still leaves the gauge.
    let in_flight = InFlight::enter(&metrics.in_flight);
    let res = next.run(req).await;
    drop(in_flight);
    let route = res.extensions().get::<RouteTemplate>().map_or("unmatched", |r| r.0.as_str());
    let status = res.status();
    let labels = [method, route, status.as_str()];
    metrics.requests.with_label_values(&labels).inc();
    metrics.latency.with_label_values(&labels).observe(start.elapsed().as_secs_f64());
    res
}

struct InFlight<'a>(&'a IntGauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Inner layer (a route layer, so it sees the matched path).
pub async fn record_route(req: Request, next: Next) -> Response {
    // MatchedPath is reference-counted: cloning it copies no string.
    let template = req.extensions().get::<MatchedPath>().cloned().map(RouteTemplate);
    let mut res = next.run(req).await;
    if let Some(t) = template {
        res.extensions_mut().insert(t);
    }
    res
}

//! Wiring: builds every adapter from the configuration, hands them to the core, and runs the
//! HTTP server until a shutdown signal has drained in-flight requests.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use tokio::sync::mpsc;
use veza_core::accounts::{AccountDeps, AccountPolicy, Accounts, Links};
use veza_core::chat::cache::CachedChat;
use veza_core::chat::communities::{ChatDeps, Communities};
use veza_core::clock::SystemClock;
use veza_core::id::Snowflake;
use veza_core::mail::Mailer;
use veza_core::ports::UserRepo;
use veza_core::ports::{BusDelivery, ChannelRepo, CommunityRepo, EventBus};
use veza_core::rate_limit::attempts::{AttemptPolicy, AttemptThrottle, GuessLimits, LocalAttempts};
use veza_core::rate_limit::local::LocalRateLimiter;
use veza_core::rate_limit::{Failover, OnFailure, RateLimiter};
use veza_core::user_cache::CachedUsers;
use veza_crypto::{Argon2Hasher, JwtSigner, TokenAudience, TotpAuthenticator};
use veza_redis::{RedisAttempts, RedisBus, RedisRateLimiter};
use veza_sql::{Database, PoolConfig};
use veza_web::gateway::event::Publisher;
use veza_web::gateway::hub::{Hub, LocalBus};
use veza_web::gateway::{Gateway, GatewayConfig};
use veza_web::middleware::client_ip::{ForwardedHeader, TrustedProxies};
use veza_web::middleware::metrics::Metrics;
use veza_web::middleware::rate_limit::RateLimits;
use veza_web::middleware::security::OriginPolicy;
use veza_web::state::{MediaHttp, Services};
use veza_web::{AppState, DbPoolStats, Dependencies, HeaderValue, HttpConfig};

use veza_core::catalog::media::{MediaPipeline, MissingPipeline, ObjectStore};
use veza_core::catalog::renditions::MediaSigner;
use veza_core::catalog::{Catalog, CatalogDeps, CatalogPolicy};
use veza_core::social::{Social, SocialDeps};
use veza_media::{Ffmpeg, FfmpegConfig};

use crate::config::{Config, ForwardedHeaderName, OnRedisFailure};
use crate::{secrets, transcoding};

/// Accounts kept in the read cache: about 1 KiB each, so at most ~100 MiB.
const USER_CACHE_CAPACITY: u64 = 100_000;

/// The audience every access token names: this API, whatever its public URL.
const TOKEN_AUDIENCE: &str = "veza";

/// A node's adapters and use cases, ready to serve or to run one command.
#[derive(Debug)]
pub struct Node {
    pub db: Database,
    pub accounts: Accounts,
    pub communities: Communities,
    /// This node's own brute-force counters (all of them without Redis; the fallback with it).
    pub guess_counters: Arc<LocalAttempts>,
    /// The chat event bus, and what it delivers to this node (taken by the gateway's hub).
    pub bus: Arc<dyn EventBus>,
    pub deliveries: std::sync::Mutex<Option<mpsc::Receiver<BusDelivery>>>,
    /// What the chat use cases announce through.
    pub publisher: Publisher,
    pub ids: Arc<dyn veza_core::id::IdGenerator>,
    pub clock: Arc<dyn veza_core::clock::Clock>,
    /// Where tracks' media and messages' files are stored.
    pub storage: veza_media::Storage,
    /// Signs media URLs, of tracks and of messages' files.
    pub media_signer: MediaSigner,
}

impl Node {
    /// Connects to the database and applies pending migrations.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
        let pool = PoolConfig {
            max_connections: config.db_max_connections,
            acquire_timeout: Duration::from_secs(config.db_acquire_timeout_secs),
        };
        let masked = crate::config::mask_url_password(&config.database_url);
        let db = Database::connect(&config.database_url, &pool).await.with_context(|| format!("database {masked}"))?;
        let applied = db.migrate().await.context("applying database migrations")?;
        if applied > 0 {
            tracing::info!(applied, database = %masked, "database migrations applied");
        }

        let key = secrets::jwt_signing_key(&config.jwt_private_key, &config.data_dir)?;
        let audience = TokenAudience { issuer: config.public_url.clone(), audience: TOKEN_AUDIENCE.into() };
        let signer = JwtSigner::from_pkcs8(&key, audience)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hasher = Argon2Hasher::new(cores * 2)?;
        let ids: Arc<dyn veza_core::id::IdGenerator> =
            Arc::new(Snowflake::new(config.node_id).map_err(anyhow::Error::msg)?);
        let clock: Arc<dyn veza_core::clock::Clock> = Arc::new(SystemClock);
        let store = Arc::new(db.clone());
        let (guesses, guess_counters) = guess_limits(config)?;
        let users: Arc<dyn UserRepo> = match config.user_cache_ttl_ms {
            0 => store.clone(),
            ms => Arc::new(CachedUsers::new(store.clone(), Duration::from_millis(ms), USER_CACHE_CAPACITY)),
        };
        let totp_key = secrets::totp_sealing_key(&config.totp_key, &config.data_dir)?;
        let authenticator = TotpAuthenticator::new(&totp_key)?;
        let app_url = if config.app_url.is_empty() { &config.public_url } else { &config.app_url };
        let (bus, deliveries) = event_bus(config)?;
        let publisher = Publisher::new(bus.clone());
        let accounts = Accounts::new(AccountDeps {
            users: users.clone(),
            api_keys: store.clone(),
            sessions: store.clone(),
            audit: store.clone(),
            hasher: Arc::new(hasher),
            tokens: Arc::new(signer),
            clock: clock.clone(),
            ids: ids.clone(),
            guesses,
            mail: store.clone(),
            account_tokens: store.clone(),
            second_factors: store.clone(),
            authenticator: Arc::new(authenticator),
            identities: store.clone(),
            oauth_flows: store.clone(),
            passkeys: store,
            webauthn: Arc::new(webauthn(config)?),
            providers: Arc::new(
                veza_oauth::Providers::new(config.oauth_providers(app_url)).map_err(anyhow::Error::msg)?,
            ),
            links: Links::new(app_url),
            policy: AccountPolicy { admins_need_second_factor: config.admins_require_2fa },
            events: Arc::new(publisher.clone()),
        });
        let storage = veza_media::Storage::from_url(&config.storage_url, &config.data_dir)
            .map_err(|e| anyhow::anyhow!("invalid configuration for VEZA_STORAGE_URL (storage_url): {e}"))?
            .with_read_cache(config.media_cache_mb.saturating_mul(1024 * 1024));
        let media_signer = MediaSigner::new(&secrets::media_signing_key(&config.media_key, &config.data_dir)?);
        let (community_repo, channel_repo, deliveries) = chat_repos(config, &db, &bus, deliveries);
        let communities = Communities::new(ChatDeps {
            communities: community_repo,
            channels: channel_repo,
            messages: Arc::new(db.clone()),
            presence: Arc::new(db.clone()),
            users,
            clock: clock.clone(),
            ids: ids.clone(),
            events: Arc::new(publisher.clone()),
            tracks: Arc::new(db.clone()),
            track_link_bases: [app_url, &config.public_url]
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
            store: Arc::new(storage.clone()),
            signer: media_signer.clone(),
            attachment_max_bytes: config.attachment_max_bytes,
            media_url_base: config.public_url.trim_end_matches('/').to_owned(),
        });
        let deliveries = std::sync::Mutex::new(Some(deliveries));
        Ok(Self {
            db,
            accounts,
            communities,
            guess_counters,
            bus,
            deliveries,
            publisher,
            ids,
            clock,
            storage,
            media_signer,
        })
    }

    /// The catalog with its storage and ffmpeg, which only a serving node needs (the command
    /// line's admin commands run without ffmpeg). Without a working ffmpeg the node still
    /// serves: uploads answer 503 saying what to install, `/readyz` lists media as degraded,
    /// and the start says so once.
    pub async fn catalog(&self, config: &Config) -> anyhow::Result<(Catalog, Arc<transcoding::Wake>)> {
        let storage = &self.storage;
        let store: Arc<dyn ObjectStore> = Arc::new(storage.clone());
        let ffmpeg = FfmpegConfig {
            ffmpeg: config.ffmpeg.clone().into(),
            ffprobe: config.ffprobe.clone().into(),
            work_dir: config.data_dir.join("work"),
            stall_timeout: Duration::from_secs(config.transcode_stall_secs),
        };
        let media: Arc<dyn MediaPipeline> = match Ffmpeg::new(ffmpeg, store.clone()).await {
            Ok((ffmpeg, version)) => {
                tracing::info!(ffmpeg = %version, storage = storage.describe(), "media pipeline ready");
                Arc::new(ffmpeg)
            }
            Err(reason) => {
                tracing::warn!(%reason, "uploads and processing are off on this node; accounts, chat and playback work");
                Arc::new(MissingPipeline { reason })
            }
        };
        let wake = Arc::new(transcoding::Wake::default());
        let catalog = Catalog::new(CatalogDeps {
            tracks: Arc::new(self.db.clone()),
            jobs: Arc::new(self.db.clone()),
            store,
            media,
            clock: self.clock.clone(),
            timer: Arc::new(transcoding::TokioTimer),
            ids: self.ids.clone(),
            events: Arc::new(self.publisher.clone()),
            wake: wake.clone(),
            signer: self.media_signer.clone(),
            policy: CatalogPolicy {
                url_ttl: Duration::from_secs(config.media_url_ttl_secs),
                redirect_to_store: config.media_redirect && config.storage_url.starts_with("s3://"),
                lease: Duration::from_secs(config.job_lease_secs),
            },
        });
        Ok((catalog, wake))
    }
}

/// The passkeys' relying party, for the web client's origin. A configured relying party id that
/// does not fit the origin stops the start; a derived one that cannot work (the embedded default
/// on 127.0.0.1) turns passkeys off, with a warning.
fn webauthn(config: &Config) -> anyhow::Result<veza_crypto::WebauthnPasskeys> {
    let (rp_id, origin) = config.webauthn_relying_party();
    match veza_crypto::WebauthnPasskeys::new(&rp_id, &origin) {
        Ok(rp) => Ok(rp),
        Err(e) if config.webauthn_rp_id.is_empty() => {
            tracing::warn!(origin, reason = %e, "passkeys are off: set VEZA_APP_URL to the web client's https URL (or http://localhost:…)");
            Ok(veza_crypto::WebauthnPasskeys::off())
        }
        Err(e) => Err(anyhow::anyhow!("invalid configuration for VEZA_WEBAUTHN_RP_ID (webauthn_rp_id): {e}")),
    }
}

/// How long the permission cache keeps what it read, for what changes beneath the repositories
/// (an account deleted takes its memberships with it).
const CHAT_CACHE_TTL: Duration = Duration::from_secs(300);
/// The same in a cluster, where it also bounds how stale a node can be between its link to the
/// bus breaking silently and its noticing.
const CLUSTER_CHAT_CACHE_TTL: Duration = Duration::from_secs(30);
/// Communities, roles, memberships and channels the permission cache holds at most.
const CHAT_CACHE_ENTRIES: u64 = 200_000;

/// The community and channel repositories the chat use cases read through, cached. On a single
/// node every change passes through the cache; in a cluster each change is also announced on
/// the bus, whose deliveries then pass through the cache's protocol before they reach the
/// gateway (what this returns in place of `deliveries`).
fn chat_repos(
    config: &Config,
    db: &Database,
    bus: &Arc<dyn EventBus>,
    deliveries: mpsc::Receiver<BusDelivery>,
) -> (Arc<dyn CommunityRepo>, Arc<dyn ChannelRepo>, mpsc::Receiver<BusDelivery>) {
    let store = Arc::new(db.clone());
    if config.redis_url.is_empty() {
        let cached = Arc::new(CachedChat::new(store.clone(), store, CHAT_CACHE_TTL, CHAT_CACHE_ENTRIES));
        return (cached.clone(), cached, deliveries);
    }
    let sync = Arc::new(veza_redis::CacheSync::new(bus.clone(), Duration::from_millis(config.event_bus_timeout_ms)));
    let cached = CachedChat::new(store.clone(), store, CLUSTER_CHAT_CACHE_TTL, CHAT_CACHE_ENTRIES);
    let cached = Arc::new(cached.with_peers(sync.clone()));
    let (to_hub, rest) = mpsc::channel(veza_web::gateway::hub::DELIVERY_QUEUE);
    sync.start(cached.clone(), deliveries, to_hub);
    (cached.clone(), cached, rest)
}

/// The chat event bus: in-process (one node), or Redis pub/sub shared by every node.
fn event_bus(config: &Config) -> anyhow::Result<(Arc<dyn EventBus>, mpsc::Receiver<BusDelivery>)> {
    if config.redis_url.is_empty() {
        let (bus, deliveries) = LocalBus::new();
        return Ok((Arc::new(bus), deliveries));
    }
    let (to_hub, deliveries) = mpsc::channel(veza_web::gateway::hub::DELIVERY_QUEUE);
    let timeout = Duration::from_millis(config.event_bus_timeout_ms);
    let bus = RedisBus::start(&config.redis_url, &config.event_bus_redis_prefix, timeout, to_hub)
        .map_err(|e| anyhow::anyhow!("VEZA_REDIS_URL: {e}"))?;
    Ok((Arc::new(bus), deliveries))
}

/// The database as the ops endpoints see it.
#[derive(Debug)]
struct SqlDependencies(Database);

#[async_trait]
impl Dependencies for SqlDependencies {
    async fn readiness(&self) -> Result<(), String> {
        self.0.readiness().await
    }

    fn db_pool(&self) -> DbPoolStats {
        let s = self.0.pool_stats();
        DbPoolStats { max: s.max, open: s.open, idle: s.idle }
    }
}

/// How queued mail leaves: SMTP when configured, else `.eml` files in `{data dir}/outbox/`.
fn mailer(config: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    let from: lettre::message::Mailbox = config.mail_from.parse().context("VEZA_MAIL_FROM")?;
    if config.smtp_url.is_empty() {
        let dir = config.data_dir.join("outbox");
        tracing::info!(dir = %dir.display(), "mail is written to files (set VEZA_SMTP_URL to send it)");
        return Ok(Arc::new(veza_mail::FileMailer::new(dir, from)));
    }
    let mailer = veza_mail::SmtpMailer::new(&config.smtp_url, from, SMTP_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("VEZA_SMTP_URL: {e}"))?;
    tracing::info!(smtp = %crate::config::mask_url_password(&config.smtp_url), "mail is sent through SMTP");
    Ok(Arc::new(mailer))
}

/// Longest wait for an SMTP server's answer in one delivery.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

fn on_redis_failure(config: &Config) -> OnFailure {
    match config.rate_limit_on_redis_failure {
        OnRedisFailure::Local => OnFailure::Local,
        OnRedisFailure::Allow => OnFailure::Allow,
        OnRedisFailure::Deny => OnFailure::Deny,
    }
}

/// Brute-force counters: in-process, or shared through Redis with the in-process ones (or a
/// fixed answer) for when Redis is away. Also returns the in-process counters, to sweep.
fn guess_limits(config: &Config) -> anyhow::Result<(GuessLimits, Arc<LocalAttempts>)> {
    let local = Arc::new(LocalAttempts::new(Arc::new(SystemClock)));
    let throttle: Arc<dyn AttemptThrottle> = if config.redis_url.is_empty() {
        local.clone()
    } else {
        let timeout = Duration::from_millis(config.rate_limit_redis_timeout_ms);
        let redis = RedisAttempts::new(&config.redis_url, &config.rate_limit_redis_prefix, timeout)
            .map_err(|e| anyhow::anyhow!("VEZA_REDIS_URL: {e}"))?;
        Arc::new(Failover::<dyn AttemptThrottle>::new(Arc::new(redis), local.clone(), on_redis_failure(config)))
    };
    let (per_account, per_address) = config.guess_policies();
    Ok((GuessLimits { throttle, per_account, per_address }, local))
}

/// How often the in-process limiter forgets callers whose buckets are full again.
const SWEEP_LIMITER_EVERY: Duration = Duration::from_secs(60);

/// The API's rate limits: in-process, or shared through Redis with the in-process limiter (or a
/// fixed answer) for when Redis is away.
fn rate_limits(config: &Config) -> anyhow::Result<Option<Arc<RateLimits>>> {
    if !config.rate_limits {
        tracing::warn!("rate limiting is off (VEZA_RATE_LIMITS=false)");
        return Ok(None);
    }
    let policies = config.rate_limit_policies().map_err(anyhow::Error::msg)?;
    let local = Arc::new(LocalRateLimiter::new(&policies.all()));
    sweep_periodically(&local, |local| {
        let buckets = local.sweep();
        tracing::debug!(buckets, "rate-limit buckets in memory");
    });
    let limiter: Arc<dyn RateLimiter> = if config.redis_url.is_empty() {
        local
    } else {
        let timeout = Duration::from_millis(config.rate_limit_redis_timeout_ms);
        let redis = RedisRateLimiter::new(&config.redis_url, &config.rate_limit_redis_prefix, timeout)
            .map_err(|e| anyhow::anyhow!("VEZA_REDIS_URL: {e}"))?;
        tracing::info!(redis = %crate::config::mask_url_password(&config.redis_url), "rate limits shared through Redis");
        Arc::new(Failover::<dyn RateLimiter>::new(Arc::new(redis), local, on_redis_failure(config)))
    };
    Ok(Some(Arc::new(RateLimits { limiter, policies })))
}

/// Runs `sweep` on `target` every [`SWEEP_LIMITER_EVERY`] for as long as it is alive.
fn sweep_periodically<T: Send + Sync + 'static>(target: &Arc<T>, sweep: fn(&T)) {
    let target = Arc::downgrade(target);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_LIMITER_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let Some(target) = target.upgrade() else { break };
            sweep(&target);
        }
    });
}

/// How often old records are deleted; how long after expiry account tokens are kept (so that a
/// late click is told "expired" rather than "not valid"); how long sent mail is remembered.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
const KEEP_EXPIRED_TOKENS: time::Duration = time::Duration::days(7);
const KEEP_FINISHED_MAIL: time::Duration = time::Duration::days(30);

/// How often idle threads are looked for (they archive themselves after an hour at the least).
const ARCHIVE_THREADS_EVERY: Duration = Duration::from_secs(60);

/// Archives threads idle past their `auto_archive_minutes`, on every node (each thread is
/// archived by one conditional UPDATE, so by one node).
fn archive_threads_periodically(communities: Communities) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(ARCHIVE_THREADS_EVERY);
        loop {
            every.tick().await;
            match communities.archive_idle_threads().await {
                Ok(0) => {}
                Ok(archived) => tracing::info!(archived, "idle threads archived"),
                Err(e) => tracing::warn!(error = %e, "could not archive idle threads"),
            }
        }
    });
}

/// How often files nothing points at are looked for (listing the store is not free).
const SWEEP_ORPHANS_EVERY: Duration = Duration::from_secs(3600);

/// Removes the files of tracks and messages that do not exist (see `veza_core::catalog::sweep`),
/// an hour after start and then hourly. Every node may run it: removal is idempotent.
fn sweep_orphans_periodically(catalog: Catalog, communities: Communities) {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + SWEEP_ORPHANS_EVERY;
        let mut every = tokio::time::interval_at(start, SWEEP_ORPHANS_EVERY);
        loop {
            every.tick().await;
            let tracks = catalog.sweep_orphan_files().await;
            let messages = communities.sweep_orphan_files().await;
            for (what, result) in [("tracks", tracks), ("messages", messages)] {
                match result {
                    Ok(0) => {}
                    Ok(swept) => tracing::info!(swept, what, "files nothing pointed at removed"),
                    Err(e) => tracing::warn!(error = %e, what, "could not sweep files nothing points at"),
                }
            }
        }
    });
}

/// Deletes long-expired account tokens and old mail records every hour while the node runs.
fn purge_periodically(db: Database) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            let now = time::OffsetDateTime::now_utc();
            let tokens = veza_core::ports::AccountTokenRepo::purge_expired(&db, now - KEEP_EXPIRED_TOKENS).await;
            let mail = veza_core::mail::MailQueue::purge_finished(&db, now - KEEP_FINISHED_MAIL).await;
            let flows = veza_core::ports::OAuthFlowRepo::purge_flows(&db, now).await;
            let ceremonies = veza_core::ports::PasskeyRepo::purge_ceremonies(&db, now).await;
            let purged = [
                ("expired account tokens", tokens),
                ("finished mail records", mail),
                ("expired sign-in flows", flows),
                ("expired passkey ceremonies", ceremonies),
            ];
            for (what, result) in purged {
                match result {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, what, "old records deleted"),
                    Err(e) => tracing::warn!(error = %e, what, "could not delete old records"),
                }
            }
        }
    });
}

/// Serves until SIGTERM or Ctrl-C, then stops accepting, lets in-flight requests finish (up to
/// the grace period) and closes the database.
pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    // Bind first: with port 0 the real address, and so the derived public URL (the token
    // issuer), is known only now.
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {} (VEZA_ADDR)", config.addr))?;
    let addr = listener.local_addr()?;
    if config.public_url_derived {
        config.public_url = format!("http://{addr}");
    }
    let node = Node::build(&config).await?;
    let (catalog, wake) = node.catalog(&config).await?;
    let upload_dir = upload_dir(&config.data_dir)?;
    purge_periodically(node.db.clone());
    archive_threads_periodically(node.communities.clone());
    sweep_orphans_periodically(catalog.clone(), node.communities.clone());
    sweep_periodically(&node.guess_counters, |counters| {
        counters.sweep(AttemptPolicy::PER_ACCOUNT.forget_after);
    });
    let metrics = Metrics::new(env!("CARGO_PKG_VERSION")).context("metrics registry")?;
    let cors_origins: Vec<HeaderValue> = config
        .cors_origin_list()
        .map_err(|entry| anyhow::anyhow!("CORS origin `{entry}`"))?
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let deliveries =
        node.deliveries.lock().ok().and_then(|mut d| d.take()).context("the gateway is already running")?;
    let hub = Hub::start(
        node.bus.clone(),
        deliveries,
        node.communities.clone(),
        Duration::from_secs(config.gateway_resume_secs),
    );
    let gateway = GatewayConfig {
        heartbeat_interval: Duration::from_millis(config.gateway_heartbeat_ms),
        resume_window: Duration::from_secs(config.gateway_resume_secs),
        sign_in_recheck: Duration::from_secs(config.gateway_sign_in_recheck_secs),
        test_pause: config.test_gateway_pause.map(|addr| veza_web::gateway::TestPause { addr }),
    };
    let gateway = Arc::new(Gateway { hub, config: gateway, publisher: node.publisher.clone() });
    let state = AppState::new(Services {
        gateway: gateway.clone(),
        origins: OriginPolicy::new(&config.public_url, &cors_origins),
        accounts: node.accounts.clone(),
        communities: node.communities.clone(),
        deps: Arc::new(SqlDependencies(node.db.clone())),
        metrics: Arc::new(metrics),
        rate_limits: rate_limits(&config)?,
        catalog: catalog.clone(),
        social: Social::new(SocialDeps {
            follows: Arc::new(node.db.clone()),
            reactions: Arc::new(node.db.clone()),
            comments: Arc::new(node.db.clone()),
            playlists: Arc::new(node.db.clone()),
            tracks: Arc::new(node.db.clone()),
            clock: node.clock.clone(),
            ids: node.ids.clone(),
            events: Arc::new(node.publisher.clone()),
        }),
        media: Arc::new(MediaHttp {
            upload_dir,
            upload_max_bytes: config.upload_max_bytes,
            attachment_max_bytes: config.attachment_max_bytes,
            upload_idle_timeout: Duration::from_secs(config.request_timeout_secs),
            public_url: config.public_url.clone(),
        }),
    });
    let http = HttpConfig {
        body_limit: config.body_limit_bytes,
        request_timeout: Duration::from_secs(config.request_timeout_secs),
        trusted_proxies: TrustedProxies {
            nets: config.trusted_proxy_nets().map_err(|entry| anyhow::anyhow!("trusted proxy `{entry}`"))?,
            header: match config.forwarded_header {
                ForwardedHeaderName::XForwardedFor => ForwardedHeader::XForwardedFor,
                ForwardedHeaderName::Forwarded => ForwardedHeader::Forwarded,
            },
        },
        cors_origins: cors_origins.clone(),
        max_concurrent_requests: config.max_concurrent_requests,
        https: config.public_url.starts_with("https://"),
    };
    let app = veza_web::app(state, &http);

    tracing::info!(%addr, public_url = %config.public_url, "veza listening");
    // One line on stdout for scripts and tests that start Veza on port 0.
    println!("veza listening on http://{addr}");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let header_timeout = Duration::from_secs(config.header_read_timeout_secs);
    let server = veza_web::serve(
        listener,
        app,
        async move {
            shutdown_signal().await;
            tracing::info!("shutdown requested; draining in-flight requests");
            let _ = stop_tx.send(true);
        },
        header_timeout,
    );
    let mut mail_stop = stop_rx.clone();
    let mail_worker = tokio::spawn(veza_mail::dispatch(
        Arc::new(node.db.clone()),
        mailer(&config)?,
        Arc::new(SystemClock),
        veza_mail::RetryPolicy {
            first_delay: Duration::from_millis(config.mail_retry_first_ms),
            ..veza_mail::RetryPolicy::default()
        },
        async move {
            let _ = mail_stop.wait_for(|s| *s).await;
        },
    ));
    // A node without ffmpeg runs no workers: its jobs wait for a node that has it.
    let workers = if catalog.uploads_open().is_ok() { config.transcode_concurrency } else { 0 };
    let mut transcoders = transcoding::spawn(&catalog, workers, &wake, &stop_rx);
    // Gateway connections are not HTTP requests the server drains: told to go, they close.
    let mut closing = stop_rx.clone();
    let gateway_closed = tokio::spawn(async move {
        let _ = closing.wait_for(|s| *s).await;
        gateway.hub.close_all(GATEWAY_CLOSE_WAIT).await;
    });
    let mut stopped = stop_rx.clone();
    tokio::select! {
        result = server => result.context("HTTP server failed")?,
        () = async move {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "grace period over; abandoning requests still running"),
    }
    let _ = mail_worker.await;
    let _ = gateway_closed.await;
    // A transcode running past the grace period is dropped (ffmpeg killed, scratch removed);
    // its job's lease lapses and a node picks it up again.
    if tokio::time::timeout(grace, async { while transcoders.join_next().await.is_some() {} }).await.is_err() {
        tracing::warn!("transcoding interrupted; the job runs again after its lease lapses");
        transcoders.shutdown().await;
    }
    node.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Received uploads older than this are leftovers of a node that stopped mid-upload.
const STALE_UPLOAD: Duration = Duration::from_secs(24 * 3600);

/// The folder uploads are received into, emptied of what a stopped node left behind.
fn upload_dir(data_dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = data_dir.join("uploads");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let now = std::time::SystemTime::now();
    for entry in std::fs::read_dir(&dir)?.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > STALE_UPLOAD);
        if stale && entry.file_name().to_string_lossy().ends_with(".part") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(dir)
}

/// How long a stopping node waits for its gateway connections to take their close frames.
const GATEWAY_CLOSE_WAIT: Duration = Duration::from_secs(2);

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

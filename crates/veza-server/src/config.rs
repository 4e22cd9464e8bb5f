//! Configuration: an optional TOML file overlaid by `VEZA_*` environment variables, checked in
//! full before anything starts. Errors name the key (`VEZA_PUBLIC_URL` / `public_url`) and what
//! would be valid. This module is the only place that reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use veza_core::identity::Provider;
use veza_core::rate_limit::attempts::AttemptPolicy;
use veza_core::rate_limit::{Policies, Policy, RouteBucket};
use veza_oauth::ProviderConfig;

/// Every setting, after defaults, file and environment are merged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen address (`VEZA_ADDR`).
    pub addr: SocketAddr,
    /// Where the SQLite database, generated secrets and (later) media live (`VEZA_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means a SQLite file in the data dir.
    pub database_url: String,
    /// The URL clients reach this server at; the token issuer (`VEZA_PUBLIC_URL`). Empty means
    /// `http://{addr}`.
    pub public_url: String,
    /// This node's number in the cluster, 0–1023: part of every ID it generates.
    pub node_id: u16,
    /// `text` (human) or `json` (one object per line).
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `veza=debug,info`; `RUST_LOG` wins when set.
    pub log_level: String,
    /// The Ed25519 signing key as base64 of PKCS#8 DER; empty means generate one into the data
    /// dir on first start. Secret: never printed.
    pub jwt_private_key: String,
    pub db_max_connections: u32,
    /// Seconds a request waits for a database connection before it gets 503.
    pub db_acquire_timeout_secs: u64,
    /// Largest accepted JSON request body.
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// A client must send a request's headers within this many seconds (slowloris defence).
    pub header_read_timeout_secs: u64,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub shutdown_grace_secs: u64,
    /// How long an account read stays cached in this node (milliseconds; 0 turns the cache
    /// off). Bounds how stale a profile, role or disabled flag written on *another* node can be.
    pub user_cache_ttl_ms: u64,
    /// Comma-separated addresses or CIDR ranges of the reverse proxies in front of Veza, whose
    /// `Forwarded` / `X-Forwarded-For` headers are believed. Empty: believe nobody.
    pub trusted_proxies: String,
    /// The one header those proxies write: `x-forwarded-for` or `forwarded`. The other is ignored.
    pub forwarded_header: ForwardedHeaderName,
    /// Comma-separated page origins (`https://app.example.org`) allowed to call the API from a
    /// browser. Empty: none besides Veza's own pages.
    pub cors_origins: String,
    /// API requests handled at once; past it, 503 with Retry-After rather than an unbounded queue.
    pub max_concurrent_requests: usize,
    /// `redis://[:password@]host[:port][/db]`: rate limits shared by every node. Empty: each node
    /// limits on its own, in memory.
    pub redis_url: String,
    /// Rate limiting on (`true`) or off for the whole API.
    pub rate_limits: bool,
    /// When Redis cannot be reached: `local` (limit in-process and log), `allow` (no limits),
    /// or `deny` (answer 503).
    pub rate_limit_on_redis_failure: OnRedisFailure,
    /// How long a rate-limit check waits for Redis before taking the failure path.
    pub rate_limit_redis_timeout_ms: u64,
    /// Prefix of the rate-limit keys in Redis (to share one Redis between installations).
    pub rate_limit_redis_prefix: String,
    /// How long publishing one chat event on Redis may take before it counts as failed (and
    /// the cluster is told of a gap).
    pub event_bus_timeout_ms: u64,
    /// Prefix of the Redis pub/sub channels of the chat event bus (with `redis_url`); Veza
    /// deployments sharing one Redis need different ones.
    pub event_bus_redis_prefix: String,
    /// The quotas, each `count/period` (period in s, m or h: `10/1m`) or `off`. Route buckets
    /// (login, register, refresh) are charged per caller on top of the caller's own level;
    /// `anonymous` is per client address (per /64 for IPv6), `user` per account, `api_key` per
    /// key; `global` is one bucket for the whole cluster.
    pub rate_limit_global: String,
    pub rate_limit_anonymous: String,
    pub rate_limit_user: String,
    pub rate_limit_api_key: String,
    pub rate_limit_login: String,
    pub rate_limit_register: String,
    pub rate_limit_refresh: String,
    /// Password-reset mails asked for, per client address.
    pub rate_limit_password_reset: String,
    /// Sign-in links asked for, per client address.
    pub rate_limit_magic_link: String,
    /// Messages posted, per account or API key (on top of their own bucket).
    pub rate_limit_message_send: String,
    /// Gateway connections opened, per client address (at the upgrade) and per account (at
    /// IDENTIFY or RESUME).
    pub rate_limit_gateway_connect: String,
    /// Tracks uploaded, per account or API key (on top of their own bucket).
    pub rate_limit_track_upload: String,
    /// Follows, likes and reposts made or taken back, per account or API key (on top of their
    /// own bucket).
    pub rate_limit_social_action: String,
    /// Comments posted on tracks, per account or API key (on top of their own bucket).
    pub rate_limit_comment_post: String,
    /// How often gateway clients heartbeat (ms); one missing for half again as long closes the
    /// connection.
    pub gateway_heartbeat_ms: u64,
    /// How often a gateway connection's credential is checked against the database at a
    /// heartbeat; sign-outs close connections as they happen, this is the backstop. 0: every
    /// heartbeat.
    pub gateway_sign_in_recheck_secs: u64,
    /// How long a gateway session can be resumed after its connection drops (s).
    pub gateway_resume_secs: u64,
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required` or `smtps://host:465`. Empty:
    /// every message is written as an `.eml` file to `{data dir}/outbox/` instead.
    pub smtp_url: String,
    /// The sender of Veza's mail, `Name <address>`. Empty: `Veza <no-reply@{public host}>`.
    pub mail_from: String,
    /// The first retry of a failed delivery waits this long (ms); each next one twice as long,
    /// up to an hour; after 10 attempts the message is given up.
    pub mail_retry_first_ms: u64,
    /// Wrong passwords allowed per account before each further try must wait 1 s, 2 s, 4 s…
    pub login_failures_per_account: u32,
    /// The same, per client address (any accounts).
    pub login_failures_per_address: u32,
    /// The longest wait between tries, in seconds (at most an hour).
    pub login_max_delay_secs: u64,
    /// The first of those waits, in seconds; each later one is twice the one before.
    pub login_first_delay_secs: u64,
    /// The web client's base URL: links in mail (address verification, password reset) open
    /// its `/verify-email` and `/reset-password` pages, which post the token to the API.
    /// Empty: the public URL.
    pub app_url: String,
    /// Administrators may use the admin API (and admin-scoped keys) only with two-factor
    /// authentication on; the command line's admin commands are not affected.
    pub admins_require_2fa: bool,
    /// The key (base64 of 32 bytes) that seals TOTP secrets in the database; every node of a
    /// cluster needs the same. Empty means generate one into the data dir on first start.
    /// Secret: never printed.
    pub totp_key: String,
    /// Social sign-in. A provider is on when both its client id and secret are set. The
    /// provider sends people back to `{app_url}/oauth/{provider}/callback`, a page of the web
    /// client that posts the code and state to `POST /api/v1/auth/oauth/{provider}/callback`;
    /// register that URL with the provider. The endpoint settings default to the provider's
    /// real ones and exist so that a test (or a proxy) can stand in for it.
    pub oauth_google_client_id: String,
    /// Secret: never printed.
    pub oauth_google_client_secret: String,
    pub oauth_google_auth_url: String,
    pub oauth_google_token_url: String,
    /// The keys that sign Google's ID tokens (JWKS).
    pub oauth_google_jwks_url: String,
    /// Comma-separated `iss` values a Google ID token may carry.
    pub oauth_google_issuers: String,
    pub oauth_github_client_id: String,
    /// Secret: never printed.
    pub oauth_github_client_secret: String,
    pub oauth_github_auth_url: String,
    pub oauth_github_token_url: String,
    /// The base URL of GitHub's REST API (`/user`, `/user/emails`).
    pub oauth_github_api_url: String,
    pub oauth_discord_client_id: String,
    /// Secret: never printed.
    pub oauth_discord_client_secret: String,
    pub oauth_discord_auth_url: String,
    pub oauth_discord_token_url: String,
    /// The base URL of Discord's API (`/users/@me`).
    pub oauth_discord_api_url: String,
    /// The domain passkeys are bound to: the web client's host (`VEZA_APP_URL`), or a parent
    /// domain of it. Empty: the web client's host. Passkeys only work from that origin, which
    /// must be https (or http://localhost).
    pub webauthn_rp_id: String,
    /// Where tracks' files are kept: empty for `{data dir}/media`, `file:///path`, or
    /// `s3://access_key:secret@bucket/prefix?endpoint=https://…&region=…` for an S3-compatible
    /// store (the credentials URL-encoded). Secret: the credentials are never printed.
    pub storage_url: String,
    /// The ffmpeg and ffprobe programs (a name looked up in `PATH`, or a path); Veza refuses to
    /// start when they are missing or lack the AAC, Opus or MP3 encoder.
    pub ffmpeg: String,
    pub ffprobe: String,
    /// Tracks this node transcodes at once (each ffmpeg run keeps about one core busy).
    pub transcode_concurrency: usize,
    /// An ffmpeg run reporting no progress for this many seconds is killed and retried.
    pub transcode_stall_secs: u64,
    /// How long a worker's claim on a processing job lasts unless renewed. A live worker renews
    /// it every quarter of this for the whole run (a silent ffmpeg included, so the stall
    /// timeout above may be longer); a dead worker's job is taken up after it.
    pub job_lease_secs: u64,
    /// Largest accepted audio upload, in bytes; enforced while the file streams in.
    pub upload_max_bytes: u64,
    /// The most bytes one chat message's files may hold together; enforced while they stream in.
    pub attachment_max_bytes: u64,
    /// How long the signed media URLs of `GET /tracks/{id}/stream` work, in seconds.
    pub media_url_ttl_secs: u64,
    /// With S3 storage: send players to presigned URLs of the store for segments and files
    /// instead of proxying them through Veza (playlists are always served by Veza).
    pub media_redirect: bool,
    /// MiB of small media files (segments, playlists) each node keeps in memory for the media
    /// route, with local storage; 0 turns the cache off.
    pub media_cache_mb: u64,
    /// The key (base64 of 32 bytes) that signs media URLs; every node of a cluster needs the
    /// same. Empty means generate one into the data dir on first start. Secret: never printed.
    pub media_key: String,
    /// True when `public_url` was not configured but derived from `addr`; `serve` then derives
    /// it again from the address actually bound (which differs when the port is 0).
    #[serde(skip)]
    pub public_url_derived: bool,
    /// `VEZA_TEST_GATEWAY_PAUSE`: the address of a test's gate that holds identifying gateway
    /// sessions between READY's read and their start. The test suite's, not a setting.
    #[serde(skip)]
    pub test_gateway_pause: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeaderName {
    XForwardedFor,
    Forwarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRedisFailure {
    Local,
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        let [google, github, discord] = Provider::ALL.map(ProviderConfig::defaults);
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            public_url: String::new(),
            node_id: 0,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            jwt_private_key: String::new(),
            db_max_connections: 16,
            db_acquire_timeout_secs: 3,
            body_limit_bytes: 64 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            shutdown_grace_secs: 30,
            user_cache_ttl_ms: 2_000,
            trusted_proxies: String::new(),
            forwarded_header: ForwardedHeaderName::XForwardedFor,
            cors_origins: String::new(),
            max_concurrent_requests: 512,
            redis_url: String::new(),
            rate_limits: true,
            rate_limit_on_redis_failure: OnRedisFailure::Local,
            rate_limit_redis_timeout_ms: 100,
            rate_limit_redis_prefix: "veza:rl:".into(),
            event_bus_redis_prefix: "veza:bus:".into(),
            event_bus_timeout_ms: 2000,
            // Per node (or cluster, with Redis). A person browsing makes a few requests a
            // second at most; scripts get the same through their keys. Login and registration
            // are the brute-force targets.
            rate_limit_global: "5000/1s".into(),
            rate_limit_anonymous: "300/1m".into(),
            rate_limit_user: "1200/1m".into(),
            rate_limit_api_key: "1200/1m".into(),
            rate_limit_login: "10/1m".into(),
            rate_limit_register: "10/1h".into(),
            rate_limit_refresh: "60/1m".into(),
            rate_limit_password_reset: "10/1h".into(),
            rate_limit_magic_link: "10/1h".into(),
            rate_limit_message_send: "120/1m".into(),
            rate_limit_gateway_connect: "60/1m".into(),
            rate_limit_track_upload: "30/1h".into(),
            // A burst of 60, then one a second: a person liking down a list never meets it; a
            // script following thousands of accounts does.
            rate_limit_social_action: "60/1m".into(),
            // Ten at once, then one every 6 s: a conversation, not a flood.
            rate_limit_comment_post: "10/1m".into(),
            gateway_heartbeat_ms: 41_250,
            gateway_resume_secs: 120,
            gateway_sign_in_recheck_secs: 300,
            smtp_url: String::new(),
            mail_from: String::new(),
            mail_retry_first_ms: 30_000,
            login_failures_per_account: AttemptPolicy::PER_ACCOUNT.free,
            login_failures_per_address: AttemptPolicy::PER_ADDRESS.free,
            login_max_delay_secs: AttemptPolicy::PER_ACCOUNT.max_delay.as_secs(),
            login_first_delay_secs: AttemptPolicy::PER_ACCOUNT.base_delay.as_secs(),
            app_url: String::new(),
            admins_require_2fa: true,
            totp_key: String::new(),
            oauth_google_client_id: String::new(),
            oauth_google_client_secret: String::new(),
            oauth_google_auth_url: google.auth_url,
            oauth_google_token_url: google.token_url,
            oauth_google_jwks_url: google.api_url,
            oauth_google_issuers: google.issuers.join(","),
            oauth_github_client_id: String::new(),
            oauth_github_client_secret: String::new(),
            oauth_github_auth_url: github.auth_url,
            oauth_github_token_url: github.token_url,
            oauth_github_api_url: github.api_url,
            oauth_discord_client_id: String::new(),
            oauth_discord_client_secret: String::new(),
            oauth_discord_auth_url: discord.auth_url,
            oauth_discord_token_url: discord.token_url,
            oauth_discord_api_url: discord.api_url,
            webauthn_rp_id: String::new(),
            storage_url: String::new(),
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            transcode_concurrency: 2,
            transcode_stall_secs: 60,
            job_lease_secs: 120,
            upload_max_bytes: 500 * 1000 * 1000,
            attachment_max_bytes: 25 * 1024 * 1024,
            media_url_ttl_secs: 300,
            media_redirect: true,
            media_cache_mb: 256,
            media_key: String::new(),
            public_url_derived: false,
            test_gateway_pause: None,
        }
    }
}

/// The configuration file used when none is named and it exists.
pub const DEFAULT_FILE: &str = "veza.toml";

impl Config {
    /// Loads defaults ← file ← environment, then checks every value.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(format!("configuration file {} does not exist", path.display()))
            }
            Some(path) => figment = figment.merge(Toml::file(path)),
            None if Path::new(DEFAULT_FILE).exists() => figment = figment.merge(Toml::file(DEFAULT_FILE)),
            None => {}
        }
        // VEZA_CONFIG names the file and VEZA_TEST_* belong to the test suite: neither is a setting.
        figment = figment.merge(
            Env::prefixed("VEZA_").filter(|k| k != "config" && !k.as_str().to_ascii_lowercase().starts_with("test_")),
        );
        let mut config: Config = figment.extract().map_err(|e| {
            let key = e.path.join(".");
            let env = format!("VEZA_{}", key.to_uppercase());
            if key.is_empty() {
                format!("invalid configuration: {e}")
            } else {
                format!("invalid configuration for {env} ({key}): {}", e.kind)
            }
        })?;
        config.test_gateway_pause = std::env::var("VEZA_TEST_GATEWAY_PAUSE").ok().and_then(|a| a.parse().ok());
        config.fill_derived();
        config.validate()?;
        Ok(config)
    }

    fn fill_derived(&mut self) {
        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{}", self.data_dir.join("veza.db").display());
        }
        if self.public_url.is_empty() {
            self.public_url = format!("http://{}", self.addr);
            self.public_url_derived = true;
        }
        self.public_url = self.public_url.trim_end_matches('/').to_string();
        if self.mail_from.is_empty() {
            let host = self.public_url.split("://").nth(1).unwrap_or("localhost").split([':', '/']).next();
            self.mail_from = format!("Veza <no-reply@{}>", host.filter(|h| !h.is_empty()).unwrap_or("localhost"));
        }
    }

    fn validate(&self) -> Result<(), String> {
        let bad =
            |key: &str, why: &str| Err(format!("invalid configuration for VEZA_{} ({key}): {why}", key.to_uppercase()));
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return bad("database_url", "must start with sqlite:// or postgres://");
        }
        let rest = self.public_url.strip_prefix("https://").or_else(|| self.public_url.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
            return bad("public_url", "must be an http:// or https:// URL, such as https://music.example.org");
        }
        if self.node_id > veza_core::id::MAX_NODE {
            return bad("node_id", &format!("must be between 0 and {}", veza_core::id::MAX_NODE));
        }
        if self.db_max_connections == 0 {
            return bad("db_max_connections", "must be at least 1");
        }
        if self.body_limit_bytes < 1024 {
            return bad("body_limit_bytes", "must be at least 1024");
        }
        if self.header_read_timeout_secs == 0 {
            return bad("header_read_timeout_secs", "must be at least 1 second");
        }
        if self.request_timeout_secs == 0 || self.db_acquire_timeout_secs == 0 {
            return bad("request_timeout_secs", "timeouts must be at least 1 second");
        }
        if let Err(entry) = self.trusted_proxy_nets() {
            return bad("trusted_proxies", &format!("`{entry}` is not an IP address or CIDR range such as 10.0.0.0/8"));
        }
        if let Err(entry) = self.cors_origin_list() {
            return bad(
                "cors_origins",
                &format!("`{entry}` is not an origin such as https://app.example.org (scheme and host, no path)"),
            );
        }
        if self.max_concurrent_requests == 0 {
            return bad("max_concurrent_requests", "must be at least 1");
        }
        if !self.redis_url.is_empty() && !self.redis_url.starts_with("redis://") {
            return bad("redis_url", "must be a redis:// URL such as redis://127.0.0.1:6379/0, or empty");
        }
        if self.rate_limit_redis_timeout_ms == 0 {
            return bad("rate_limit_redis_timeout_ms", "must be at least 1 millisecond");
        }
        self.rate_limit_policies()?;
        let smtp_ok =
            self.smtp_url.is_empty() || self.smtp_url.starts_with("smtp://") || self.smtp_url.starts_with("smtps://");
        if !smtp_ok {
            return bad(
                "smtp_url",
                "must be an smtp:// or smtps:// URL such as smtp://mail.example.org:587?tls=required",
            );
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return bad("mail_from", "must be an address such as `Veza <no-reply@music.example.org>`");
        }
        if !(100..=600_000).contains(&self.gateway_heartbeat_ms) {
            return bad("gateway_heartbeat_ms", "must be between 100 ms and 10 minutes");
        }
        if !(10..=60_000).contains(&self.event_bus_timeout_ms) {
            return bad("event_bus_timeout_ms", "must be between 10 ms and a minute");
        }
        if !(1..=3600).contains(&self.gateway_resume_secs) {
            return bad("gateway_resume_secs", "must be between 1 second and an hour");
        }
        if self.gateway_sign_in_recheck_secs > 86_400 {
            return bad("gateway_sign_in_recheck_secs", "must be at most a day (0: at every heartbeat)");
        }
        if self.mail_retry_first_ms == 0 {
            return bad("mail_retry_first_ms", "must be at least 1 millisecond");
        }
        if self.login_failures_per_account == 0 || self.login_failures_per_address == 0 {
            return bad("login_failures_per_account", "free failures must be at least 1 (per account and per address)");
        }
        if !(1..=3600).contains(&self.login_max_delay_secs) {
            return bad("login_max_delay_secs", "must be between 1 and 3600 seconds");
        }
        if !(1..=self.login_max_delay_secs).contains(&self.login_first_delay_secs) {
            return bad("login_first_delay_secs", "must be between 1 second and login_max_delay_secs");
        }
        let app = self.app_url.strip_prefix("https://").or_else(|| self.app_url.strip_prefix("http://"));
        if !self.app_url.is_empty() && app.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
            return bad("app_url", "must be an http:// or https:// URL, such as https://app.example.org, or empty");
        }
        for provider in Provider::ALL {
            let name = provider.as_str();
            let (id, secret, urls) = self.oauth_settings(provider);
            if id.is_empty() != secret.is_empty() {
                return bad(
                    &format!("oauth_{name}_client_id"),
                    &format!("set both the client id and the secret of {name} sign-in, or neither"),
                );
            }
            for (key, url) in urls {
                let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
                if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                    return bad(&format!("oauth_{name}_{key}"), "must be an http:// or https:// URL");
                }
            }
        }
        let storage_ok = self.storage_url.is_empty()
            || self.storage_url.starts_with("file:///")
            || self.storage_url.starts_with("s3://");
        if !storage_ok {
            return bad(
                "storage_url",
                "must be empty (files under the data dir), file:///path, or s3://key:secret@bucket/prefix?endpoint=https://…",
            );
        }
        if self.ffmpeg.trim().is_empty() || self.ffprobe.trim().is_empty() {
            return bad("ffmpeg", "name the ffmpeg and ffprobe programs (VEZA_FFMPEG, VEZA_FFPROBE)");
        }
        if !(1..=64).contains(&self.transcode_concurrency) {
            return bad("transcode_concurrency", "must be between 1 and 64");
        }
        if !(5..=3600).contains(&self.transcode_stall_secs) {
            return bad("transcode_stall_secs", "must be between 5 seconds and an hour");
        }
        if !(4..=3600).contains(&self.job_lease_secs) {
            return bad("job_lease_secs", "must be between 4 seconds and an hour");
        }
        if self.upload_max_bytes < 1024 * 1024 {
            return bad("upload_max_bytes", "must be at least 1 MiB (1048576)");
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.attachment_max_bytes) {
            return bad("attachment_max_bytes", "must be between 1 KiB (1024) and 1 GiB (1073741824)");
        }
        if !(10..=86_400).contains(&self.media_url_ttl_secs) {
            return bad("media_url_ttl_secs", "must be between 10 seconds and a day");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return bad("log_level", "must be a tracing filter such as `info` or `veza=debug,info`");
        }
        Ok(())
    }

    /// The passkeys' relying party id and the origin they are used from (the web client's).
    pub fn webauthn_relying_party(&self) -> (String, String) {
        let app = if self.app_url.is_empty() { &self.public_url } else { &self.app_url };
        let origin = app.trim_end_matches('/');
        let host = origin.split("://").nth(1).unwrap_or_default().split(['/', ':']).next().unwrap_or_default();
        let rp_id = if self.webauthn_rp_id.is_empty() { host.to_string() } else { self.webauthn_rp_id.clone() };
        let scheme_and_authority = origin.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        (rp_id, scheme_and_authority)
    }

    /// A provider's client id, secret, and endpoint URLs by setting name.
    fn oauth_settings(&self, provider: Provider) -> (&str, &str, Vec<(&'static str, &str)>) {
        match provider {
            Provider::Google => (
                &self.oauth_google_client_id,
                &self.oauth_google_client_secret,
                vec![
                    ("auth_url", &self.oauth_google_auth_url),
                    ("token_url", &self.oauth_google_token_url),
                    ("jwks_url", &self.oauth_google_jwks_url),
                ],
            ),
            Provider::GitHub => (
                &self.oauth_github_client_id,
                &self.oauth_github_client_secret,
                vec![
                    ("auth_url", &self.oauth_github_auth_url),
                    ("token_url", &self.oauth_github_token_url),
                    ("api_url", &self.oauth_github_api_url),
                ],
            ),
            Provider::Discord => (
                &self.oauth_discord_client_id,
                &self.oauth_discord_client_secret,
                vec![
                    ("auth_url", &self.oauth_discord_auth_url),
                    ("token_url", &self.oauth_discord_token_url),
                    ("api_url", &self.oauth_discord_api_url),
                ],
            ),
        }
    }

    /// The configured sign-in providers, their users sent back to pages under `app_url`.
    pub fn oauth_providers(&self, app_url: &str) -> Vec<ProviderConfig> {
        Provider::ALL
            .into_iter()
            .filter_map(|provider| {
                let (id, secret, urls) = self.oauth_settings(provider);
                if id.is_empty() {
                    return None;
                }
                let [(_, auth), (_, token), (_, api)] = urls[..] else { return None };
                let issuers = match provider {
                    Provider::Google => self.oauth_google_issuers.split(',').map(|s| s.trim().to_string()).collect(),
                    _ => Vec::new(),
                };
                Some(ProviderConfig {
                    provider,
                    client_id: id.to_string(),
                    client_secret: secret.to_string(),
                    redirect_url: format!("{}/oauth/{}/callback", app_url.trim_end_matches('/'), provider.as_str()),
                    auth_url: auth.to_string(),
                    token_url: token.to_string(),
                    api_url: api.to_string(),
                    issuers,
                })
            })
            .collect()
    }

    /// The trusted proxies as networks (a bare address is a /32 or /128); the first entry that
    /// parses as neither is the error.
    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| s.to_string())
            })
            .collect()
    }

    /// The rate-limit policies; an unreadable quota is the error, naming its key.
    pub fn rate_limit_policies(&self) -> Result<Policies, String> {
        let parse = |key: &str, name: &'static str, text: &str| -> Result<Option<Policy>, String> {
            if text.trim().eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            Policy::parse(name, text)
                .map(Some)
                .map_err(|why| format!("invalid configuration for VEZA_{} ({key}): {why}", key.to_uppercase()))
        };
        let mut routes = Vec::new();
        for bucket in RouteBucket::ALL {
            let (key, text) = match bucket {
                RouteBucket::Login => ("rate_limit_login", &self.rate_limit_login),
                RouteBucket::Register => ("rate_limit_register", &self.rate_limit_register),
                RouteBucket::Refresh => ("rate_limit_refresh", &self.rate_limit_refresh),
                RouteBucket::PasswordReset => ("rate_limit_password_reset", &self.rate_limit_password_reset),
                RouteBucket::MagicLink => ("rate_limit_magic_link", &self.rate_limit_magic_link),
                RouteBucket::MessageSend => ("rate_limit_message_send", &self.rate_limit_message_send),
                RouteBucket::GatewayConnect => ("rate_limit_gateway_connect", &self.rate_limit_gateway_connect),
                RouteBucket::TrackUpload => ("rate_limit_track_upload", &self.rate_limit_track_upload),
                RouteBucket::SocialAction => ("rate_limit_social_action", &self.rate_limit_social_action),
                RouteBucket::CommentPost => ("rate_limit_comment_post", &self.rate_limit_comment_post),
            };
            if let Some(policy) = parse(key, bucket.name(), text)? {
                routes.push((bucket, policy));
            }
        }
        Ok(Policies {
            global: parse("rate_limit_global", "global", &self.rate_limit_global)?,
            anonymous: parse("rate_limit_anonymous", "anonymous", &self.rate_limit_anonymous)?,
            user: parse("rate_limit_user", "user", &self.rate_limit_user)?,
            api_key: parse("rate_limit_api_key", "api_key", &self.rate_limit_api_key)?,
            routes,
        })
    }

    /// The brute-force policies for passwords: per account, per address.
    pub fn guess_policies(&self) -> (AttemptPolicy, AttemptPolicy) {
        let max_delay = std::time::Duration::from_secs(self.login_max_delay_secs);
        let base_delay = std::time::Duration::from_secs(self.login_first_delay_secs);
        let account = AttemptPolicy {
            free: self.login_failures_per_account,
            base_delay,
            max_delay,
            ..AttemptPolicy::PER_ACCOUNT
        };
        let address = AttemptPolicy {
            free: self.login_failures_per_address,
            base_delay,
            max_delay,
            ..AttemptPolicy::PER_ADDRESS
        };
        (account, address)
    }

    /// The CORS origins; the first entry that is not exactly an origin is the error.
    pub fn cors_origin_list(&self) -> Result<Vec<String>, String> {
        self.cors_origins
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let is_origin = (s.starts_with("https://") || s.starts_with("http://"))
                    && veza_web::middleware::security::origin_of(s).as_deref() == Some(s)
                    && !s.contains(char::is_whitespace);
                if is_origin {
                    Ok(s.to_string())
                } else {
                    Err(s.to_string())
                }
            })
            .collect()
    }

    /// The configuration as TOML with secrets masked, for `veza config check`.
    pub fn masked_toml(&self) -> String {
        let mut shown = self.clone();
        if !shown.jwt_private_key.is_empty() {
            shown.jwt_private_key = "***".into();
        }
        for secret in [
            &mut shown.totp_key,
            &mut shown.media_key,
            &mut shown.oauth_google_client_secret,
            &mut shown.oauth_github_client_secret,
            &mut shown.oauth_discord_client_secret,
        ] {
            if !secret.is_empty() {
                *secret = "***".into();
            }
        }
        shown.database_url = mask_url_password(&shown.database_url);
        shown.redis_url = mask_url_password(&shown.redis_url);
        shown.smtp_url = mask_url_password(&shown.smtp_url);
        shown.storage_url = mask_url_password(&shown.storage_url);
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render configuration: {e}"))
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_urls() {
        assert_eq!(mask_url_password("postgres://veza:s3cret@db:5432/veza"), "postgres://veza:***@db:5432/veza");
        assert_eq!(mask_url_password("postgres://veza@db/veza"), "postgres://veza@db/veza");
        assert_eq!(mask_url_password("sqlite://data/veza.db"), "sqlite://data/veza.db");
    }

    #[test]
    fn defaults_are_valid_and_derive_urls() {
        let mut c = Config::default();
        c.fill_derived();
        c.validate().expect("defaults are valid");
        assert_eq!(c.database_url, "sqlite://./data/veza.db");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        let policies = c.rate_limit_policies().unwrap();
        assert_eq!(policies.all().len(), 14);
    }

    #[test]
    fn rate_limit_quotas_are_checked_by_key() {
        let mut c = Config::default();
        c.fill_derived();
        c.rate_limit_login = "off".into();
        c.rate_limit_global = "OFF".into();
        let policies = c.rate_limit_policies().unwrap();
        assert!(policies.global.is_none());
        assert!(policies.routes.iter().all(|(b, _)| *b != RouteBucket::Login));
        c.rate_limit_register = "lots".into();
        let err = c.validate().unwrap_err();
        assert!(err.contains("VEZA_RATE_LIMIT_REGISTER") && err.contains("10/1m"), "{err}");
        c.rate_limit_register = "10/1h".into();
        c.redis_url = "http://redis".into();
        assert!(c.validate().unwrap_err().contains("VEZA_REDIS_URL"));
    }
}

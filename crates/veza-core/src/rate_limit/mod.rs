//! Rate limiting: the policies, the levels they apply at, and the [`RateLimiter`] port.
//!
//! Every policy is a GCRA ("generic cell rate algorithm") quota: `limit` requests per `period`,
//! all of which may come at once (the burst is the limit), refilling one every `period / limit`.
//! A request is checked against up to three buckets, most specific first — its route's bucket
//! (login, register…), its caller's (per IP when anonymous, per user, per API key), then the
//! global ceiling — and is refused by the first one that is empty. Buckets after the refusing one
//! are not charged, so a flood from one address does not eat into the global ceiling.
//!
//! Two adapters implement the port: [`local::LocalRateLimiter`] (in-process, the `governor`
//! crate) and the Redis one in `veza-redis` (shared by every node, one atomic script per
//! request). [`Failover`] puts the second in front of the first and decides what happens when
//! Redis is away. [`attempts`] is the brute-force side: escalating delays after failed guesses.

pub mod attempts;
pub mod local;

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::id::{ApiKeyId, UserId};

/// A quota: `limit` requests per `period`, with bursts up to `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The bucket's name, shown to clients in `X-RateLimit-Bucket` and `RateLimit-Policy`.
    pub name: &'static str,
    pub limit: u32,
    pub period: Duration,
}

impl Policy {
    /// Parses `"10/1m"`: a count, a slash, and a period of whole seconds, minutes or hours
    /// (`30s`, `1m`, `1h`). The error says what is wrong.
    pub fn parse(name: &'static str, text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a quota such as `10/1m` (a count per period in s, m or h) or `off`");
        let (count, period) = text.trim().split_once('/').ok_or_else(bad)?;
        let limit: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let (digits, unit) = period.split_at(period.len().saturating_sub(1));
        let amount: u64 = if digits.is_empty() { 1 } else { digits.parse().map_err(|_| bad())? };
        let seconds = match unit {
            "s" => amount,
            "m" => amount.saturating_mul(60),
            "h" => amount.saturating_mul(3600),
            _ => return Err(bad()),
        };
        if limit == 0 || seconds == 0 {
            return Err(format!("`{text}`: the count and the period must both be at least 1"));
        }
        if seconds > 86_400 {
            return Err(format!("`{text}`: the period can be at most a day (24h)"));
        }
        let policy = Self { name, limit, period: Duration::from_secs(seconds) };
        if policy.interval() < Duration::from_micros(1) {
            return Err(format!("`{text}`: more than one request per microsecond cannot be limited"));
        }
        Ok(policy)
    }

    /// The time one request "costs": the bucket refills one request per interval.
    pub fn interval(&self) -> Duration {
        self.period / self.limit
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.period.as_secs())
    }
}

/// The routes that have a bucket of their own, on top of their caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteBucket {
    Login,
    Register,
    Refresh,
    /// Asking for a password-reset mail.
    PasswordReset,
    /// Asking for a sign-in link.
    MagicLink,
    /// Posting a message in a channel.
    MessageSend,
    /// Opening a gateway connection (per address at the upgrade, per account at IDENTIFY).
    GatewayConnect,
    /// Tracks uploaded, per account or API key.
    TrackUpload,
    /// Follows, likes and reposts made or taken back, per account or API key.
    SocialAction,
    /// Comments posted on tracks, per account or API key.
    CommentPost,
}

impl RouteBucket {
    pub const ALL: [RouteBucket; 10] = [
        RouteBucket::Login,
        RouteBucket::Register,
        RouteBucket::Refresh,
        RouteBucket::PasswordReset,
        RouteBucket::MagicLink,
        RouteBucket::MessageSend,
        RouteBucket::GatewayConnect,
        RouteBucket::TrackUpload,
        RouteBucket::SocialAction,
        RouteBucket::CommentPost,
    ];

    /// Whether the route's bucket belongs to the client address whatever credential the request
    /// carries: the routes anyone may call without an account (signing in, signing up,
    /// refreshing, asking for mail). Keyed by the caller, any valid token or API key would buy
    /// a fresh bucket.
    pub fn keyed_by_address(self) -> bool {
        match self {
            RouteBucket::Login
            | RouteBucket::Register
            | RouteBucket::Refresh
            | RouteBucket::PasswordReset
            | RouteBucket::MagicLink => true,
            RouteBucket::MessageSend
            | RouteBucket::GatewayConnect
            | RouteBucket::TrackUpload
            | RouteBucket::SocialAction
            | RouteBucket::CommentPost => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RouteBucket::Login => "login",
            RouteBucket::Register => "register",
            RouteBucket::Refresh => "refresh",
            RouteBucket::PasswordReset => "password_reset",
            RouteBucket::MagicLink => "magic_link",
            RouteBucket::MessageSend => "message_send",
            RouteBucket::GatewayConnect => "gateway_connect",
            RouteBucket::TrackUpload => "track_upload",
            RouteBucket::SocialAction => "social_action",
            RouteBucket::CommentPost => "comment_post",
        }
    }
}

/// Who a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Not authenticated (or a credential that did not verify): its client address.
    Anonymous(IpAddr),
    User(UserId),
    ApiKey(ApiKeyId),
}

/// The level a bucket is kept at, shown to clients in `X-RateLimit-Scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ip,
    User,
    ApiKey,
    Global,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ip => "ip",
            Scope::User => "user",
            Scope::ApiKey => "api_key",
            Scope::Global => "global",
        }
    }
}

/// Every configured policy. `None` turns a level off.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub global: Option<Policy>,
    pub anonymous: Option<Policy>,
    pub user: Option<Policy>,
    pub api_key: Option<Policy>,
    pub routes: Vec<(RouteBucket, Policy)>,
}

/// One bucket to charge: the policy, and whose bucket under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub policy: Policy,
    pub scope: Scope,
    /// The bucket's owner within the policy: an address, a user or key id, or empty for the
    /// global bucket.
    pub subject: String,
}

impl Check {
    /// A storage key unique to this bucket: `login:ip:203.0.113.9`.
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.policy.name, self.scope.as_str(), self.subject)
    }
}

impl Policies {
    /// The buckets a request from `caller` at `address` to a route in `bucket` is charged
    /// against, in order. A route [keyed by address](RouteBucket::keyed_by_address) charges the
    /// address's bucket even when the caller is signed in; `address` is `None` only for charges
    /// made outside an HTTP request, which never name such a route.
    pub fn plan(&self, caller: Caller, address: Option<IpAddr>, bucket: Option<RouteBucket>) -> Vec<Check> {
        let (scope, subject, level) = match caller {
            Caller::Anonymous(ip) => (Scope::Ip, address_bucket(ip), &self.anonymous),
            Caller::User(id) => (Scope::User, id.to_string(), &self.user),
            Caller::ApiKey(id) => (Scope::ApiKey, id.to_string(), &self.api_key),
        };
        let route = bucket.and_then(|b| self.routes.iter().find(|(r, _)| *r == b));
        let mut checks = Vec::with_capacity(3);
        if let Some((bucket, policy)) = route {
            let (scope, subject) = match address {
                Some(ip) if bucket.keyed_by_address() => (Scope::Ip, address_bucket(ip)),
                _ => (scope, subject.clone()),
            };
            checks.push(Check { policy: policy.clone(), scope, subject });
        }
        if let Some(policy) = level {
            checks.push(Check { policy: policy.clone(), scope, subject });
        }
        if let Some(policy) = &self.global {
            checks.push(Check { policy: policy.clone(), scope: Scope::Global, subject: String::new() });
        }
        checks
    }

    /// Every policy, for building a limiter that knows them all.
    pub fn all(&self) -> Vec<Policy> {
        let levels = [&self.global, &self.anonymous, &self.user, &self.api_key];
        levels.into_iter().flatten().chain(self.routes.iter().map(|(_, p)| p)).cloned().collect()
    }
}

/// The bucket an address counts in: itself for IPv4 (and IPv4-mapped IPv6), its /64 for IPv6,
/// since one IPv6 subscriber is handed a whole /64 and could otherwise rotate through it.
pub(crate) fn address_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

/// What one bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Let through; `remaining` more requests may follow at once, and the bucket is full again
    /// after `reset_after`.
    Allowed { remaining: u32, reset_after: Duration },
    /// Refused: the next request can pass after `retry_after`; the bucket is full again after
    /// `reset_after`.
    Limited { retry_after: Duration, reset_after: Duration },
}

impl Outcome {
    pub fn remaining(&self) -> u32 {
        match self {
            Outcome::Allowed { remaining, .. } => *remaining,
            Outcome::Limited { .. } => 0,
        }
    }

    pub fn reset_after(&self) -> Duration {
        match self {
            Outcome::Allowed { reset_after, .. } | Outcome::Limited { reset_after, .. } => *reset_after,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    /// The shared store cannot be reached or answered too late.
    #[error("rate limiter unavailable: {0}")]
    Unavailable(String),
    /// A check named a policy the limiter was not built with: a wiring bug.
    #[error("no limiter for policy `{0}`")]
    UnknownPolicy(&'static str),
}

/// Charges requests against buckets.
#[async_trait]
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Charges one request against each check in order and stops at the first refusal: the
    /// result has one outcome per check made, and only the last can be [`Outcome::Limited`].
    /// An empty result means nothing was limited (a limiter told to let everything through).
    async fn check(&self, checks: &[Check]) -> Result<Vec<Outcome>, LimiterError>;
}

/// What to do when the shared limiter is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Limit in-process: every node enforces the policies on its own (the default).
    Local,
    /// Let every request through unlimited.
    Allow,
    /// Refuse every limited request (503).
    Deny,
}

/// How long a failed shared limiter is left alone before it is tried again; in between, each
/// request takes the failure path at once instead of waiting for a timeout.
const RETRY_SHARED_AFTER: Duration = Duration::from_secs(1);

/// The shared limiter (or attempt throttle) in front, with a local one (or a fixed answer) when
/// it fails.
#[derive(Debug)]
pub struct Failover<T: ?Sized> {
    shared: Arc<T>,
    local: Arc<T>,
    on_failure: OnFailure,
    /// Set while the shared one is considered down: when to try it again.
    down_until: Mutex<Option<Instant>>,
    /// How long a failure makes it rest.
    rest: Duration,
}

impl<T: ?Sized> Failover<T> {
    pub fn new(shared: Arc<T>, local: Arc<T>, on_failure: OnFailure) -> Self {
        Self { shared, local, on_failure, down_until: Mutex::new(None), rest: RETRY_SHARED_AFTER }
    }

    /// Rests the shared one for `rest` after each failure, instead of a second.
    pub fn resting(mut self, rest: Duration) -> Self {
        self.rest = rest;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the shared one should be asked now (it is not resting after a failure).
    fn try_shared(&self) -> bool {
        (*self.lock()).is_none_or(|until| Instant::now() >= until)
    }

    fn succeeded(&self) {
        if self.lock().take().is_some() {
            tracing::info!("shared rate limiter reachable again; limits are shared across nodes");
        }
    }

    fn failed(&self, e: &LimiterError) {
        let first = self.lock().replace(Instant::now() + self.rest).is_none();
        if first {
            tracing::warn!(error = %e, fallback = ?self.on_failure, "shared rate limiter failed");
        }
    }

    /// The shared answer when it comes; else, by `on_failure`, the local one, `allow`, or the
    /// error. Futures are lazy: only the one needed runs.
    async fn decide<R>(
        &self,
        shared: impl std::future::Future<Output = Result<R, LimiterError>>,
        local: impl std::future::Future<Output = Result<R, LimiterError>>,
        allow: R,
    ) -> Result<R, LimiterError> {
        let mut error = LimiterError::Unavailable("shared limiter is down".into());
        if self.try_shared() {
            match shared.await {
                Ok(answer) => {
                    self.succeeded();
                    return Ok(answer);
                }
                Err(e) => {
                    self.failed(&e);
                    error = e;
                }
            }
        }
        match self.on_failure {
            OnFailure::Local => local.await,
            OnFailure::Allow => Ok(allow),
            OnFailure::Deny => Err(error),
        }
    }
}

#[async_trait]
impl RateLimiter for Failover<dyn RateLimiter> {
    async fn check(&self, checks: &[Check]) -> Result<Vec<Outcome>, LimiterError> {
        self.decide(self.shared.check(checks), self.local.check(checks), Vec::new()).await
    }
}

#[async_trait]
impl attempts::AttemptThrottle for Failover<dyn attempts::AttemptThrottle> {
    async fn begin(&self, keys: &[attempts::AttemptKey]) -> Result<attempts::Attempt, LimiterError> {
        self.decide(self.shared.begin(keys), self.local.begin(keys), attempts::Attempt::Go { delay: None }).await
    }

    async fn forgive(&self, key: &attempts::AttemptKey, whole: bool) -> Result<(), LimiterError> {
        if self.try_shared() {
            match self.shared.forgive(key, whole).await {
                Ok(()) => return Ok(()),
                Err(e) => self.failed(&e),
            }
        }
        self.local.forgive(key, whole).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn policy(name: &'static str, text: &str) -> Policy {
        Policy::parse(name, text).unwrap()
    }

    #[test]
    fn parses_quotas() {
        assert_eq!(policy("login", "10/1m"), Policy { name: "login", limit: 10, period: Duration::from_secs(60) });
        assert_eq!(policy("x", " 5 / 2h ").period, Duration::from_secs(7200));
        assert_eq!(policy("x", "100/s").period, Duration::from_secs(1));
        assert_eq!(policy("x", "10/1m").interval(), Duration::from_secs(6));
        assert_eq!(policy("x", "10/1m").to_string(), "10/60s");
        for bad in ["", "10", "ten/1m", "10/1d", "0/1m", "10/0s", "-1/1m", "10/25h", "2000000/1s", "10/m1"] {
            assert!(Policy::parse("x", bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn plans_most_specific_first() {
        let policies = Policies {
            global: Some(policy("global", "1000/1s")),
            anonymous: Some(policy("anonymous", "60/1m")),
            user: Some(policy("user", "600/1m")),
            api_key: None,
            routes: vec![(RouteBucket::Login, policy("login", "10/1m"))],
        };
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let keys = |plan: Vec<Check>| plan.iter().map(Check::key).collect::<Vec<_>>();
        let plan = policies.plan(Caller::Anonymous(ip), Some(ip), Some(RouteBucket::Login));
        assert_eq!(keys(plan), ["login:ip:203.0.113.9", "anonymous:ip:203.0.113.9", "global:global:"]);

        let v6: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        assert_eq!(policies.plan(Caller::Anonymous(v6), Some(v6), None)[0].subject, "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(policies.plan(Caller::Anonymous(mapped), Some(mapped), None)[0].subject, "203.0.113.9");

        let user = UserId(42);
        let plan = policies.plan(Caller::User(user), Some(ip), None);
        assert_eq!(keys(plan), ["user:user:42", "global:global:"]);
        // A signed-in caller still signs in (or up, or refreshes) from its address's bucket: a
        // valid token must not buy a fresh one.
        let plan = policies.plan(Caller::User(user), Some(ip), Some(RouteBucket::Login));
        assert_eq!(keys(plan), ["login:ip:203.0.113.9", "user:user:42", "global:global:"]);
        let plan = policies.plan(Caller::ApiKey(ApiKeyId(7)), Some(v6), Some(RouteBucket::Login));
        assert_eq!(keys(plan)[0], "login:ip:2001:db8:1:2::/64");

        // A level that is off is skipped; a route without a policy adds nothing.
        let plan = policies.plan(Caller::ApiKey(ApiKeyId(7)), Some(ip), Some(RouteBucket::Register));
        assert_eq!(plan.iter().map(Check::key).collect::<Vec<_>>(), ["global:global:"]);
        assert_eq!(policies.all().len(), 4);
    }

    #[derive(Debug, Default)]
    struct Flaky {
        down: AtomicBool,
        calls: std::sync::atomic::AtomicU32,
    }

    #[async_trait]
    impl RateLimiter for Flaky {
        async fn check(&self, checks: &[Check]) -> Result<Vec<Outcome>, LimiterError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(LimiterError::Unavailable("connection refused".into()));
            }
            Ok(checks.iter().map(|_| Outcome::Allowed { remaining: 99, reset_after: Duration::ZERO }).collect())
        }
    }

    fn one_check() -> Vec<Check> {
        vec![Check { policy: policy("user", "1/1h"), scope: Scope::User, subject: "1".into() }]
    }

    #[tokio::test]
    async fn failover_modes() {
        let checks = one_check();
        let shared = Arc::new(Flaky::default());
        shared.down.store(true, Ordering::SeqCst);
        let local: Arc<dyn RateLimiter> = Arc::new(local::LocalRateLimiter::new(&[checks[0].policy.clone()]));

        // Resting an hour, so that however slow the machine, the second check finds it resting.
        let fo = Failover::<dyn RateLimiter>::new(shared.clone(), local.clone(), OnFailure::Local)
            .resting(Duration::from_secs(3600));
        let first = fo.check(&checks).await.unwrap();
        assert!(matches!(first[..], [Outcome::Allowed { remaining: 0, .. }]), "{first:?}");
        let second = fo.check(&checks).await.unwrap();
        assert!(matches!(second[..], [Outcome::Limited { .. }]), "the local quota applies: {second:?}");
        assert_eq!(shared.calls.load(Ordering::SeqCst), 1, "a failed shared limiter rests instead of being retried");

        let allow = Failover::<dyn RateLimiter>::new(shared.clone(), local.clone(), OnFailure::Allow);
        assert_eq!(allow.check(&checks).await.unwrap(), vec![]);
        let deny = Failover::<dyn RateLimiter>::new(shared.clone(), local, OnFailure::Deny);
        assert!(matches!(deny.check(&checks).await, Err(LimiterError::Unavailable(_))));

        // Recovery: once the rest is over, the shared limiter answers again.
        shared.down.store(false, Ordering::SeqCst);
        *deny.lock() = Some(Instant::now());
        let back = deny.check(&checks).await.unwrap();
        assert!(matches!(back[..], [Outcome::Allowed { remaining: 99, .. }]));
        assert!(deny.lock().is_none());
    }
}

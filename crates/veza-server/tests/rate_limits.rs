//! Rate limits over HTTP: each level (route bucket, IP, user, API key, global), the headers and
//! the 429 problem, a flood from one address, two nodes sharing limits through a real Redis, and
//! what happens when Redis goes away. Limits do not depend on the database: SQLite only.

use std::time::Duration;

use serde_json::{json, Value};
use veza_testkit::db::TestDb;
use veza_testkit::proxy::CuttableProxy;
use veza_testkit::redis::{redis_addr, redis_url, unique_prefix};
use veza_testkit::server::{TestServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

/// One response: status, the headers we look at, and the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header: {self:?}"))
    }

    fn has(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Answer { status, headers, body }
}

async fn login(s: &TestServer, from: Option<&str>) -> Answer {
    let mut req = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"login": "nova", "password": PASSWORD}));
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    send(req).await
}

async fn me(s: &TestServer, credential: &str) -> Answer {
    send(s.client.get(s.url("/api/v1/me")).bearer_auth(credential)).await
}

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().expect("access token").to_string()
}

fn assert_rate_limited(a: &Answer, bucket: &str, scope: &str) {
    assert_eq!(a.status, 429, "{a:?}");
    assert_eq!(a.header("content-type"), "application/problem+json");
    assert_eq!(a.body["code"], "rate_limited", "{a:?}");
    assert!(a.body["detail"].as_str().unwrap().contains(&format!("`{bucket}`")), "{a:?}");
    assert_eq!(a.header("x-ratelimit-bucket"), bucket);
    assert_eq!(a.header("x-ratelimit-scope"), scope);
    assert_eq!(a.header("x-ratelimit-remaining"), "0");
    let retry: u64 = a.header("retry-after").parse().expect("Retry-After in seconds");
    assert!(retry >= 1, "{a:?}");
}

#[tokio::test]
async fn login_bucket_per_address_with_headers() {
    // One login per 20 minutes refills the bucket: nothing does during the test, however slow.
    let env = [("VEZA_RATE_LIMIT_LOGIN", "3/1h"), ("VEZA_TRUSTED_PROXIES", "127.0.0.1")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    s.register("nova").await;

    for left in ["2", "1", "0"] {
        let a = login(&s, None).await;
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.header("x-ratelimit-limit"), "3");
        assert_eq!(a.header("x-ratelimit-remaining"), left);
        assert_eq!(a.header("x-ratelimit-bucket"), "login");
        assert_eq!(a.header("x-ratelimit-scope"), "ip");
        let after: f64 = a.header("x-ratelimit-reset-after").parse().expect("decimal seconds");
        assert!(after > 0.0 && after <= 3600.0, "{after}");
        let reset: u64 = a.header("x-ratelimit-reset").parse().expect("unix seconds");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert!(reset >= now && reset <= now + 3601, "reset {reset}, now {now}");
        let policy = a.header("ratelimit-policy");
        assert!(policy.starts_with(r#""login";q=3;w=3600, "anonymous";q=100000;w=1"#), "{policy}");
        assert!(a.header("ratelimit").starts_with(&format!("\"login\";r={left};t=")), "{a:?}");
    }
    let refused = login(&s, None).await;
    assert_rate_limited(&refused, "login", "ip");
    let retry: u64 = refused.header("retry-after").parse().unwrap();
    assert!((1140..=1200).contains(&retry), "one request refills every 20 minutes: {retry}");

    // Other routes are not in the login bucket; another address has a bucket of its own.
    let (status, _) = s.get("/api/v1/users/by-username/nova", None).await;
    assert_eq!(status, 200);
    let elsewhere = login(&s, Some("203.0.113.7")).await;
    assert_eq!(elsewhere.status, 200, "{elsewhere:?}");
    assert_eq!(elsewhere.header("x-ratelimit-remaining"), "2");
    // Health and metrics are never limited.
    let health = send(s.client.get(s.url("/healthz"))).await;
    assert_eq!(health.status, 200);
    assert!(!health.has("x-ratelimit-limit"));
}

#[tokio::test]
async fn users_and_api_keys_have_their_own_buckets() {
    let env = [("VEZA_RATE_LIMIT_USER", "4/1m"), ("VEZA_RATE_LIMIT_API_KEY", "2/1m")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let nova = access(&s.register("nova").await);
    let orion = access(&s.register("orion").await);
    let created = send(
        s.client
            .post(s.url("/api/v1/me/api-keys"))
            .bearer_auth(&nova)
            .json(&json!({"name": "script", "scopes": ["profile:read"]})),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.header("x-ratelimit-bucket"), "user");
    let key = created.body["secret"].as_str().unwrap().to_string();

    for left in ["2", "1", "0"] {
        let a = me(&s, &nova).await;
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!((a.header("x-ratelimit-scope"), a.header("x-ratelimit-remaining")), ("user", left));
    }
    assert_rate_limited(&me(&s, &nova).await, "user", "user");
    // The same person's tokens share the bucket: a fresh login does not reset it.
    let again = login(&s, None).await;
    assert_eq!(again.status, 200);
    assert_rate_limited(&me(&s, &access(&again.body)).await, "user", "user");
    // Another user, and the key (its own bucket, its own quota), are unaffected.
    assert_eq!(me(&s, &orion).await.status, 200);
    let by_key = send(s.client.get(s.url("/api/v1/me")).header("x-api-key", &key)).await;
    assert_eq!(by_key.status, 200, "{by_key:?}");
    assert_eq!((by_key.header("x-ratelimit-scope"), by_key.header("x-ratelimit-limit")), ("api_key", "2"));
    assert_eq!(me(&s, &key).await.status, 200);
    assert_rate_limited(&me(&s, &key).await, "api_key", "api_key");
}

/// The routes anyone may call without an account (sign in, sign up, refresh, mail) are limited
/// per address whatever the request carries: a valid token or API key does not buy a fresh
/// bucket. (Before, 40 registrations in a burst passed a `10/1h` limit with a token attached.)
#[tokio::test]
async fn a_valid_credential_does_not_lift_the_address_limit_of_the_auth_routes() {
    let env = [("VEZA_RATE_LIMIT_REGISTER", "3/1h"), ("VEZA_RATE_LIMIT_LOGIN", "2/1h")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let token = access(&s.register("nova").await);
    let key = api_key(&s, &token, &["profile:read"]).await;
    let register = |name: &str, credential: &str| {
        let body = json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
        s.client.post(s.url("/api/v1/auth/register")).bearer_auth(credential).json(&body)
    };
    let second = send(register("orion", &token)).await;
    assert_eq!(second.status, 201, "{second:?}");
    assert_eq!((second.header("x-ratelimit-bucket"), second.header("x-ratelimit-scope")), ("register", "ip"));
    assert_eq!(second.header("x-ratelimit-remaining"), "1");
    assert_eq!(send(register("vega", &key)).await.status, 201);
    assert_rate_limited(&send(register("lyra", &token)).await, "register", "ip");
    assert_rate_limited(&send(register("lyra", &key)).await, "register", "ip");
    assert_rate_limited(&send(register("lyra", "")).await, "register", "ip");

    let with = |credential: &str| {
        s.client
            .post(s.url("/api/v1/auth/login"))
            .bearer_auth(credential)
            .json(&json!({"login": "nova", "password": PASSWORD}))
    };
    assert_eq!(send(with(&token)).await.status, 200);
    assert_eq!(send(with(&key)).await.status, 200);
    assert_rate_limited(&send(with(&token)).await, "login", "ip");
    assert_rate_limited(&login(&s, None).await, "login", "ip");
}

/// A request the limiter refuses is not admitted, so it does not grow the append-only audit
/// log: an API key used from new addresses after its bucket is empty records no new use.
#[tokio::test]
async fn refused_api_key_requests_are_not_audited() {
    let env = [("VEZA_RATE_LIMIT_API_KEY", "2/1h"), ("VEZA_TRUSTED_PROXIES", "127.0.0.1")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let token = access(&s.register("nova").await);
    let key = api_key(&s, &token, &["profile:read"]).await;
    let from = |ip: &str| s.client.get(s.url("/api/v1/me")).header("x-api-key", &key).header("x-forwarded-for", ip);
    assert_eq!(send(from("198.51.100.1")).await.status, 200);
    assert_eq!(send(from("198.51.100.2")).await.status, 200);
    for n in 3..13 {
        assert_rate_limited(&send(from(&format!("198.51.100.{n}"))).await, "api_key", "api_key");
    }
    let events = send(s.client.get(s.url("/api/v1/me/security-events?limit=100")).bearer_auth(&token)).await;
    assert_eq!(events.status, 200, "{events:?}");
    let used: Vec<&str> = events.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "api_key.used")
        .map(|e| e["ip"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(used.len(), 2, "one use per admitted address, none for the refused: {used:?}");
    assert!(used.iter().all(|ip| ["198.51.100.1", "198.51.100.2"].contains(ip)), "{used:?}");
}

async fn api_key(s: &TestServer, token: &str, scopes: &[&str]) -> String {
    let created = send(
        s.client
            .post(s.url("/api/v1/me/api-keys"))
            .bearer_auth(token)
            .json(&json!({"name": "script", "scopes": scopes})),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    created.body["secret"].as_str().expect("secret").to_string()
}

#[tokio::test]
async fn bad_credentials_count_against_the_address_not_the_victim() {
    let env = [("VEZA_RATE_LIMIT_ANONYMOUS", "3/1m"), ("VEZA_RATE_LIMIT_USER", "5/1m")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let victim = s.register("nova").await; // the address's first anonymous request
    let token = access(&victim);
    // A token with a broken signature names the victim but proves nothing.
    let forged = format!("{}x", &token[..token.len() - 1]);
    for _ in 0..2 {
        let a = me(&s, &forged).await;
        assert_eq!(a.status, 401, "{a:?}");
        assert_eq!(a.header("x-ratelimit-scope"), "ip");
    }
    assert_rate_limited(&me(&s, &forged).await, "anonymous", "ip");
    assert_rate_limited(&me(&s, "vz_1_nonsense").await, "anonymous", "ip");
    // The victim's own bucket is untouched.
    let real = me(&s, &token).await;
    assert_eq!(real.status, 200);
    assert_eq!((real.header("x-ratelimit-scope"), real.header("x-ratelimit-remaining")), ("user", "4"));
}

#[tokio::test]
async fn global_ceiling_covers_everyone() {
    let env = [("VEZA_RATE_LIMIT_GLOBAL", "5/1m")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let nova = access(&s.register("nova").await); // 1
    let orion = access(&s.register("orion").await); // 2
    assert_eq!(me(&s, &nova).await.status, 200); // 3
    assert_eq!(me(&s, &orion).await.status, 200); // 4
    let last = me(&s, &orion).await; // 5
    assert_eq!((last.status, last.header("x-ratelimit-bucket")), (200, "global"));
    assert_rate_limited(&me(&s, &nova).await, "global", "global");
    let (status, body) = s.get("/api/v1/users/by-username/nova", None).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
}

#[tokio::test]
async fn a_flood_from_one_address_leaves_others_served() {
    let env = [("VEZA_RATE_LIMIT_ANONYMOUS", "20/1h"), ("VEZA_TRUSTED_PROXIES", "127.0.0.1")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    s.register("nova").await;
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let req = s.client.get(s.url("/api/v1/users/by-username/nova")).header("x-forwarded-for", "198.51.100.66");
        flood.spawn(async move { send(req).await.status });
    }
    let statuses = flood.join_all().await;
    let ok = statuses.iter().filter(|&&st| st == 200).count();
    let limited = statuses.iter().filter(|&&st| st == 429).count();
    assert_eq!(ok + limited, statuses.len(), "only 200 and 429: {statuses:?}");
    assert_eq!(ok, 20, "the burst of 20 passes, the rest is refused (one refill takes 3 minutes)");
    let other =
        send(s.client.get(s.url("/api/v1/users/by-username/nova")).header("x-forwarded-for", "192.0.2.10")).await;
    assert_eq!(other.status, 200, "{other:?}");
}

#[tokio::test]
async fn two_nodes_share_one_limit_through_redis() {
    redis_addr();
    let prefix = unique_prefix();
    let url = redis_url();
    let env = [
        ("VEZA_REDIS_URL", url.as_str()),
        ("VEZA_RATE_LIMIT_REDIS_PREFIX", prefix.as_str()),
        ("VEZA_RATE_LIMIT_LOGIN", "4/1m"),
    ];
    // The limit is per client address, so the nodes need not even share a database.
    let a = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let b = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    a.register("nova").await;
    b.register("nova").await;
    let mut remaining = Vec::new();
    for node in [&a, &b, &a, &b] {
        let r = login(node, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        remaining.push(r.header("x-ratelimit-remaining").to_string());
    }
    assert_eq!(remaining, ["3", "2", "1", "0"], "both nodes draw on one bucket");
    assert_rate_limited(&login(&b, None).await, "login", "ip");
    assert_rate_limited(&login(&a, None).await, "login", "ip");
}

#[tokio::test]
async fn redis_outage_falls_back_as_configured() {
    let proxy = CuttableProxy::start(redis_addr()).await;
    let via_proxy = format!("redis://{}/", proxy.addr);
    let prefix = unique_prefix();
    let base = [
        ("VEZA_REDIS_URL", via_proxy.as_str()),
        ("VEZA_RATE_LIMIT_REDIS_PREFIX", prefix.as_str()),
        ("VEZA_RATE_LIMIT_LOGIN", "3/1m"),
        ("VEZA_RATE_LIMIT_REDIS_TIMEOUT_MS", "1000"),
    ];
    // Default: fall back to in-process limits and say so in the log.
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &base).await;
    s.register("nova").await;
    assert_eq!(login(&s, None).await.header("x-ratelimit-remaining"), "2", "through Redis");
    proxy.cut();
    let mut during = Vec::new();
    for _ in 0..4 {
        let r = login(&s, None).await;
        during.push((r.status, r.headers.get("x-ratelimit-remaining").map(|v| v.to_str().unwrap().to_string())));
    }
    assert_eq!(
        during,
        [(200, Some("2".into())), (200, Some("1".into())), (200, Some("0".into())), (429, Some("0".into()))],
        "the node limits on its own while Redis is away"
    );
    assert!(s.log_text().contains("shared rate limiter failed"), "the outage is logged");
    proxy.restore();
    // Back on Redis, where the bucket still holds the one request made before the outage.
    let mut back = None;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = login(&s, None).await;
        if r.status == 200 && r.header("x-ratelimit-remaining") == "1" {
            back = Some(r);
            break;
        }
    }
    assert!(back.is_some(), "the node returned to the shared limits");
    assert!(s.log_text().contains("shared rate limiter reachable again"));

    // `deny` refuses with 503; `allow` lets everything through without limits.
    proxy.cut();
    let deny = [base.as_slice(), &[("VEZA_RATE_LIMIT_ON_REDIS_FAILURE", "deny")]].concat();
    let d = TestServer::start_with(BIN, TestDb::sqlite(), &deny).await;
    let r = send(d.client.get(d.url("/api/v1/users/by-username/nobody"))).await;
    assert_eq!((r.status, r.body["code"].as_str()), (503, Some("rate_limiter_unavailable")), "{r:?}");
    assert_eq!(r.header("retry-after"), "1");
    let allow = [base.as_slice(), &[("VEZA_RATE_LIMIT_ON_REDIS_FAILURE", "allow")]].concat();
    let o = TestServer::start_with(BIN, TestDb::sqlite(), &allow).await;
    let r = send(o.client.get(o.url("/api/v1/users/by-username/nobody"))).await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(!r.has("x-ratelimit-limit"), "no limits were applied");
}

#[tokio::test]
async fn bad_rate_limit_settings_stop_start_up() {
    for (key, value, expected) in [
        ("VEZA_RATE_LIMIT_LOGIN", "10 per minute", "VEZA_RATE_LIMIT_LOGIN"),
        ("VEZA_REDIS_URL", "localhost:6379", "VEZA_REDIS_URL"),
        ("VEZA_RATE_LIMIT_ON_REDIS_FAILURE", "panic", "VEZA_RATE_LIMIT_ON_REDIS_FAILURE"),
    ] {
        let out = std::process::Command::new(BIN)
            .args(["config", "check"])
            .env(key, value)
            .output()
            .expect("run veza config check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}={value}: {stderr}");
        assert!(stderr.contains(expected), "{key}={value}: {stderr}");
    }
}

async fn wrong_password(s: &TestServer) -> Answer {
    send(s.client.post(s.url("/api/v1/auth/login")).json(&json!({"login": "nova", "password": "not-the-password"})))
        .await
}

/// Fifty wrong passwords at once, spread over the given nodes: exactly the free tries get an
/// answer, the rest wait; then the right password waits too. The nodes' first delay is
/// [`FIRST_DELAY`], long enough that no wait ends during the test however slowly it runs.
async fn guess_in_parallel(nodes: &[&TestServer]) {
    let mut all = tokio::task::JoinSet::new();
    for i in 0..50 {
        let node = nodes[i % nodes.len()];
        let req = node
            .client
            .post(node.url("/api/v1/auth/login"))
            .json(&json!({"login": "nova", "password": format!("guess-number-{i}")}));
        all.spawn(async move { send(req).await });
    }
    let answers = all.join_all().await;
    let wrong = answers.iter().filter(|a| a.status == 401).count();
    let waiting: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!((wrong, waiting.len()), (5, 45), "{answers:?}");
    for a in &waiting {
        assert_eq!(a.body["code"], "too_many_attempts", "{a:?}");
        let retry: u64 = a.header("retry-after").parse().expect("seconds");
        assert!((570..=600).contains(&retry), "{a:?}");
    }
    for node in nodes {
        let right = login(node, None).await;
        assert_eq!((right.status, right.body["code"].as_str()), (429, Some("too_many_attempts")), "{right:?}");
    }
}

/// A first delay no test outlasts: counts and refusals are exact however slow the machine.
const FIRST_DELAY: (&str, &str) = ("VEZA_LOGIN_FIRST_DELAY_SECS", "600");

/// Once the delay is served, the right password works again (checked with a 1 s delay, by
/// waiting for it: only the direction that cannot depend on speed).
#[tokio::test]
async fn the_right_password_works_once_the_delay_is_served() {
    let env = [("VEZA_LOGIN_FAILURES_PER_ACCOUNT", "2"), ("VEZA_LOGIN_FAILURES_PER_ADDRESS", "100")];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    s.register("nova").await;
    for _ in 0..2 {
        assert_eq!(wrong_password(&s).await.status, 401);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let right = login(&s, None).await;
        if right.status == 200 {
            break;
        }
        assert_eq!((right.status, right.body["code"].as_str()), (429, Some("too_many_attempts")), "{right:?}");
        assert!(std::time::Instant::now() < deadline, "still waiting after 30 s: {right:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The success forgave the account's failures: its free tries are back.
    for _ in 0..2 {
        assert_eq!(wrong_password(&s).await.status, 401);
    }
}

#[tokio::test]
async fn password_guessing_is_throttled_exactly() {
    let env = [("VEZA_LOGIN_FAILURES_PER_ACCOUNT", "5"), ("VEZA_LOGIN_FAILURES_PER_ADDRESS", "100"), FIRST_DELAY];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let access = access(&s.register("nova").await);
    guess_in_parallel(&[&s]).await;
    // The owner sees the guessing in their security events.
    let (status, events) = s.get("/api/v1/me/security-events", Some(&access)).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = events["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "auth.login.failed").count(), 5, "{actions:?}");
    assert!(actions.contains(&"auth.login.throttled"), "{actions:?}");

    // Per address: one address guessing at many accounts is held back too.
    let env = [("VEZA_LOGIN_FAILURES_PER_ACCOUNT", "100"), ("VEZA_LOGIN_FAILURES_PER_ADDRESS", "3"), FIRST_DELAY];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    for name in ["a1", "a2", "a3"] {
        let r =
            send(s.client.post(s.url("/api/v1/auth/login")).json(&json!({"login": name, "password": "x-y-z-w"}))).await;
        assert_eq!(r.status, 401);
    }
    let r = send(s.client.post(s.url("/api/v1/auth/login")).json(&json!({"login": "a4", "password": "x-y-z-w"}))).await;
    assert_eq!((r.status, r.body["code"].as_str()), (429, Some("too_many_attempts")), "{r:?}");
}

#[tokio::test]
async fn password_guessing_is_counted_across_nodes_through_redis() {
    redis_addr();
    let prefix = unique_prefix();
    let url = redis_url();
    let env = [
        ("VEZA_REDIS_URL", url.as_str()),
        ("VEZA_RATE_LIMIT_REDIS_PREFIX", prefix.as_str()),
        ("VEZA_LOGIN_FAILURES_PER_ACCOUNT", "5"),
        ("VEZA_LOGIN_FAILURES_PER_ADDRESS", "100"),
        FIRST_DELAY,
    ];
    let a = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    let b = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    a.register("nova").await;
    b.register("nova").await;
    guess_in_parallel(&[&a, &b]).await;
}

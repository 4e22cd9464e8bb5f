//! Faults over real processes: a node killed with SIGKILL mid-transcode and mid-burst of chat,
//! PostgreSQL crashed and restarted under load, Redis killed and restarted under two nodes. Each
//! test says what it proves.

use std::time::Duration;

use serde_json::{json, Value};
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::gateway::GatewayClient;
use veza_testkit::media::{ffmpeg_wrapper, files_under, make_audio, upload, wait_processed, Form};
use veza_testkit::on_both_databases;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().expect("access token").to_string()
}

/// Proves: a node killed mid-transcode (ffmpeg running, its lease held and renewed) leaves the
/// job to another node once the lease lapses, and the track is finished once, by that node:
/// one more ffmpeg run, as the job's second attempt, one "track ready", announced once, and
/// playable from the shared store. On SQLite the second node opens the same database file
/// after the first died (one writer at a time, as the embedded default is run).
async fn a_node_killed_mid_transcode_leaves_the_job_to_another(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (runs, store) = (dir.path().join("runs"), dir.path().join("media"));
    // Node A transcodes at the audio's own pace (-re), so it is still at it when killed; after
    // the kill its ffmpeg dies on its broken output pipe.
    let note = |tag: &str| format!("echo {tag} >> '{}'", runs.display());
    let slow = ffmpeg_wrapper(dir.path(), "a", &note("a"), "-re");
    let fast = ffmpeg_wrapper(dir.path(), "b", &note("b"), "");
    let store_url = format!("file://{}", store.display());
    let common = [
        ("VEZA_JOB_LEASE_SECS", "4"),
        ("VEZA_TRANSCODE_CONCURRENCY", "1"),
        ("VEZA_PUBLIC_URL", "http://cluster.test"),
        ("VEZA_STORAGE_URL", store_url.as_str()),
        ("VEZA_MEDIA_CACHE_MB", "0"),
    ];
    let env_a: Vec<_> = common.iter().copied().chain([("VEZA_FFMPEG", slow.as_str()), ("VEZA_NODE_ID", "1")]).collect();
    let env_b: Vec<_> = common.iter().copied().chain([("VEZA_FFMPEG", fast.as_str()), ("VEZA_NODE_ID", "2")]).collect();
    let mut a = TestServer::start_with(BIN, TestDb::new(backend).await, &env_a).await;
    let token = access(&a.register("artist").await);
    let audio = dir.path().join("long.flac");
    make_audio(&audio, 12.0, &["-c:a", "flac"]);
    let (status, track) =
        upload(&a, &token, Form::new().file("file", "long.flac", &std::fs::read(&audio).unwrap())).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap().to_string();
    // Mid-transcode: A's ffmpeg has reported progress.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, t) = a.get(&format!("/api/v1/tracks/{id}"), Some(&token)).await;
        if t["progress"].as_u64().is_some_and(|p| p > 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "A never reported progress: {t}\n{}", a.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.kill();

    let b = a.start_node(&env_b).await;
    let mut owner = GatewayClient::connect(&b.base).await;
    owner.identify(&token).await;
    let t = wait_processed(&b, &token, &id, Duration::from_secs(90)).await;
    assert_eq!((t["state"].as_str(), t["progress"].as_u64()), (Some("ready"), Some(100)), "{t}\n{}", b.log_text());
    let duration = t["duration_ms"].as_u64().unwrap();
    assert!(duration.abs_diff(12_000) < 100, "{duration}");
    let (update, _) = owner.until("TRACK_UPDATE").await;
    assert_eq!(update["state"], "ready", "{update}");
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().collect::<Vec<_>>(), ["a", "b"], "one run per node");
    let log = b.log_text();
    assert_eq!(log.matches("processing a track").count(), 1, "{log}");
    assert!(log.contains("\"attempt\":2"), "the job's second attempt: {log}");
    assert_eq!(log.matches("track ready").count(), 1, "{log}");
    for bad in ["will retry", "taken over", "lost the job's lease"] {
        assert!(!log.contains(bad), "{bad}: {log}");
    }
    // Playable: the stream's master playlist and its first segment come from the shared store.
    let (status, stream) = b.get(&format!("/api/v1/tracks/{id}/stream"), Some(&token)).await;
    assert_eq!(status, 200, "{stream}");
    let master = stream["hls_aac"].as_str().unwrap_or_else(|| panic!("no AAC master in {stream}"));
    let path = master.strip_prefix("http://cluster.test").unwrap_or_else(|| panic!("{master}"));
    let res = b.client.get(b.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().starts_with("#EXTM3U"));
    assert_eq!(files_under(&b.data_dir().join("work")), Vec::<String>::new(), "no scratch files left");
}

on_both_databases!(a_node_killed_mid_transcode_leaves_the_job_to_another);

/// A community of `owner`'s with one text channel and an open invite: the channel and the code.
async fn channel_with_invite(s: &TestServer, owner: &str) -> (String, String) {
    let (_, community) = s.post("/api/v1/communities", &json!({"name": "Faults"}), Some(owner)).await;
    let community = community["id"].as_str().expect("id").to_string();
    let channels = format!("/api/v1/communities/{community}/channels");
    let (status, channel) = s.post(&channels, &json!({"kind": "text", "name": "general"}), Some(owner)).await;
    assert_eq!(status, 201, "{channel}");
    let (_, invite) = s.post(&format!("/api/v1/communities/{community}/invites"), &json!({}), Some(owner)).await;
    (channel["id"].as_str().expect("id").to_string(), invite["code"].as_str().expect("code").to_string())
}

/// `name`, registered and joined through `code`: their access token.
async fn member(s: &TestServer, name: &str, code: &str) -> String {
    let token = access(&s.register(name).await);
    assert_eq!(s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&token)).await.0, 201);
    token
}

/// Two nodes (ids 1 and 2) sharing a PostgreSQL database, keys and the settings `common`.
async fn two_nodes(common: &[(&str, &str)]) -> (TestServer, TestServer) {
    let env_a: Vec<_> = common.iter().copied().chain([("VEZA_NODE_ID", "1")]).collect();
    let env_b: Vec<_> = common.iter().copied().chain([("VEZA_NODE_ID", "2")]).collect();
    let a = TestServer::start_with(BIN, TestDb::new(Backend::Postgres).await, &env_a).await;
    let b = a.start_node(&env_b).await;
    (a, b)
}

/// Two nodes sharing a Redis of their own (to kill and restart), with short bus timeouts and
/// in-process rate limits while Redis is away.
async fn two_nodes_on_private_redis() -> (veza_testkit::redis::PrivateRedis, TestServer, TestServer) {
    let redis = veza_testkit::redis::PrivateRedis::start().await;
    let url = redis.url();
    let common = [
        ("VEZA_REDIS_URL", url.as_str()),
        ("VEZA_PUBLIC_URL", "http://cluster.test"),
        ("VEZA_EVENT_BUS_TIMEOUT_MS", "300"),
        ("VEZA_RATE_LIMIT_ON_REDIS_FAILURE", "local"),
    ];
    let (a, b) = two_nodes(&common).await;
    (redis, a, b)
}

/// One sender's account of its sends: each nonce with the id every 2xx answer gave it, and how
/// many times it was told 503.
#[derive(Debug, Default)]
struct Sent {
    ids: std::collections::HashMap<String, Vec<String>>,
    unavailable: u64,
}

/// Posts numbered messages with nonces into `channel` until `stop`, retrying each with its
/// nonce after a 503 (whose `Retry-After` it checks) until it is answered 201 or 200; any other
/// answer fails the test. `acked` counts answered sends, `refused` the 503s.
async fn send_until(
    s: std::sync::Arc<(reqwest::Client, String)>,
    token: String,
    channel: String,
    tag: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    acked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    refused: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Sent {
    use std::sync::atomic::Ordering;
    let (client, base) = (&s.0, &s.1);
    let mut sent = Sent::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let nonce = format!("w{tag}-{n}");
        loop {
            let res = client
                .post(format!("{base}/api/v1/channels/{channel}/messages"))
                .bearer_auth(&token)
                .json(&json!({"content": nonce, "nonce": nonce}))
                .send()
                .await
                .expect("the Veza node stays up");
            let status = res.status().as_u16();
            let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body: Value = res.json().await.unwrap_or(Value::Null);
            match status {
                200 | 201 => {
                    sent.ids.entry(nonce.clone()).or_default().push(body["id"].as_str().expect("id").to_string());
                    acked.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                503 => {
                    let wait: u64 = retry.as_deref().and_then(|r| r.parse().ok()).expect("503 with Retry-After");
                    assert!(wait >= 1, "{body}");
                    sent.unavailable += 1;
                    refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await; // a real client waits Retry-After
                }
                other => panic!("send {nonce}: {other} {body}"),
            }
        }
    }
    sent
}

/// Reads past dispatches to the heartbeat's acknowledgement: the connection is up.
async fn acknowledged(client: &mut GatewayClient) {
    loop {
        match client.next().await {
            veza_testkit::gateway::Frame::Json(v) if v["op"] == 11 => return,
            veza_testkit::gateway::Frame::Json(_) => {}
            veza_testkit::gateway::Frame::Closed(code) => panic!("the gateway connection closed ({code})"),
        }
    }
}

/// Waits for `ok` to hold, checking every 25 ms, for at most `limit`.
async fn until(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Proves: PostgreSQL restarting under load — first a crash (`immediate`: connections cut,
/// WAL replayed at start), then a clean restart (`fast`) — costs clients 503 with `Retry-After`
/// and nothing else: no other error, `/healthz` stays 200 and `/readyz` follows the database,
/// a gateway connection stays up, service resumes without restarting Veza, and the store holds
/// exactly the messages the senders were told were stored, each once (a send whose outcome was
/// lost in the crash is retried with its nonce and answered with the stored message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_under_load_lose_nothing_committed() {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;
    use veza_testkit::pg::{PgCluster, Stop};
    let pg = PgCluster::start().await;
    let s = TestServer::start_with(BIN, TestDb::at(pg.url()), &[("VEZA_DB_ACQUIRE_TIMEOUT_SECS", "1")]).await;
    let owner = access(&s.register("owner").await);
    let (channel, code) = channel_with_invite(&s, &owner).await;
    let mut writers = vec![owner.clone()];
    for name in ["writer1", "writer2", "writer3"] {
        writers.push(member(&s, name, &code).await);
    }
    let mut listener = GatewayClient::connect(&s.base).await;
    listener.identify(&writers[1]).await;
    listener.heartbeat().await; // the first heartbeat checks the sign-in; later ones need no database
    acknowledged(&mut listener).await;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let refused: Vec<Arc<AtomicU64>> = (0..writers.len()).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let http = Arc::new((s.client.clone(), s.base.clone()));
    let mut senders = tokio::task::JoinSet::new();
    for (tag, token) in writers.iter().enumerate() {
        let args =
            (http.clone(), token.clone(), channel.clone(), tag, stop.clone(), acked.clone(), refused[tag].clone());
        senders.spawn(send_until(args.0, args.1, args.2, args.3, args.4, args.5, args.6));
    }
    for how in [Stop::Immediate, Stop::Fast] {
        let before = acked.load(Ordering::Relaxed);
        until(Duration::from_secs(30), "20 more sends answered", || acked.load(Ordering::Relaxed) >= before + 20).await;
        let seen: Vec<u64> = refused.iter().map(|r| r.load(Ordering::Relaxed)).collect();
        pg.stop(how).await;
        let (status, problem) = s.get("/readyz", None).await;
        assert_eq!((status, problem["code"].as_str()), (503, Some("not_ready")), "{problem}");
        until(Duration::from_secs(30), "every sender told 503", || {
            refused.iter().zip(&seen).all(|(r, before)| r.load(Ordering::Relaxed) > *before)
        })
        .await;
        assert_eq!(s.get("/healthz", None).await.0, 200, "alive without its database");
        listener.heartbeat().await;
        acknowledged(&mut listener).await;
        pg.start_again().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while s.get("/readyz", None).await.0 != 200 {
            assert!(std::time::Instant::now() < deadline, "not ready again after {how:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let before = acked.load(Ordering::Relaxed);
    until(Duration::from_secs(30), "20 more sends answered", || acked.load(Ordering::Relaxed) >= before + 20).await;
    stop.store(true, Ordering::Relaxed);
    let sent: Vec<Sent> = senders.join_all().await;

    // Every answer for one nonce named the same message; together they are the committed set.
    let mut committed = std::collections::BTreeSet::new();
    for (nonce, ids) in sent.iter().flat_map(|s| &s.ids) {
        assert!(ids.iter().all(|id| *id == ids[0]), "{nonce}: {ids:?}");
        committed.insert(ids[0].clone());
    }
    assert!(sent.iter().all(|s| s.unavailable >= 2), "each sender met both outages");
    // The store holds exactly those, once each.
    let mut stored = Vec::new();
    let mut page = format!("/api/v1/channels/{channel}/messages?limit=100");
    loop {
        let (status, messages) = s.get(&page, Some(&owner)).await;
        assert_eq!(status, 200, "{messages}");
        let messages = messages.as_array().expect("a page").clone();
        let Some(oldest) = messages.last() else { break };
        page = format!("/api/v1/channels/{channel}/messages?limit=100&before={}", oldest["id"].as_str().unwrap());
        stored.extend(messages.iter().map(|m| m["id"].as_str().unwrap().to_string()));
    }
    let unique: std::collections::BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(unique.len(), stored.len(), "nothing stored twice");
    assert_eq!(unique, committed, "exactly the messages the senders were told were stored");
}

/// Every message of `channel` from `after` on, paging forward (oldest first) as a re-syncing
/// client does.
async fn messages_after(s: &TestServer, token: &str, channel: &str, mut after: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    loop {
        let page = format!("/api/v1/channels/{channel}/messages?limit=100&after={after}");
        let (status, messages) = s.get(&page, Some(token)).await;
        assert_eq!(status, 200, "{messages}");
        let mut page: Vec<i64> =
            messages.as_array().expect("a page").iter().map(|m| m["id"].as_str().unwrap().parse().unwrap()).collect();
        page.sort_unstable();
        let Some(&newest) = page.last() else { return ids };
        ids.extend(page);
        after = newest;
    }
}

/// Proves: a Redis restart (killed, then started empty) is a gap that no session can miss.
/// Sends go on meanwhile (201: stored, though their events could not be published); once Redis
/// is back, every session on both nodes is closed with 4012 — by the bus connection being
/// re-made, and by the gap each node that failed to publish announces — and cannot be resumed;
/// clients that identify again and re-sync over REST from a request timeout before the newest
/// message they had (GATEWAY.md) end with every committed message, and live delivery works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_closes_sessions_with_4012_and_clients_resync() {
    let (mut redis, a, b) = two_nodes_on_private_redis().await;
    let owner = access(&a.register("owner").await);
    let (channel, code) = channel_with_invite(&a, &owner).await;
    let member = member(&a, "member", &code).await;
    let send = |node: &TestServer, n: usize| {
        let (client, url, token) =
            (node.client.clone(), node.url(&format!("/api/v1/channels/{channel}/messages")), owner.clone());
        async move {
            let res = client.post(url).bearer_auth(token).json(&json!({"content": format!("m{n}")})).send().await;
            let res = res.expect("send");
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["id"].as_str().unwrap().parse::<i64>().unwrap()
        }
    };

    let mut on_a = GatewayClient::connect(&a.base).await;
    let session_a = on_a.identify(&member).await["session_id"].as_str().unwrap().to_string();
    let mut on_b = GatewayClient::connect(&b.base).await;
    on_b.identify(&member).await;
    let mut committed = vec![send(&a, 0).await];
    let mut newest_seen = i64::MIN;
    for client in [&mut on_a, &mut on_b] {
        let (created, _) = client.until("MESSAGE_CREATE").await;
        newest_seen = created["id"].as_str().unwrap().parse().unwrap();
    }

    redis.kill();
    for n in 1..=4 {
        committed.push(send(if n % 2 == 0 { &a } else { &b }, n).await);
    }
    redis.start_again().await;
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(client.closed().await, 4012, "the gap closes every session");
    }
    // The gaps come from two sources (the subscriber's reconnect, each publisher's
    // announcement): wait until both nodes have announced theirs.
    for node in [&a, &b] {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !node.log_text().contains("announced a gap") {
            assert!(std::time::Instant::now() < deadline, "no gap announced: {}", node.log_text());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    let mut again = GatewayClient::connect(&a.base).await;
    again.send(json!({"op": 6, "d": {"token": member, "session_id": session_a, "seq": 2}})).await;
    loop {
        match again.next().await {
            veza_testkit::gateway::Frame::Json(v) if v["op"] == 9 => break,
            veza_testkit::gateway::Frame::Json(_) => {}
            veza_testkit::gateway::Frame::Closed(code) => panic!("closed {code} instead of INVALID_SESSION"),
        }
    }
    // Re-sync: identify (live from READY on), then page from a request timeout before the
    // newest message held; then a new message arrives live. A gap announcement processed late
    // may close the new session with 4012 too: the client then does it all again, as any does.
    let cursor = ((newest_seen >> 22) - 30_000) << 22;
    for (n, node) in [&b, &a].into_iter().enumerate() {
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(tries <= 5, "no stable session after {tries} tries");
            let mut client = GatewayClient::connect(&node.base).await;
            client.identify(&member).await;
            let fetched = messages_after(node, &member, &channel, cursor).await;
            for id in &committed {
                assert!(fetched.contains(id), "{id} missing after the re-sync: {fetched:?}");
            }
            let last = send(node, 10 * (n + 1) + tries).await;
            committed.push(last);
            let live = loop {
                match client.next().await {
                    veza_testkit::gateway::Frame::Json(v) if v["t"] == "MESSAGE_CREATE" => {
                        break Some(v["d"]["id"].clone())
                    }
                    veza_testkit::gateway::Frame::Json(_) => {}
                    veza_testkit::gateway::Frame::Closed(4012) => break None,
                    veza_testkit::gateway::Frame::Closed(code) => panic!("closed {code}"),
                }
            };
            if let Some(id) = live {
                assert_eq!(id.as_str().unwrap().parse::<i64>().unwrap(), last, "live again");
                break;
            }
        }
    }
}

/// One gateway client's copy of a channel: what it received live on each connection, and what
/// it fetched over REST when it re-synced.
#[derive(Debug, Default)]
struct Mirror {
    per_connection: Vec<Vec<i64>>,
    fetched: Vec<i64>,
}

impl Mirror {
    fn all(&self) -> std::collections::BTreeSet<i64> {
        self.per_connection.iter().flatten().chain(&self.fetched).copied().collect()
    }
}

fn id_of(v: &Value) -> i64 {
    v.as_str().expect("an id").parse().expect("a number")
}

/// Proves: killing a gateway node with SIGKILL in the middle of a burst loses its clients
/// nothing. Their connections break (1006: no drain); each reconnects to the other node (its
/// session lived in the dead node's memory, so RESUME there gets INVALID_SESSION), identifies,
/// re-syncs over REST from a request timeout before the newest message it had, and then
/// receives the rest live: in the end each has exactly the committed messages, and no
/// connection was sent one twice. Senders retry a send the dead node never answered, with its
/// nonce, on the other node: each logical send is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_node_loses_no_committed_message() {
    use std::collections::{BTreeSet, HashMap};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use veza_testkit::gateway::Frame;
    use veza_testkit::redis::PrivateRedis;
    let redis = PrivateRedis::start().await;
    let url = redis.url();
    let common = [("VEZA_REDIS_URL", url.as_str()), ("VEZA_PUBLIC_URL", "http://cluster.test")];
    let (mut a, b) = two_nodes(&common).await;
    let owner = access(&b.register("owner").await);
    let (channel, code) = channel_with_invite(&b, &owner).await;
    let mut listeners = Vec::new();
    for n in 0..3 {
        let token = member(&b, &format!("listener{n}"), &code).await;
        let mut client = GatewayClient::connect(&a.base).await;
        let session = client.identify(&token).await["session_id"].as_str().unwrap().to_string();
        listeners.push((token, client, session));
    }

    // Two senders, alternating nodes; a send the dead node never answered goes to the other.
    let acked = Arc::new(AtomicUsize::new(0));
    let bases = Arc::new(std::sync::Mutex::new(vec![a.base.clone(), b.base.clone()]));
    let mut senders = tokio::task::JoinSet::new();
    for tag in 0..2 {
        let (client, owner, channel, acked, bases) =
            (b.client.clone(), owner.clone(), channel.clone(), acked.clone(), bases.clone());
        senders.spawn(async move {
            let mut sent: HashMap<String, Vec<i64>> = HashMap::new();
            for n in 0..60 {
                let nonce = format!("s{tag}-{n}");
                for attempt in 0.. {
                    assert!(attempt < 20, "{nonce} never went through");
                    let base = {
                        let bases = bases.lock().unwrap();
                        bases[(n + attempt) % bases.len()].clone()
                    };
                    let res = client
                        .post(format!("{base}/api/v1/channels/{channel}/messages"))
                        .bearer_auth(&owner)
                        .json(&json!({"content": nonce, "nonce": nonce}))
                        .send()
                        .await;
                    let Ok(res) = res else { continue }; // the node died under it: its outcome is unknown
                    let status = res.status().as_u16();
                    let Ok(body) = res.json::<Value>().await else { continue };
                    assert!(status == 200 || status == 201, "{nonce}: {status} {body}");
                    sent.entry(nonce.clone()).or_default().push(id_of(&body["id"]));
                    acked.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            sent
        });
    }
    until(Duration::from_secs(30), "30 sends answered", || acked.load(Ordering::Relaxed) >= 30).await;
    bases.lock().unwrap().retain(|base| *base == b.base);
    a.kill();

    // Each listener: what its connection to A delivered, until it broke.
    let mut mirrors = Vec::new();
    for (token, client, session) in &mut listeners {
        let mut mirror = Mirror::default();
        let mut live = Vec::new();
        let code = loop {
            match client.next().await {
                Frame::Json(v) if v["t"] == "MESSAGE_CREATE" => live.push(id_of(&v["d"]["id"])),
                Frame::Json(_) => {}
                Frame::Closed(code) => break code,
            }
        };
        assert_eq!(code, 1006, "a crash, not a drain");
        mirror.per_connection.push(live);
        // The session lived on A: RESUME on B finds nothing; identify there and re-sync.
        let mut on_b = GatewayClient::connect(&b.base).await;
        on_b.send(json!({"op": 6, "d": {"token": token, "session_id": session, "seq": 1}})).await;
        loop {
            match on_b.next().await {
                Frame::Json(v) if v["op"] == 9 => break,
                Frame::Json(_) => {}
                Frame::Closed(code) => panic!("closed {code} instead of INVALID_SESSION"),
            }
        }
        on_b.identify(token).await;
        let newest = mirror.all().last().copied().unwrap_or(0);
        let cursor = ((newest >> 22) - 30_000).max(0) << 22;
        mirror.fetched = messages_after(&b, token, &channel, cursor).await;
        mirror.per_connection.push(Vec::new());
        mirrors.push((mirror, on_b));
    }
    let sent: Vec<HashMap<String, Vec<i64>>> = senders.join_all().await;
    let mut committed = BTreeSet::new();
    for (nonce, ids) in sent.iter().flatten() {
        assert!(ids.iter().all(|id| *id == ids[0]), "{nonce}: a retry answers with the first: {ids:?}");
        committed.insert(ids[0]);
    }
    assert_eq!(committed.len(), 120, "every logical send once");
    let stored = messages_after(&b, &owner, &channel, 0).await;
    assert_eq!(stored.iter().copied().collect::<BTreeSet<_>>(), committed, "exactly the acknowledged");
    assert_eq!(stored.len(), committed.len(), "nothing stored twice");

    for (mirror, client) in &mut mirrors {
        // From READY on B, what was sent after the re-sync arrives live.
        while !mirror.all().is_superset(&committed) {
            match client.next().await {
                Frame::Json(v) if v["t"] == "MESSAGE_CREATE" => {
                    mirror.per_connection.last_mut().unwrap().push(id_of(&v["d"]["id"]))
                }
                Frame::Json(_) => {}
                Frame::Closed(code) => panic!("closed {code}: {mirror:?}"),
            }
        }
        assert_eq!(mirror.all(), committed, "exactly the committed messages");
        for live in &mirror.per_connection {
            let unique: BTreeSet<_> = live.iter().collect();
            assert_eq!(unique.len(), live.len(), "a connection was sent a message twice: {live:?}");
        }
    }
}

/// Proves: each node of a cluster caches what deciding a permission reads, and a change made
/// through one node holds on the other in the very next request — 15 rounds of a member's
/// overwrite set and removed through A, each answered by B at once (B has just read the
/// permission it is about to lose or gain, so a cache that missed the change would answer
/// wrongly). Then Redis is killed: B, having lost the announcements, reads past its cache, so a
/// change made through A meanwhile holds on B at once too; and once Redis is back, caching and
/// announcing resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_changed_through_one_node_holds_on_the_other_at_once() {
    let (mut redis, a, b) = two_nodes_on_private_redis().await;
    let owner = access(&a.register("owner").await);
    let (channel, code) = channel_with_invite(&a, &owner).await;
    let registered = a.register("member").await;
    let (member, member_id) = (access(&registered), registered["user"]["id"].as_str().expect("id").to_string());
    assert_eq!(a.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&member)).await.0, 201);
    let overwrite = format!("/api/v1/channels/{channel}/permissions/{member_id}");
    let muted = json!({"kind": "member", "allow": [], "deny": ["send_messages"]});
    let messages = format!("/api/v1/channels/{channel}/messages");
    let send_on_b = |n: usize| {
        let (client, url, token) = (b.client.clone(), b.url(&messages), member.clone());
        async move {
            let res = client.post(url).bearer_auth(token).json(&json!({"content": format!("m{n}")})).send().await;
            res.expect("send").status().as_u16()
        }
    };

    for round in 0..15 {
        assert_eq!(send_on_b(round).await, 201, "round {round}: not muted yet\n{}", b.log_text());
        assert_eq!(a.put(&overwrite, &muted, Some(&owner)).await.0, 200);
        assert_eq!(send_on_b(round).await, 403, "round {round}: muted through A\n{}", b.log_text());
        assert_eq!(a.delete(&overwrite, Some(&owner)).await.0, 204);
    }
    assert!(!a.log_text().contains("acknowledged a permission change in time"), "{}", a.log_text());

    // Without the bus, B reads past its cache: a change through A holds on B at once.
    redis.kill();
    until(Duration::from_secs(10), "B notices the bus is gone", || {
        b.log_text().contains("the event bus connection to Redis was lost")
    })
    .await;
    assert_eq!(send_on_b(100).await, 201);
    assert_eq!(a.put(&overwrite, &muted, Some(&owner)).await.0, 200);
    assert_eq!(send_on_b(101).await, 403, "muted through A while the bus was down\n{}", b.log_text());

    // Back: B starts afresh, and announcements reach it again.
    redis.start_again().await;
    until(Duration::from_secs(20), "both nodes' bus connections are re-made", || {
        [&a, &b].iter().all(|node| node.log_text().contains("the event bus connection was re-made"))
    })
    .await;
    assert_eq!(send_on_b(102).await, 403);
    assert_eq!(a.delete(&overwrite, Some(&owner)).await.0, 204);
    assert_eq!(send_on_b(103).await, 201, "unmuted through A after the bus came back\n{}", b.log_text());
    assert_eq!(a.put(&overwrite, &muted, Some(&owner)).await.0, 200);
    assert_eq!(send_on_b(104).await, 403, "muted through A after the bus came back\n{}", b.log_text());
}

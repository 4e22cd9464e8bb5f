//! The database goes away and comes back: `/readyz` and requests that need it answer 503, nothing
//! half-applies, and service resumes by itself. PostgreSQL is reached through a proxy the test
//! cuts, so the shared database server is never disturbed.

use std::net::ToSocketAddrs;

use serde_json::json;
use veza_testkit::db::TestDb;
use veza_testkit::proxy::CuttableProxy;
use veza_testkit::server::{TestServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

#[tokio::test]
async fn postgres_outage_answers_503_and_recovers() {
    let mut db = TestDb::postgres().await;
    // postgres://user@host:port/name → route host:port through the proxy.
    let (head, rest) = db.url.split_once('@').expect("url with user");
    let (hostport, name) = rest.split_once('/').expect("url with database");
    let target = hostport.to_socket_addrs().expect("resolve").next().expect("an address");
    let proxy = CuttableProxy::start(target).await;
    db.url = format!("{head}@{}/{name}", proxy.addr);

    let s = TestServer::start_with(BIN, db, &[("VEZA_DB_ACQUIRE_TIMEOUT_SECS", "1")]).await;
    let reg = s.register("nova").await;
    let access = reg["tokens"]["access_token"].as_str().expect("token").to_string();

    proxy.cut();
    let (status, p) = s.get("/readyz", None).await;
    assert_eq!((status, p["code"].as_str()), (503, Some("not_ready")), "{p}");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("database")), "{p}");
    let (status, p) = s.get("/api/v1/me", Some(&access)).await;
    assert_eq!((status, p["code"].as_str()), (503, Some("service_unavailable")), "{p}");
    let (status, _) = s
        .post(
            "/api/v1/auth/register",
            &json!({"username": "echo", "email": "echo@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(status, 503);
    assert_eq!(s.get("/healthz", None).await.0, 200, "liveness does not depend on the database");

    proxy.restore();
    // Ready again without a restart, once the pool has replaced its dead connections.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while s.get("/readyz", None).await.0 != 200 {
        assert!(std::time::Instant::now() < deadline, "not ready again after the database came back");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(s.get("/api/v1/me", Some(&access)).await.0, 200);
    // The registration that failed during the outage left nothing behind.
    let (status, body) = s
        .post(
            "/api/v1/auth/register",
            &json!({"username": "echo", "email": "echo@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

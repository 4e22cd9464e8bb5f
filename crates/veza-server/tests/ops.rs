//! Ops endpoints and the API's self-description: health, readiness, Prometheus metrics checked by
//! promtool, the JWKS, and the OpenAPI document pinned by a snapshot.

use std::io::Write;
use std::process::{Command, Stdio};

use veza_testkit::db::Backend;
use veza_testkit::server::{read, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

#[tokio::test]
async fn health_and_readiness() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    assert_eq!(s.get("/healthz", None).await, (200, serde_json::json!({"status": "ok"})));
    assert_eq!(s.get("/readyz", None).await, (200, serde_json::json!({"status": "ready", "degraded": []})));
    // VEZA_LOG_FORMAT=json (set by the test kit): one JSON object per line.
    let log = s.log_text();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(
        lines.iter().any(|l| l["message"] == "veza listening" && l["level"] == "INFO" && l["timestamp"].is_string()),
        "{log}"
    );
}

#[tokio::test]
async fn metrics_pass_promtool() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    s.register("nova").await;
    s.get("/api/v1/users/42", None).await;
    s.get("/no/such/route", None).await;
    let res = s.client.get(s.url("/metrics")).send().await.expect("metrics");
    assert!(res.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.expect("body");
    for needle in [
        r#"veza_http_requests_total{method="POST",route="/api/v1/auth/register",status="201"} 1"#,
        r#"veza_http_requests_total{method="GET",route="/api/v1/users/{id}",status="404"} 1"#,
        r#"veza_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"veza_http_request_duration_seconds_bucket{method="POST",route="/api/v1/auth/register",status="201",le="+Inf"} 1"#,
        "veza_http_requests_in_flight 1", // this very request
        r#"veza_db_pool_connections{state="idle"}"#,
        "veza_db_pool_max_connections 16",
        "veza_gateway_sessions 0",
        "veza_gateway_connections 0",
        "veza_gateway_publish_failures_total 0",
        r#"veza_build_info{version=""#,
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }

    let promtool =
        which("promtool").expect("promtool is needed (Debian package `prometheus`; scripts/test installs it)");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("promtool output");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let res = s.client.get(s.url("/.well-known/jwks.json")).send().await.expect("jwks");
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let (status, jwks) = read(res).await;
    assert_eq!(status, 200);
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str(), key["use"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig"))
    );
    assert_eq!(key["x"].as_str().map(str::len), Some(43), "32 bytes, base64url");
}

#[tokio::test]
async fn openapi_document_is_complete_and_pinned() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let (status, doc) = s.get("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/logout-all",
        "/api/v1/me",
        "/api/v1/me/security-events",
        "/api/v1/users/{id}",
        "/api/v1/users/by-username/{name}",
        "/api/v1/admin/audit",
        "/healthz",
        "/readyz",
        "/metrics",
        "/.well-known/jwks.json",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the OpenAPI document");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // Any change to the API shows up as a diff of this snapshot in review.
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn docs_ui_works_offline() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let res = s.client.get(s.url("/api/docs/")).send().await.expect("docs");
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "the docs page loads nothing from the internet");
    for asset in ["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/docs/swagger-initializer.js"] {
        let res = s.client.get(s.url(asset)).send().await.expect("asset");
        assert_eq!(res.status(), 200, "{asset} is served by Veza itself");
    }
    let init =
        s.client.get(s.url("/api/docs/swagger-initializer.js")).send().await.expect("init").text().await.expect("text");
    assert!(init.contains("/api/openapi.json"), "{init}");
}

//! The `veza` command line: configuration checking, migrations, account creation, and shutdown
//! that drains in-flight requests.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::server::{TestServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

/// Runs `veza ARGS` in an empty directory with only the given VEZA_* variables.
fn veza(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir.path()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("VEZA_")) {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn veza");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("veza output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn config_check_prints_effective_values_with_secrets_masked() {
    let out = veza(
        &["config", "check"],
        &[
            ("VEZA_DATABASE_URL", "postgres://veza:hunter2@db.internal:5432/veza"),
            ("VEZA_JWT_PRIVATE_KEY", "c2VjcmV0LWtleQ=="),
            ("VEZA_PUBLIC_URL", "https://music.example.org/"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains(r#"database_url = "postgres://veza:***@db.internal:5432/veza""#), "{shown}");
    assert!(shown.contains(r#"jwt_private_key = "***""#), "{shown}");
    assert!(shown.contains(r#"public_url = "https://music.example.org""#), "{shown}");
    assert!(shown.contains(r#"addr = "127.0.0.1:8080""#), "the default address: {shown}");
    assert!(!shown.contains("hunter2") && !shown.contains("c2VjcmV0"), "{shown}");
}

#[test]
fn invalid_configuration_names_the_key() {
    let cases = [
        ("VEZA_ADDR", "not-an-address", "VEZA_ADDR"),
        ("VEZA_NODE_ID", "5000", "VEZA_NODE_ID"),
        ("VEZA_PUBLIC_URL", "ftp://x", "VEZA_PUBLIC_URL"),
        ("VEZA_DATABASE_URL", "mysql://x", "VEZA_DATABASE_URL"),
        ("VEZA_LOG_FORMAT", "xml", "VEZA_LOG_FORMAT"),
        ("VEZA_DATABSE_URL", "sqlite://typo.db", "databse_url"),
    ];
    for (key, value, named) in cases {
        let out = veza(&["serve"], &[(key, value)], None);
        assert_eq!(out.status.code(), Some(2), "{key}={value} must stop start-up");
        let err = text(&out.stderr);
        assert!(err.contains(named), "{key}={value}: the message names {named}: {err}");
    }
    let out = veza(&["--config", "/nonexistent/veza.toml", "config", "check"], &[], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/veza.toml"));
}

#[test]
fn config_file_is_read_and_environment_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("veza.toml");
    std::fs::write(&file, "addr = \"127.0.0.1:9999\"\nnode_id = 7\n").expect("write config");
    let path = file.to_str().expect("utf-8");
    let out = veza(&["--config", path, "config", "check"], &[("VEZA_NODE_ID", "9")], None);
    let shown = text(&out.stdout);
    assert!(shown.contains(r#"addr = "127.0.0.1:9999""#) && shown.contains("node_id = 9"), "{shown}");
}

#[tokio::test]
async fn migrate_then_serve_and_create_users_from_the_command_line() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let data = db.dir.path().join("data");
        let env = [("VEZA_DATABASE_URL", db.url.as_str()), ("VEZA_DATA_DIR", data.to_str().expect("utf-8"))];
        let out = veza(&["migrate"], &env, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = veza(&["migrate"], &env, None);
        assert!(out.status.success(), "migrating twice is a no-op: {}", text(&out.stderr));

        let weak = veza(
            &["admin", "create-user", "--username", "boss", "--email", "boss@example.com", "--role", "admin"],
            &env,
            Some("password\n"),
        );
        assert!(!weak.status.success());
        assert!(text(&weak.stderr).contains("password:"), "{}", text(&weak.stderr));
        let none = veza(&["admin", "create-user", "--username", "boss", "--email", "boss@example.com"], &env, Some(""));
        assert!(text(&none.stderr).contains("standard input"), "{}", text(&none.stderr));
        let ok = veza(
            &["admin", "create-user", "--username", "boss", "--email", "boss@example.com", "--role", "admin"],
            &env,
            Some("a-long-admin-passphrase\n"),
        );
        assert!(ok.status.success(), "{}", text(&ok.stderr));
        assert!(text(&ok.stdout).starts_with("created admin boss with id "), "{}", text(&ok.stdout));

        let s = TestServer::start_with(BIN, db, &[]).await;
        let (status, body) =
            s.post("/api/v1/auth/login", &json!({"login": "boss", "password": "a-long-admin-passphrase"}), None).await;
        assert_eq!((status, body["user"]["role"].as_str()), (200, Some("admin")), "{backend:?}: {body}");
    }
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_zero() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    s.register("nova").await;
    // Twenty logins in flight for certain when SIGTERM comes: each has sent its headers and the
    // first byte of its body, and /metrics counts them (with its own request, 21), before the
    // signal; the rest of each body goes after it.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = json!({"login": "nova", "password": PASSWORD}).to_string();
    let mut logins = Vec::new();
    for _ in 0..20 {
        let mut conn = tokio::net::TcpStream::connect(s.base.trim_start_matches("http://")).await.expect("connect");
        let head = format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
            body.len(),
            &body[..1]
        );
        conn.write_all(head.as_bytes()).await.expect("write");
        logins.push(conn);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = s.client.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
        if metrics.contains("veza_http_requests_in_flight 21") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the logins never showed up in flight:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = Command::new("kill").args(["-TERM", &s.pid().to_string()]).status().expect("kill");
    assert!(killed.success());
    for conn in &mut logins {
        conn.write_all(&body.as_bytes()[1..]).await.expect("the rest of the body");
    }
    for mut conn in logins {
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "in-flight login answered despite shutdown: {answer}");
    }
    assert_eq!(s.wait_exit(Duration::from_secs(30)).await, Some(0), "exit code after SIGTERM");
}

#[tokio::test]
async fn disabled_accounts_cannot_log_in_refresh_or_read() {
    let db = TestDb::new(Backend::Sqlite).await;
    // The cache off, so this test sees the other process's write at once.
    let s = TestServer::start_with(BIN, db, &[("VEZA_USER_CACHE_TTL_MS", "0")]).await;
    let reg = s.register("nova").await;
    let access = reg["tokens"]["access_token"].as_str().expect("token").to_string();
    let refresh = reg["tokens"]["refresh_token"].as_str().expect("token").to_string();
    let data = s.data_dir();
    let env = [("VEZA_DATABASE_URL", s.db.url.as_str()), ("VEZA_DATA_DIR", data.to_str().expect("utf-8"))];

    let out = veza(&["admin", "disable-user", "--username", "nova", "--reason", "spam reports"], &env, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, p) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("account_disabled")), "{p}");
    let (status, p) = s.post("/api/v1/auth/refresh", &json!({"refresh_token": refresh}), None).await;
    assert_eq!((status, p["code"].as_str()), (401, Some("invalid_token")), "its sessions ended: {p}");
    let (status, p) = s.get("/api/v1/me", Some(&access)).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("account_disabled")), "{p}");
    assert_eq!(s.get("/api/v1/users/by-username/nova", None).await.0, 404, "hidden from others");
    // A wrong password still says only "wrong credentials": being disabled is not revealed.
    let (status, _) =
        s.post("/api/v1/auth/login", &json!({"login": "nova", "password": "not-the-password"}), None).await;
    assert_eq!(status, 401);

    let out = veza(&["admin", "enable-user", "--username", "nova"], &env, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, body) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    assert_eq!(status, 200, "{body}");
    let (_, events) = s
        .get(
            "/api/v1/me/security-events?action=admin.user_disabled",
            Some(body["tokens"]["access_token"].as_str().expect("t")),
        )
        .await;
    assert_eq!(events["items"][0]["detail"]["reason"], "spam reports");

    let out = veza(&["admin", "disable-user", "--username", "ghost", "--reason", "x"], &env, None);
    assert!(!out.status.success() && text(&out.stderr).contains("not found"), "{}", text(&out.stderr));
}

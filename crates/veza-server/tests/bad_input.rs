//! Bad input of every kind gets a 4xx problem+json that says what is wrong — never a 500.

use serde_json::{json, Value};
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::{read, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

on_both_databases!(malformed_bodies, hostile_fields, oversized_and_unroutable, bad_tokens);

/// Sends a raw body with a content type and checks status and problem code.
async fn raw(s: &TestServer, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let res = s.client.post(s.url(path)).header("content-type", content_type).body(body).send().await.expect("request");
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (status, body) = read(res).await;
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{status} {body}");
        assert_eq!(body["status"].as_u64(), Some(u64::from(status)), "{body}");
        assert!(body["type"].as_str().is_some_and(|t| t.starts_with("urn:veza:problem:")), "{body}");
    }
    (status, body)
}

async fn malformed_bodies(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let cases: &[(&str, &str, u16, &str)] = &[
        ("application/json", "{\"username\": \"x\",", 400, "malformed_json"),
        ("application/json", "", 400, "malformed_json"),
        ("application/json", "[1,2,3]", 422, "invalid_body"),
        ("application/json", "{\"username\": 5, \"email\": \"a@b.co\", \"password\": \"x\"}", 422, "invalid_body"),
        ("application/json", "{\"email\": \"a@b.co\", \"password\": \"long-enough-pw\"}", 422, "invalid_body"),
        (
            "application/json",
            "{\"username\":\"abc\",\"email\":\"a@b.co\",\"password\":\"long-enough-pw\",\"admin\":true}",
            422,
            "invalid_body",
        ),
        ("text/plain", "{}", 415, "unsupported_media_type"),
        ("application/x-www-form-urlencoded", "username=abc", 415, "unsupported_media_type"),
        ("application/json", "\u{feff}{}", 400, "malformed_json"),
        ("application/json", "{} {}", 400, "malformed_json"),
        // serde would accept a struct written as an array; the API takes objects only.
        ("application/json", "[\"abc\", \"a@b.co\", \"long-enough-pw\"]", 422, "invalid_body"),
        ("application/json", "null", 422, "invalid_body"),
    ];
    for (ct, body, status, code) in cases {
        let (got, p) = raw(&s, "/api/v1/auth/register", ct, body.to_string()).await;
        assert_eq!((got, p["code"].as_str()), (*status, Some(*code)), "{ct} {body:?}: {p}");
    }
    let (status, p) = raw(&s, "/api/v1/auth/register", "application/json", "{\"username\": 5}").await;
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("username")), "{status}: the detail names the field: {p}");
    let (status, _) = raw(&s, "/api/v1/auth/login", "application/json", vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(status, 400, "invalid UTF-8");
}

async fn hostile_fields(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let reg = s.register("nova").await;
    let access = reg["tokens"]["access_token"].as_str().expect("token").to_string();
    // Longer than any email may be, shorter than the auth routes' 8 KiB body limit.
    let long = "x".repeat(2_000);
    let cases = [
        (
            json!({"username": "robert'); DROP TABLE users;--", "email": "a@b.co", "password": "long-enough-pw"}),
            "username",
        ),
        (json!({"username": "a".repeat(33), "email": "a@b.co", "password": "long-enough-pw"}), "username"),
        (json!({"username": "abc", "email": format!("{long}@b.co"), "password": "long-enough-pw"}), "email"),
        (json!({"username": "abc", "email": "a@b.co\r\nBcc: x@y.z", "password": "long-enough-pw"}), "email"),
        (json!({"username": "abc", "email": "a@b.co", "password": "p".repeat(129)}), "password"),
        (json!({"username": "abc", "email": "a@b.co", "password": "short"}), "password"),
        (json!({"username": "ab\u{0}c", "email": "a@b.co", "password": "long-enough-pw"}), "username"),
    ];
    for (body, field) in cases {
        let (status, p) = s.post("/api/v1/auth/register", &body, None).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{body}: {p}");
    }
    let patches = [
        (json!({"display_name": "x".repeat(65)}), "display_name"),
        (json!({"bio": "b".repeat(1001)}), "bio"),
        (json!({"avatar_url": "javascript:alert(1)"}), "avatar_url"),
        (json!({"links": vec!["https://a.example"; 6]}), "links"),
        (json!({"location": "line\u{7}bell"}), "location"),
    ];
    for (body, field) in patches {
        let (status, p) = s.patch("/api/v1/me", &body, Some(&access)).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{body}: {p}");
    }
    let (status, p) = s.patch("/api/v1/me", &json!([null, null]), Some(&access)).await;
    assert_eq!((status, p["code"].as_str()), (422, Some("invalid_body")), "{p}");
    let (status, p) = s.patch("/api/v1/me", &json!({"display_name": 42}), Some(&access)).await;
    assert_eq!((status, p["code"].as_str()), (422, Some("invalid_body")));
    // Nothing half-applied: the profile is as it was.
    let (_, me) = s.get("/api/v1/me", Some(&access)).await;
    assert_eq!((me["display_name"].clone(), me["links"].clone()), (Value::Null, json!([])));
    // Hostile but valid text is stored and returned verbatim.
    let weird = "<script>alert('x')</script> 'OR 1=1 -- ✨ \u{202e}";
    let (status, me) = s.patch("/api/v1/me", &json!({"bio": weird}), Some(&access)).await;
    assert_eq!((status, me["bio"].as_str()), (200, Some(weird)));
}

async fn oversized_and_unroutable(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    // The server may answer before reading a too-large body and close; a client must still see
    // the 413. Raw TCP shows exactly that, where an HTTP client library reports a broken pipe.
    let body = format!("{{\"username\":\"{}\"}}", "a".repeat(200 * 1024));
    let head = format!("POST /api/v1/auth/register HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len());
    let (status, p) = raw_tcp(&s, head, body.as_bytes().chunks(8192).map(<[u8]>::to_vec).collect()).await;
    assert_eq!((status, p["code"].as_str()), (413, Some("payload_too_large")), "{p}");
    // Chunked, with no Content-Length: refused once the limit is crossed while reading.
    let head = "POST /api/v1/auth/register HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_string();
    let chunks =
        body.as_bytes().chunks(8192).map(|c| [format!("{:x}\r\n", c.len()).as_bytes(), c, b"\r\n"].concat()).collect();
    let (status, p) = raw_tcp(&s, head, chunks).await;
    assert_eq!((status, p["code"].as_str()), (413, Some("payload_too_large")), "{p}");

    // The auth routes, open to anyone, read at most 8 KiB; a route for signed-in users reads more.
    let padded = json!({"login": "nova", "password": "p".repeat(10 * 1024)});
    let (status, p) = s.post("/api/v1/auth/login", &padded, None).await;
    assert_eq!((status, p["code"].as_str()), (413, Some("payload_too_large")), "{p}");
    let access = s.register("nova").await["tokens"]["access_token"].as_str().expect("token").to_string();
    let (status, p) = s.patch("/api/v1/me", &json!({"bio": "b".repeat(10 * 1024)}), Some(&access)).await;
    assert_ne!(status, 413, "{p}");

    let (status, p) = s.get("/api/v1/nope", None).await;
    assert_eq!((status, p["code"].as_str()), (404, Some("not_found")));
    let res = s.client.delete(s.url("/api/v1/auth/login")).send().await.expect("request");
    assert_eq!(res.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
    let (status, p) = read(res).await;
    assert_eq!((status, p["code"].as_str()), (405, Some("method_not_allowed")));

    // Request ids: a sane one is echoed, a hostile one replaced.
    let res = s.client.get(s.url("/healthz")).header("x-request-id", "trace-42.a_b").send().await.expect("request");
    assert_eq!(res.headers()["x-request-id"], "trace-42.a_b");
    let res = s.client.get(s.url("/healthz")).header("x-request-id", "<script>\"x\"").send().await.expect("request");
    let echoed = res.headers()["x-request-id"].to_str().expect("ascii").to_string();
    assert!(echoed.len() == 36 && !echoed.contains('<'), "{echoed}");
}

/// Writes a request head and then body pieces until the server stops reading, then reads the
/// response: status and JSON body.
async fn raw_tcp(s: &TestServer, head: String, body: Vec<Vec<u8>>) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(head.as_bytes()).await.expect("write head");
    for piece in body {
        if conn.write_all(&piece).await.is_err() {
            break; // the server answered and closed: read what it said
        }
    }
    let mut response = Vec::new();
    let _ = conn.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let json = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // A chunked response body: take the JSON object inside the chunk framing.
    let json = json.find('{').zip(json.rfind('}')).map_or("", |(a, b)| &json[a..=b]);
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

async fn bad_tokens(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let cases = [
        "",
        "Bearer",
        "Bearer ",
        "Bearer abc.def.ghi",
        "Basic dXNlcjpwYXNz",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    ];
    for header in cases {
        let res = s.client.get(s.url("/api/v1/me")).header("authorization", header).send().await.expect("request");
        assert!(res.headers().contains_key("www-authenticate"), "{header:?}");
        let (status, p) = read(res).await;
        assert_eq!(status, 401, "{header:?}: {p}");
    }
    let (status, p) = s.get("/api/v1/me", None).await;
    assert_eq!((status, p["code"].as_str()), (401, Some("unauthenticated")));
    let res = s
        .client
        .get(s.url("/api/v1/me"))
        .header("authorization", format!("Bearer {}", "a".repeat(6000)))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);
}

/// A client that announces a body and never sends it all cannot hold a request open past the
/// request timeout: it gets a 408 problem and the connection is closed.
#[tokio::test]
async fn stalled_bodies_time_out_with_a_problem() {
    let db = veza_testkit::db::TestDb::sqlite();
    let s = TestServer::start_with(BIN, db, &[("VEZA_REQUEST_TIMEOUT_SECS", "1")]).await;
    let head =
        "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
            .to_string();
    let (status, p) = raw_tcp(&s, head, vec![b"{\"login\":".to_vec()]).await;
    assert_eq!((status, p["code"].as_str()), (408, Some("request_timeout")), "{p}");
    assert_eq!(s.get("/healthz", None).await.0, 200, "the server is fine");
}

/// Forwarding headers name the client only when they come from a trusted proxy; from anyone else
/// they are ignored, so nobody can write someone else's address into the audit log.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    async fn failed_login_ip(s: &TestServer, headers: &[(&str, &str)]) -> String {
        let mut req =
            s.client.post(s.url("/api/v1/auth/login")).json(&json!({"login": "nova", "password": "wrong-password"}));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        assert_eq!(req.send().await.expect("login").status(), 401);
        let reg = s
            .post("/api/v1/auth/login", &json!({"login": "nova", "password": veza_testkit::server::PASSWORD}), None)
            .await
            .1;
        let token = reg["tokens"]["access_token"].as_str().expect("token").to_string();
        let (_, events) = s.get("/api/v1/me/security-events?action=auth.login.failed&limit=1", Some(&token)).await;
        events["items"][0]["ip"].as_str().expect("ip").to_string()
    }
    let spoof = [("x-forwarded-for", "203.0.113.7"), ("forwarded", "for=198.51.100.2")];

    let direct = TestServer::start(BIN, Backend::Sqlite).await;
    direct.register("nova").await;
    assert_eq!(failed_login_ip(&direct, &spoof).await, "127.0.0.1", "headers from an untrusted peer are ignored");

    let db = veza_testkit::db::TestDb::sqlite();
    let proxied = TestServer::start_with(BIN, db, &[("VEZA_TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8")]).await;
    proxied.register("nova").await;
    assert_eq!(
        failed_login_ip(&proxied, &[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.5")]).await,
        "203.0.113.7"
    );
    assert_eq!(failed_login_ip(&proxied, &spoof).await, "203.0.113.7", "Forwarded is not the configured header");
    let only_forwarded = [("forwarded", "for=198.51.100.2")];
    assert_eq!(failed_login_ip(&proxied, &only_forwarded).await, "127.0.0.1", "a client's own Forwarded is ignored");

    let env = [("VEZA_TRUSTED_PROXIES", "127.0.0.1"), ("VEZA_FORWARDED_HEADER", "forwarded")];
    let rfc7239 = TestServer::start_with(BIN, veza_testkit::db::TestDb::sqlite(), &env).await;
    rfc7239.register("nova").await;
    assert_eq!(failed_login_ip(&rfc7239, &spoof).await, "198.51.100.2");
    assert_eq!(failed_login_ip(&proxied, &[("x-forwarded-for", "garbage")]).await, "127.0.0.1");
}

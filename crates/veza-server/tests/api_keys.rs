//! Scoped API keys over HTTP, on SQLite and PostgreSQL.

use serde_json::{json, Value};
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::{read, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().expect("access token").to_string()
}

async fn with_key(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    header: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s.client.request(method, s.url(path));
    req = if header == "x-api-key" { req.header("x-api-key", key) } else { req.bearer_auth(key) };
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.expect("request")).await
}

on_both_databases!(keys_work_within_their_scopes, keys_never_exceed_their_owner);

async fn keys_work_within_their_scopes(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let session = access(&s.register("nova").await);

    let res = s
        .client
        .post(s.url("/api/v1/me/api-keys"))
        .bearer_auth(&session)
        .json(&json!({"name": "backup script", "scopes": ["profile:read"]}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().expect("ascii").to_string();
    let created: Value = res.json().await.expect("json");
    let key = created["secret"].as_str().expect("secret").to_string();
    assert!(key.starts_with(&format!("vz_{}_", created["key"]["id"].as_str().expect("id"))), "{key}");
    assert_eq!(location, format!("/api/v1/me/api-keys/{}", created["key"]["id"].as_str().expect("id")));

    for header in ["authorization", "x-api-key"] {
        let (status, me) = with_key(&s, reqwest::Method::GET, "/api/v1/me", header, &key, None).await;
        assert_eq!((status, me["username"].as_str()), (200, Some("nova")), "{header}: {me}");
    }
    let (status, p) =
        with_key(&s, reqwest::Method::PATCH, "/api/v1/me", "authorization", &key, Some(json!({"bio": "x"}))).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("insufficient_scope")), "{p}");
    assert!(p["detail"].as_str().expect("detail").contains("profile:write"), "names the missing scope: {p}");
    let (status, p) = with_key(&s, reqwest::Method::GET, "/api/v1/admin/users", "x-api-key", &key, None).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("insufficient_scope")));
    let (status, p) = with_key(
        &s,
        reqwest::Method::POST,
        "/api/v1/me/api-keys",
        "authorization",
        &key,
        Some(json!({"name": "child", "scopes": ["profile:write"]})),
    )
    .await;
    assert_eq!((status, p["code"].as_str()), (403, Some("forbidden")), "a key cannot mint keys: {p}");

    let (status, keys) = s.get("/api/v1/me/api-keys", Some(&session)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (keys[0]["name"].as_str(), keys[0]["last_used_ip"].as_str()),
        (Some("backup script"), Some("127.0.0.1"))
    );
    assert!(keys[0]["last_used_at"].is_string() && !keys.to_string().contains(&key[10..]), "no secret in listings");

    let last = if key.ends_with('A') { 'B' } else { 'A' };
    let tampered = format!("{}{last}", &key[..key.len() - 1]);
    for bad in
        ["vz_", "vz_abc_def", "vz_1_short", tampered.as_str(), "vz_99999_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
    {
        let (status, p) = with_key(&s, reqwest::Method::GET, "/api/v1/me", "x-api-key", bad, None).await;
        assert_eq!((status, p["code"].as_str()), (401, Some("invalid_token")), "{bad}: {p}");
    }

    let res = s.client.delete(s.url(&location)).bearer_auth(&session).send().await.expect("revoke");
    assert_eq!(res.status(), 204);
    let (status, p) = with_key(&s, reqwest::Method::GET, "/api/v1/me", "authorization", &key, None).await;
    assert_eq!((status, p["detail"].as_str()), (401, Some("token refused: revoked")));
    assert_eq!(s.client.delete(s.url(&location)).bearer_auth(&session).send().await.expect("again").status(), 404);

    let (_, events) = s.get("/api/v1/me/security-events?limit=10", Some(&session)).await;
    let actions: Vec<&str> =
        events["items"].as_array().expect("items").iter().map(|e| e["action"].as_str().expect("a")).collect();
    assert_eq!(actions[..3], ["api_key.revoked", "api_key.used", "api_key.created"], "{events}");

    for (body, code) in [
        (json!({"name": "x", "scopes": []}), "validation_failed"),
        (json!({"name": "x", "scopes": ["root"]}), "invalid_body"),
        (json!({"name": "  ", "scopes": ["chat:read"]}), "validation_failed"),
        (json!({"name": "x", "scopes": ["chat:read"], "expires_in_days": 0}), "invalid_body"),
        (json!({"name": "x", "scopes": ["chat:read"], "expires_in_days": 1.5}), "invalid_body"),
        (json!({"name": "x", "scopes": ["chat:read"], "expires_at": "2001-01-01T00:00:00Z"}), "invalid_body"),
        (json!({"name": "x", "scopes": ["admin"]}), "validation_failed"),
    ] {
        let (status, p) = s.post("/api/v1/me/api-keys", &body, Some(&session)).await;
        assert_eq!((status, p["code"].as_str()), (422, Some(code)), "{body}: {p}");
    }
}

async fn keys_never_exceed_their_owner(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let root = access(&s.admin("root").await);
    let boss = s.admin("boss").await;
    let boss_id = boss["user"]["id"].as_str().expect("id").to_string();
    let (status, created) = s
        .post("/api/v1/me/api-keys", &json!({"name": "ops", "scopes": ["admin", "profile:read"]}), Some(&access(&boss)))
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["secret"].as_str().expect("secret").to_string();
    assert_eq!(with_key(&s, reqwest::Method::GET, "/api/v1/admin/users", "x-api-key", &key, None).await.0, 200);

    // Demoted, the owner's key keeps its other scopes but loses `admin`.
    let path = format!("/api/v1/admin/users/{boss_id}");
    assert_eq!(s.patch(&path, &json!({"role": "user"}), Some(&root)).await.0, 200);
    let (status, p) = with_key(&s, reqwest::Method::GET, "/api/v1/admin/users", "x-api-key", &key, None).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("insufficient_scope")), "{p}");
    assert_eq!(with_key(&s, reqwest::Method::GET, "/api/v1/me", "x-api-key", &key, None).await.0, 200);

    // Disabled, the owner's keys die with the account.
    assert_eq!(s.patch(&path, &json!({"disabled_reason": "left"}), Some(&root)).await.0, 200);
    assert_eq!(s.patch(&path, &json!({"disabled_reason": null}), Some(&root)).await.0, 200);
    let (status, p) = with_key(&s, reqwest::Method::GET, "/api/v1/me", "x-api-key", &key, None).await;
    assert_eq!(
        (status, p["detail"].as_str()),
        (401, Some("token refused: revoked")),
        "re-enabling does not revive keys: {p}"
    );
}

#[tokio::test]
async fn keys_may_expire() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let session = access(&s.register("nova").await);
    for days in [json!(30), json!(30.0)] {
        let (status, created) = s
            .post(
                "/api/v1/me/api-keys",
                &json!({"name": "temp", "scopes": ["chat:read"], "expires_in_days": days}),
                Some(&session),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let expires = time::OffsetDateTime::parse(
            created["key"]["expires_at"].as_str().expect("expiry"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("rfc3339");
        let days = (expires - time::OffsetDateTime::now_utc()).whole_days();
        assert!((29..=30).contains(&days), "{days}");
    }
}

#[tokio::test]
async fn a_token_of_an_ended_session_cannot_mint_a_key() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let session = access(&s.register("nova").await);
    assert_eq!(s.post("/api/v1/auth/logout-all", &json!({}), Some(&session)).await.0, 200);
    // The access token itself is still unexpired, but its session is over.
    let (status, p) =
        s.post("/api/v1/me/api-keys", &json!({"name": "late", "scopes": ["profile:read"]}), Some(&session)).await;
    assert_eq!((status, p["code"].as_str()), (401, Some("invalid_token")), "{p}");
}

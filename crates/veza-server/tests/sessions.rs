//! Managing one's own sessions over HTTP, on SQLite and PostgreSQL.

use serde_json::{json, Value};
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::{read, TestServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

async fn login_from(s: &TestServer, user_agent: &str) -> Value {
    let res = s
        .client
        .post(s.url("/api/v1/auth/login"))
        .header("user-agent", user_agent)
        .json(&json!({"login": "nova", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    read(res).await.1
}

fn token(body: &Value, which: &str) -> String {
    body["tokens"][which].as_str().expect("token").to_string()
}

on_both_databases!(users_see_and_end_their_sessions);

async fn users_see_and_end_their_sessions(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    s.register("nova").await;
    let laptop = login_from(&s, "Laptop/1.0").await;
    let phone = login_from(&s, "Phone/2.0").await;
    let me = token(&laptop, "access_token");

    let (status, list) = s.get("/api/v1/me/sessions", Some(&me)).await;
    assert_eq!(status, 200, "{list}");
    let sessions = list.as_array().expect("array");
    assert_eq!(sessions.len(), 3, "{list}");
    assert_eq!(sessions[0]["user_agent"], "Phone/2.0", "newest first");
    let current: Vec<&Value> = sessions.iter().filter(|x| x["current"] == true).collect();
    assert_eq!((current.len(), current[0]["user_agent"].as_str()), (1, Some("Laptop/1.0")));
    assert_eq!(sessions[0]["ip"], "127.0.0.1");

    let phone_id = phone["tokens"]["session_id"].as_str().expect("sid");
    let res = s
        .client
        .delete(s.url(&format!("/api/v1/me/sessions/{phone_id}")))
        .bearer_auth(&me)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    assert_eq!(
        s.post("/api/v1/auth/refresh", &json!({"refresh_token": token(&phone, "refresh_token")}), None).await.0,
        401
    );
    let res = s
        .client
        .delete(s.url(&format!("/api/v1/me/sessions/{phone_id}")))
        .bearer_auth(&me)
        .send()
        .await
        .expect("again");
    assert_eq!(res.status(), 404, "already ended");

    // Someone else's session is not yours to see or end.
    let other = s.register("echo").await;
    let other_sid = other["tokens"]["session_id"].as_str().expect("sid");
    let res = s
        .client
        .delete(s.url(&format!("/api/v1/me/sessions/{other_sid}")))
        .bearer_auth(&me)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 404);
    assert_eq!(
        s.post("/api/v1/auth/refresh", &json!({"refresh_token": token(&other, "refresh_token")}), None).await.0,
        200
    );

    let (status, body) = s.post("/api/v1/me/sessions/revoke-others", &json!({}), Some(&me)).await;
    assert_eq!((status, body["revoked_sessions"].as_u64()), (200, Some(1)), "{body}");
    let (_, list) = s.get("/api/v1/me/sessions", Some(&me)).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(
        s.post("/api/v1/auth/refresh", &json!({"refresh_token": token(&laptop, "refresh_token")}), None).await.0,
        200,
        "the current one lives"
    );

    let (_, key) = s.post("/api/v1/me/api-keys", &json!({"name": "k", "scopes": ["profile:read"]}), Some(&me)).await;
    let key = key["secret"].as_str().expect("secret").to_string();
    let (status, p) = s.get("/api/v1/me/sessions", Some(&key)).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("forbidden")), "keys cannot see sessions");

    let (_, events) = s.get("/api/v1/me/security-events?action=auth.session.revoked", Some(&me)).await;
    assert_eq!(events["items"][0]["detail"]["session_id"].as_str(), Some(phone_id));
}

//! Accounts and tokens over real HTTP, on SQLite and PostgreSQL.

use serde_json::{json, Value};
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::{TestServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

fn token(body: &Value, which: &str) -> String {
    body["tokens"][which]
        .as_str()
        .or_else(|| body[which].as_str())
        .unwrap_or_else(|| panic!("no {which} in {body}"))
        .to_string()
}

on_both_databases!(
    register_login_and_profile,
    register_refuses_duplicates_and_bad_fields,
    login_failures_look_alike,
    refresh_rotates_and_replay_revokes_the_family,
    logout_and_logout_all,
    security_events_and_admin_audit,
);

async fn register_login_and_profile(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let res = s
        .client
        .post(s.url("/api/v1/auth/register"))
        .json(&json!({"username": "Nova.Beats", "email": "Nova@Example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().expect("ascii").to_string();
    let body: Value = res.json().await.expect("json");
    let id = body["user"]["id"].as_str().expect("id is a string").to_string();
    assert_eq!(location, format!("/api/v1/users/{id}"));
    assert_eq!(body["user"]["username"], "nova.beats");
    assert_eq!(body["user"]["role"], "user");
    assert_eq!(body["tokens"]["token_type"], "Bearer");
    assert!(body["tokens"]["expires_in"].as_i64().expect("number") > 890);

    // Log in with either identifier, in any case.
    for login in ["NOVA.BEATS", "nova@example.COM"] {
        let (status, body) = s.post("/api/v1/auth/login", &json!({"login": login, "password": PASSWORD}), None).await;
        assert_eq!(status, 200, "{login}: {body}");
    }
    let access = token(&body, "access_token");
    let (status, me) = s.get("/api/v1/me", Some(&access)).await;
    assert_eq!((status, me["email"].as_str()), (200, Some("Nova@Example.com")));

    let patch = json!({"display_name": "Nova ✨", "bio": "beats\nand bass", "links": ["https://nova.example"], "location": "Lyon"});
    let (status, me) = s.patch("/api/v1/me", &patch, Some(&access)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["display_name"].as_str(), me["links"][0].as_str()), (Some("Nova ✨"), Some("https://nova.example")));
    // null clears, absence keeps.
    let (_, me) = s.patch("/api/v1/me", &json!({"location": null}), Some(&access)).await;
    assert_eq!((me["location"].clone(), me["bio"].as_str()), (Value::Null, Some("beats\nand bass")));

    let (status, public) = s.get(&location, None).await;
    assert_eq!((status, public["display_name"].as_str()), (200, Some("Nova ✨")));
    assert!(public.get("email").is_none(), "public profiles hide the email: {public}");
    let (status, by_name) = s.get("/api/v1/users/by-username/NOVA.beats", None).await;
    assert_eq!((status, by_name["id"].as_str()), (200, Some(id.as_str())));
    assert_eq!(s.get("/api/v1/users/by-username/nobody", None).await.0, 404);
    assert_eq!(s.get("/api/v1/users/123", None).await.0, 404);
    assert_eq!(s.get("/api/v1/users/not-a-number", None).await.0, 404);
}

async fn register_refuses_duplicates_and_bad_fields(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    s.register("nova").await;
    let (status, p) = s
        .post(
            "/api/v1/auth/register",
            &json!({"username": "NOVA", "email": "x@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        (status, p["code"].as_str(), p["errors"][0]["field"].as_str()),
        (409, Some("conflict"), Some("username"))
    );
    let (status, p) = s
        .post(
            "/api/v1/auth/register",
            &json!({"username": "nova2", "email": "NOVA@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (409, Some("email")));

    let (status, p) = s
        .post("/api/v1/auth/register", &json!({"username": "a b", "email": "nope", "password": "password1"}), None)
        .await;
    assert_eq!((status, p["code"].as_str()), (422, Some("validation_failed")), "{p}");
    let fields: Vec<(&str, &str)> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].as_str().expect("field"), e["code"].as_str().expect("code")))
        .collect();
    assert_eq!(fields, [("username", "invalid_chars"), ("email", "invalid"), ("password", "too_common")]);
}

async fn login_failures_look_alike(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    s.register("nova").await;
    let (s1, wrong) =
        s.post("/api/v1/auth/login", &json!({"login": "nova", "password": "not-the-password"}), None).await;
    let (s2, unknown) = s.post("/api/v1/auth/login", &json!({"login": "ghost", "password": PASSWORD}), None).await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown, "the same error for a wrong password and an unknown account");
    assert_eq!(wrong["code"], "invalid_credentials");
    let (s3, _) = s.post("/api/v1/auth/login", &json!({"login": "x".repeat(5_000), "password": PASSWORD}), None).await;
    assert_eq!(s3, 401);
    // Past the auth routes' 8 KiB body limit, the body is not even read.
    let (s4, _) = s.post("/api/v1/auth/login", &json!({"login": "x".repeat(10_000), "password": PASSWORD}), None).await;
    assert_eq!(s4, 413);
}

async fn refresh_rotates_and_replay_revokes_the_family(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let reg = s.register("nova").await;
    let r0 = token(&reg, "refresh_token");
    let (status, t1) = s.post("/api/v1/auth/refresh", &json!({"refresh_token": r0}), None).await;
    assert_eq!(status, 200, "{t1}");
    let r1 = token(&t1, "refresh_token");
    assert_ne!(r0, r1);
    let (_, t2) = s.post("/api/v1/auth/refresh", &json!({"refresh_token": r1}), None).await;
    let r2 = token(&t2, "refresh_token");

    // An attacker replays the first token: refused, and the whole family dies.
    let (status, p) = s.post("/api/v1/auth/refresh", &json!({"refresh_token": r0}), None).await;
    assert_eq!((status, p["code"].as_str()), (401, Some("invalid_token")), "{p}");
    assert!(p["detail"].as_str().expect("detail").contains("already used"));
    let (status, _) = s.post("/api/v1/auth/refresh", &json!({"refresh_token": r2}), None).await;
    assert_eq!(status, 401, "the newest descendant is revoked too");

    // Another session of the same user is untouched.
    let (_, other) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    let (status, _) =
        s.post("/api/v1/auth/refresh", &json!({"refresh_token": token(&other, "refresh_token")}), None).await;
    assert_eq!(status, 200);

    // The reuse is in the audit log, visible to the user.
    let (_, events) = s
        .get("/api/v1/me/security-events?action=auth.token.reuse_detected", Some(&token(&other, "access_token")))
        .await;
    assert_eq!(events["items"].as_array().map(Vec::len), Some(1), "{events}");

    for bad in ["", "garbage", &"x".repeat(500)] {
        let (status, _) = s.post("/api/v1/auth/refresh", &json!({"refresh_token": bad}), None).await;
        assert_eq!(status, 401, "{bad:?}");
    }
}

async fn logout_and_logout_all(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let a = s.register("nova").await;
    let (_, b) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    let (_, c) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;

    let (status, _) = s.post("/api/v1/auth/logout", &json!({"refresh_token": token(&a, "refresh_token")}), None).await;
    assert_eq!(status, 204);
    let (status, _) = s.post("/api/v1/auth/logout", &json!({"refresh_token": token(&a, "refresh_token")}), None).await;
    assert_eq!(status, 204, "logging out twice is fine");
    assert_eq!(
        s.post("/api/v1/auth/refresh", &json!({"refresh_token": token(&a, "refresh_token")}), None).await.0,
        401
    );

    let (status, body) = s.post("/api/v1/auth/logout-all", &json!({}), Some(&token(&b, "access_token"))).await;
    assert_eq!((status, body["revoked_sessions"].as_u64()), (200, Some(2)), "{body}");
    for t in [&b, &c] {
        assert_eq!(
            s.post("/api/v1/auth/refresh", &json!({"refresh_token": token(t, "refresh_token")}), None).await.0,
            401
        );
    }
    assert_eq!(s.post("/api/v1/auth/logout-all", &json!({}), None).await.0, 401);
}

async fn security_events_and_admin_audit(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let nova = s.register("nova").await;
    let nova_id = nova["user"]["id"].as_str().expect("id").to_string();
    s.post("/api/v1/auth/login", &json!({"login": "nova", "password": "wrong-password"}), None).await;
    let nova_access = token(&nova, "access_token");

    // Security events: the user's own, newest first, never a secret.
    let (status, events) = s.get("/api/v1/me/security-events", Some(&nova_access)).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> =
        events["items"].as_array().expect("items").iter().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(
        actions,
        ["auth.login.failed", "auth.email.verification_sent", "auth.login.succeeded", "user.registered"]
    );
    let failed = &events["items"][0];
    assert_eq!(
        (failed["detail"]["reason"].as_str(), failed["ip"].as_str()),
        (Some("wrong_password"), Some("127.0.0.1"))
    );
    assert!(failed["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(!events.to_string().contains(PASSWORD) && !events.to_string().contains("wrong-password"));

    // The admin log is for admins only.
    let (status, p) = s.get("/api/v1/admin/audit", Some(&nova_access)).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("forbidden")));

    // An admin made from the command line, against the same database.
    let admin = s.admin("root").await;
    let admin_access = token(&admin, "access_token");

    // nova acted three times: registered, logged in, was sent a verification mail.
    let (status, log) = s.get(&format!("/api/v1/admin/audit?actor={nova_id}&limit=2"), Some(&admin_access)).await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["items"].as_array().map(Vec::len), Some(2));
    let cursor = log["next_cursor"].as_str().expect("a second page exists");
    let (_, rest) =
        s.get(&format!("/api/v1/admin/audit?actor={nova_id}&limit=2&before={cursor}"), Some(&admin_access)).await;
    let first_page: Vec<&Value> = log["items"].as_array().expect("items").iter().collect();
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1), "{rest}");
    assert!(rest["items"].as_array().expect("items").iter().all(|e| !first_page.contains(&e)), "pages do not overlap");
    assert!(rest["next_cursor"].is_null(), "the last page has no cursor");

    let (_, created) = s.get("/api/v1/admin/audit?action=admin.user_created", Some(&admin_access)).await;
    assert_eq!(created["items"][0]["detail"]["role"], "admin");
    let (_, none) = s.get("/api/v1/admin/audit?since=2999-01-01T00:00:00Z", Some(&admin_access)).await;
    assert_eq!(none["items"], json!([]));

    for (query, field) in [
        ("actor=abc", "actor"),
        ("action=nope", "action"),
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
        ("before=%21%21", "before"),
    ] {
        let (status, p) = s.get(&format!("/api/v1/admin/audit?{query}"), Some(&admin_access)).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{query}: {p}");
    }
    assert_eq!(s.get("/api/v1/admin/audit?limit=-1", Some(&admin_access)).await.0, 400);
}

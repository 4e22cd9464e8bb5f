//! Account management by administrators over HTTP, on SQLite and PostgreSQL.

use serde_json::{json, Value};
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::{TestServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().expect("access token").to_string()
}

fn names(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|u| u["username"].as_str().expect("name").to_string()).collect()
}

on_both_databases!(
    admins_list_and_change_accounts,
    the_last_admin_stays_and_bad_changes_are_refused,
    two_admins_demoting_each_other_leave_one,
    admins_end_an_accounts_sessions_without_disabling_it,
);

async fn admins_list_and_change_accounts(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let root = access(&s.admin("root").await);
    let nova = s.register("nova").await;
    s.register("echo").await;
    let nova_id = nova["user"]["id"].as_str().expect("id").to_string();

    let (status, p) = s.get("/api/v1/admin/users", Some(&access(&nova))).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("forbidden")), "{p}");

    let (status, page) = s.get("/api/v1/admin/users", Some(&root)).await;
    assert_eq!((status, names(&page)), (200, vec!["echo".into(), "nova".into(), "root".into()]), "{page}");
    assert_eq!(page["items"][0]["email"], "echo@example.com", "admins see emails");
    assert_eq!(names(&s.get("/api/v1/admin/users?q=NOV", Some(&root)).await.1), ["nova"]);
    assert_eq!(names(&s.get("/api/v1/admin/users?q=example.com&role=admin", Some(&root)).await.1), ["root"]);
    let (_, first) = s.get("/api/v1/admin/users?limit=2", Some(&root)).await;
    let cursor = first["next_cursor"].as_str().expect("more pages");
    assert_eq!(names(&s.get(&format!("/api/v1/admin/users?limit=2&before={cursor}"), Some(&root)).await.1), ["root"]);

    // Promote, then disable: the account's sessions end and it cannot log in.
    let path = format!("/api/v1/admin/users/{nova_id}");
    let (status, u) = s.patch(&path, &json!({"role": "moderator"}), Some(&root)).await;
    assert_eq!((status, u["role"].as_str()), (200, Some("moderator")), "{u}");
    let (status, u) = s.patch(&path, &json!({"disabled_reason": "spam reports"}), Some(&root)).await;
    assert_eq!(
        (status, u["disabled"].as_bool(), u["disabled_reason"].as_str()),
        (200, Some(true), Some("spam reports"))
    );
    let refresh = nova["tokens"]["refresh_token"].as_str().expect("refresh");
    assert_eq!(s.post("/api/v1/auth/refresh", &json!({"refresh_token": refresh}), None).await.0, 401);
    let (status, _) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    assert_eq!(status, 403);
    assert_eq!(names(&s.get("/api/v1/admin/users?state=disabled", Some(&root)).await.1), ["nova"]);
    assert_eq!(names(&s.get("/api/v1/admin/users?state=enabled", Some(&root)).await.1), ["echo", "root"]);

    let (status, u) = s.patch(&path, &json!({"disabled_reason": null}), Some(&root)).await;
    assert_eq!((status, u["disabled"].as_bool()), (200, Some(false)));
    assert_eq!(s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await.0, 200);

    // An empty change changes nothing and records nothing.
    let (status, _) = s.patch(&path, &json!({}), Some(&root)).await;
    assert_eq!(status, 200);
    let root_id = s.get("/api/v1/me", Some(&root)).await.1["id"].as_str().expect("id").to_string();
    let (_, log) = s.get(&format!("/api/v1/admin/audit?actor={root_id}"), Some(&root)).await;
    let actions: Vec<&str> =
        log["items"].as_array().expect("items").iter().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(actions[..3], ["admin.user_enabled", "admin.user_disabled", "admin.user_role_changed"], "{log}");
    let role_change = &log["items"][2];
    assert_eq!(
        (role_change["detail"]["from"].as_str(), role_change["detail"]["to"].as_str()),
        (Some("user"), Some("moderator"))
    );
    assert_eq!(role_change["target_id"].as_str(), Some(nova_id.as_str()));
}

async fn the_last_admin_stays_and_bad_changes_are_refused(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let root = access(&s.admin("root").await);
    let root_id = s.get("/api/v1/me", Some(&root)).await.1["id"].as_str().expect("id").to_string();
    let me = format!("/api/v1/admin/users/{root_id}");
    for (body, field) in [(json!({"role": "user"}), "role"), (json!({"disabled_reason": "leaving"}), "disabled_reason")]
    {
        let (status, p) = s.patch(&me, &body, Some(&root)).await;
        assert_eq!(
            (status, p["errors"][0]["field"].as_str(), p["errors"][0]["code"].as_str()),
            (409, Some(field), Some("last_admin")),
            "{p}"
        );
    }

    // With a second admin, the first may step down — and loses admin access at once.
    let nova = s.register("nova").await;
    let nova_path = format!("/api/v1/admin/users/{}", nova["user"]["id"].as_str().expect("id"));
    assert_eq!(s.patch(&nova_path, &json!({"role": "admin"}), Some(&root)).await.0, 200);
    let (status, u) = s.patch(&me, &json!({"role": "user"}), Some(&root)).await;
    assert_eq!((status, u["role"].as_str()), (200, Some("user")));
    assert_eq!(s.get("/api/v1/admin/users", Some(&root)).await.0, 403);

    let admin = access(&nova);
    let bad = [
        (json!({"role": "superuser"}), 422, "invalid_body"),
        (json!({"disabled_reason": "   "}), 422, "validation_failed"),
        (json!({"disabled_reason": "a\u{7}b"}), 422, "validation_failed"),
        (json!({"disabled_reason": "x".repeat(501)}), 422, "validation_failed"),
        (json!({"disabled": true}), 422, "invalid_body"),
    ];
    for (body, status, code) in bad {
        let (got, p) = s.patch(&nova_path, &body, Some(&admin)).await;
        assert_eq!((got, p["code"].as_str()), (status, Some(code)), "{body}: {p}");
    }
    assert_eq!(s.patch("/api/v1/admin/users/123", &json!({"role": "user"}), Some(&admin)).await.0, 404);
    let (status, p) = s.get("/api/v1/admin/users?role=root", Some(&admin)).await;
    assert_eq!((status, p["code"].as_str()), (400, Some("invalid_query")));
    let (status, p) = s.get("/api/v1/admin/users?limit=500", Some(&admin)).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("limit")));
}

/// The last-admin rule holds under concurrency: two admins demoting each other at the same moment
/// cannot both succeed, whatever the interleaving.
async fn two_admins_demoting_each_other_leave_one(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let a = s.admin("alpha").await;
    let b = s.admin("bravo").await;
    let (path_a, path_b) = (
        format!("/api/v1/admin/users/{}", a["user"]["id"].as_str().expect("id")),
        format!("/api/v1/admin/users/{}", b["user"]["id"].as_str().expect("id")),
    );
    let (token_a, token_b) = (access(&a), access(&b));
    let demote = json!({"role": "user"});
    for round in 0..5 {
        let (ra, rb) =
            tokio::join!(s.patch(&path_b, &demote, Some(&token_a)), s.patch(&path_a, &demote, Some(&token_b)));
        let mut statuses = [ra.0, rb.0];
        statuses.sort_unstable();
        assert!(statuses == [200, 403] || statuses == [200, 409], "round {round}: {ra:?} {rb:?}");
        // Whoever is still admin promotes the other again for the next round.
        let (admin, other) = if ra.0 == 200 { (&token_a, &path_b) } else { (&token_b, &path_a) };
        assert_eq!(s.patch(other, &json!({"role": "admin"}), Some(admin)).await.0, 200);
    }
}

async fn admins_end_an_accounts_sessions_without_disabling_it(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let root = access(&s.admin("root").await);
    let nova = s.register("nova").await;
    let (_, second) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    let nova_id = nova["user"]["id"].as_str().expect("id");
    let path = format!("/api/v1/admin/users/{nova_id}/sessions");

    let (status, p) = s.delete(&path, Some(&access(&nova))).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("forbidden")), "{p}");
    let (status, ended) = s.delete(&path, Some(&root)).await;
    assert_eq!((status, ended["revoked_sessions"].as_u64()), (200, Some(2)), "{ended}");
    for body in [&nova, &second] {
        let refresh = body["tokens"]["refresh_token"].as_str().expect("refresh");
        assert_eq!(s.post("/api/v1/auth/refresh", &json!({"refresh_token": refresh}), None).await.0, 401);
    }
    let (status, _) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    assert_eq!(status, 200, "the account itself stays enabled");
    let (status, _) = s.delete("/api/v1/admin/users/123/sessions", Some(&root)).await;
    assert_eq!(status, 404);
    let (_, log) = s.get("/api/v1/admin/audit?action=admin.sessions_revoked", Some(&root)).await;
    assert_eq!(log["items"][0]["target_id"].as_str(), Some(nova_id), "{log}");
}

#[tokio::test]
async fn administrators_need_two_factor_authentication_by_default() {
    let env = [("VEZA_ADMINS_REQUIRE_2FA", "true")];
    let s = TestServer::start_with(BIN, veza_testkit::db::TestDb::sqlite(), &env).await;
    let root = access(&s.admin("root").await);
    let (status, p) = s.get("/api/v1/admin/users", Some(&root)).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("forbidden")), "{p}");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("two-factor")), "the answer says what to do: {p}");

    let (_, setup) = s.post("/api/v1/me/2fa/totp/setup", &json!({}), Some(&root)).await;
    let secret = setup["secret"].as_str().expect("secret");
    let body = json!({"code": veza_testkit::totp::code(secret, 0), "current_password": "admin-password-long-enough"});
    let (status, enabled) = s.post("/api/v1/me/2fa/totp/enable", &body, Some(&root)).await;
    assert_eq!(status, 200, "{enabled}");
    let (status, page) = s.get("/api/v1/admin/users", Some(&root)).await;
    assert_eq!(status, 200, "with 2FA on, the same session may: {page}");
}

//! Address verification, password recovery and change, email change and TOTP 2FA over real
//! HTTP, on SQLite and PostgreSQL, with the links read from the mail Veza actually writes and
//! the codes computed by an independent TOTP implementation (pyotp) from the secret Veza hands
//! out, whose QR code is decoded back by zbarimg.

use base64::Engine;
use serde_json::{json, Value};
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::outbox;
use veza_testkit::server::{TestServer, PASSWORD};
use veza_testkit::totp::{code, now_secs, pyotp};

const BIN: &str = env!("CARGO_BIN_EXE_veza");
const NOVA: &str = "nova@example.com";
const VERIFY: &str = "Confirm your email address for Veza";
const RESET: &str = "Reset your Veza password";

on_both_databases!(
    verification_links_work_once,
    recovery_never_tells_who_exists_and_resets_once,
    password_and_email_changes_end_the_other_sessions,
    totp_codes_from_pyotp_and_the_qr_code_round_trip,
    a_totp_code_is_accepted_once_even_by_parallel_logins,
    a_magic_link_works_once_and_only_with_its_nonce,
);

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

fn refresh(body: &Value) -> String {
    body["tokens"]["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh token in {body}")).to_string()
}

async fn login(s: &TestServer, password: &str) -> (u16, Value) {
    s.post("/api/v1/auth/login", &json!({"login": "nova", "password": password}), None).await
}

async fn reset(s: &TestServer, token: &str, password: &str) -> (u16, Value) {
    s.post("/api/v1/auth/password/reset", &json!({"token": token, "new_password": password}), None).await
}

async fn change_password(s: &TestServer, access: &str, current: &str, new: &str) -> (u16, Value) {
    let body = json!({"current_password": current, "new_password": new});
    s.post("/api/v1/me/password", &body, Some(access)).await
}

async fn submit_code(s: &TestServer, mfa_token: &str, code: &str) -> (u16, Value) {
    s.post("/api/v1/auth/login/mfa", &json!({"mfa_token": mfa_token, "code": code}), None).await
}

async fn refresh_status(s: &TestServer, token: &str) -> u16 {
    s.post("/api/v1/auth/refresh", &json!({"refresh_token": token}), None).await.0
}

async fn verification_links_work_once(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let nova = s.register("nova").await;
    assert_eq!(nova["user"]["email_verified"], false);
    let mail = outbox::wait_for(&s.data_dir().join("outbox"), NOVA, VERIFY, 1).await;
    assert!(mail[0].contains("/verify-email?token="), "{}", mail[0]);
    let token = outbox::link_token(&mail[0]);

    let (status, _) = s.post("/api/v1/auth/email/verify", &json!({"token": token}), None).await;
    assert_eq!(status, 204);
    let (_, me) = s.get("/api/v1/me", Some(&access(&nova))).await;
    assert_eq!(me["email_verified"], true);
    for (presented, code) in [(token.as_str(), "token_used"), ("forged-token", "token_invalid"), ("", "token_invalid")]
    {
        let (status, p) = s.post("/api/v1/auth/email/verify", &json!({"token": presented}), None).await;
        assert_eq!((status, p["code"].as_str()), (400, Some(code)), "{presented:?}: {p}");
    }
    let (status, p) = s.post("/api/v1/me/email/verification", &json!({}), Some(&access(&nova))).await;
    assert_eq!((status, p["code"].as_str()), (409, Some("conflict")), "{p}");

    // Every refusal is in the log, against the owner when the token was theirs.
    let (_, events) = s.get("/api/v1/me/security-events?action=auth.account_token.refused", Some(&access(&nova))).await;
    assert_eq!(events["items"].as_array().map(Vec::len), Some(1), "{events}");
}

async fn recovery_never_tells_who_exists_and_resets_once(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let nova = s.register("nova").await;
    let outbox_dir = s.data_dir().join("outbox");

    let (status, p) = s.post("/api/v1/auth/password/forgot", &json!({"email": "not an address"}), None).await;
    assert_eq!(status, 422, "{p}");
    for email in ["ghost@example.com", "NOVA@example.com"] {
        let (status, body) = s.post("/api/v1/auth/password/forgot", &json!({"email": email}), None).await;
        assert_eq!((status, body), (202, Value::Null), "{email}: the same answer either way");
    }
    let mail = outbox::wait_for(&outbox_dir, NOVA, RESET, 1).await;
    let token = outbox::link_token(&mail[0]);
    assert!(outbox::messages_to(&outbox_dir, "ghost@example.com", RESET).is_empty());

    let (status, p) = reset(&s, &token, "password123").await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("too_common")), "{p}");
    let (status, _) = reset(&s, &token, "a-brand-new-secret").await;
    assert_eq!(status, 204);
    assert_eq!(refresh_status(&s, &refresh(&nova)).await, 401, "every session ended");
    assert_eq!(login(&s, PASSWORD).await.0, 401);
    assert_eq!(login(&s, "a-brand-new-secret").await.0, 200);
    let (status, p) = reset(&s, &token, "yet-another-secret").await;
    assert_eq!((status, p["code"].as_str()), (400, Some("token_used")), "{p}");
    outbox::wait_for(&outbox_dir, NOVA, "Your Veza password was changed", 1).await;
}

async fn password_and_email_changes_end_the_other_sessions(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let nova = s.register("nova").await;
    let (_, other) = login(&s, PASSWORD).await;
    let this = access(&nova);

    let (status, p) = change_password(&s, &this, "wrong-password", "a-brand-new-secret").await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("current_password")), "{p}");
    let (status, _) = change_password(&s, &this, PASSWORD, "a-brand-new-secret").await;
    assert_eq!(status, 204);
    assert_eq!(refresh_status(&s, &refresh(&other)).await, 401, "the other session ended");
    let (status, renewed) = s.post("/api/v1/auth/refresh", &json!({"refresh_token": refresh(&nova)}), None).await;
    assert_eq!(status, 200, "this session stays: {renewed}");

    // A new address: nothing changes until the link mailed to it is opened.
    let (_, other) = login(&s, "a-brand-new-secret").await;
    let body = json!({"email": "nova@example.org", "current_password": "a-brand-new-secret"});
    let (status, p) = s.post("/api/v1/me/email", &body, Some(&this)).await;
    assert_eq!(status, 202, "{p}");
    let outbox_dir = s.data_dir().join("outbox");
    outbox::wait_for(&outbox_dir, NOVA, "Your Veza address is about to change", 1).await;
    let mail = outbox::wait_for(&outbox_dir, "nova@example.org", VERIFY, 1).await;
    let (_, me) = s.get("/api/v1/me", Some(&this)).await;
    assert_eq!(me["email"], NOVA);
    let (status, _) = s.post("/api/v1/auth/email/verify", &json!({"token": outbox::link_token(&mail[0])}), None).await;
    assert_eq!(status, 204);
    let (_, me) = s.get("/api/v1/me", Some(&this)).await;
    assert_eq!((me["email"].as_str(), me["email_verified"].as_bool()), (Some("nova@example.org"), Some(true)));
    assert_eq!(refresh_status(&s, &refresh(&other)).await, 401, "the other session ended");
    outbox::wait_for(&outbox_dir, NOVA, "Your Veza address was changed", 1).await;

    let (_, events) = s.get("/api/v1/me/security-events?limit=100", Some(&this)).await;
    let actions: Vec<&str> =
        events["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in
        ["auth.password.changed", "auth.email.change_requested", "auth.email.verified", "auth.email.changed"]
    {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
}

/// Sets up and enables TOTP for the caller; returns the secret and the recovery codes.
async fn enable_totp(s: &TestServer, access: &str) -> (String, Vec<String>) {
    let (status, setup) = s.post("/api/v1/me/2fa/totp/setup", &json!({}), Some(access)).await;
    assert_eq!(status, 200, "{setup}");
    let secret = setup["secret"].as_str().expect("secret").to_string();
    let (status, enabled) = s
        .post(
            "/api/v1/me/2fa/totp/enable",
            &json!({"code": code(&secret, 0), "current_password": PASSWORD}),
            Some(access),
        )
        .await;
    assert_eq!(status, 200, "{enabled}");
    let codes = enabled["recovery_codes"].as_array().expect("codes").iter().map(|c| c.as_str().expect("code").into());
    (secret, codes.collect())
}

async fn mfa_token(s: &TestServer, password: &str) -> String {
    let (status, step) = login(s, password).await;
    assert_eq!((status, step["mfa_required"].as_bool()), (200, Some(true)), "{step}");
    assert!(step.get("tokens").is_none(), "a password alone yields no tokens: {step}");
    step["mfa_token"].as_str().expect("mfa token").to_string()
}

async fn totp_codes_from_pyotp_and_the_qr_code_round_trip(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let nova = s.register("nova").await;
    let this = access(&nova);
    let (_, other) = login(&s, PASSWORD).await;

    let (status, setup) = s.post("/api/v1/me/2fa/totp/setup", &json!({}), Some(&this)).await;
    assert_eq!(status, 200, "{setup}");
    let uri = setup["otpauth_uri"].as_str().expect("uri");
    let secret = setup["secret"].as_str().expect("secret");
    assert!(uri.starts_with("otpauth://totp/Veza:nova?"), "{uri}");
    // The QR code, decoded by zbarimg, is the URI; pyotp reads the same code from either.
    let png =
        base64::engine::general_purpose::STANDARD.decode(setup["qr_png_base64"].as_str().expect("qr")).expect("b64");
    let file = tempfile::NamedTempFile::with_suffix(".png").expect("temp");
    std::fs::write(file.path(), &png).expect("write png");
    let out = std::process::Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(file.path())
        .output()
        .expect("zbarimg (scripts/test installs zbar-tools)");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), uri, "{}", String::from_utf8_lossy(&out.stderr));
    let at = now_secs().to_string();
    assert_eq!(pyotp(&["uri", uri, &at]), pyotp(&["code", secret, &at]));

    let (status, p) = s
        .post("/api/v1/me/2fa/totp/enable", &json!({"code": "000000", "current_password": PASSWORD}), Some(&this))
        .await;
    let wrong = status == 422 && p["errors"][0]["code"] == "incorrect";
    assert!(wrong || code(secret, 0) == "000000", "a wrong code is a wrong field for a signed-in caller: {p}");
    let first = code(secret, 0);
    let (status, enabled) =
        s.post("/api/v1/me/2fa/totp/enable", &json!({"code": first, "current_password": PASSWORD}), Some(&this)).await;
    assert_eq!(status, 200, "{enabled}");
    let recovery: Vec<String> =
        enabled["recovery_codes"].as_array().expect("codes").iter().map(|c| c.as_str().expect("c").into()).collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(refresh_status(&s, &refresh(&other)).await, 401, "turning 2FA on ends the other sessions");

    // Two steps now; the code that enabled 2FA is spent, the next step's is good (±1 step).
    let step = mfa_token(&s, PASSWORD).await;
    let (status, p) = submit_code(&s, &step, &first).await;
    assert_eq!((status, p["code"].as_str()), (401, Some("invalid_code")), "replayed: {p}");
    let (status, logged_in) = submit_code(&s, &step, &code(secret, 1)).await;
    assert_eq!(status, 200, "{logged_in}");
    assert!(logged_in["tokens"]["access_token"].is_string());
    let (status, p) = submit_code(&s, &step, &code(secret, 1)).await;
    assert_eq!((status, p["code"].as_str()), (400, Some("token_used")), "{p}");

    // Recovery codes: once each, however retyped.
    let step = mfa_token(&s, PASSWORD).await;
    assert_eq!(submit_code(&s, &step, &recovery[0].to_uppercase()).await.0, 200);
    let step = mfa_token(&s, PASSWORD).await;
    let (status, p) = submit_code(&s, &step, &recovery[0]).await;
    assert_eq!((status, p["code"].as_str()), (401, Some("invalid_code")), "{p}");
    let (_, status_now) = s.get("/api/v1/me/2fa", Some(&this)).await;
    assert_eq!(status_now, json!({"totp_enabled": true, "recovery_codes_left": 9}));

    // Sensitive changes now take a code; turning 2FA off takes the password and a code.
    let body = json!({"current_password": PASSWORD, "new_password": "a-brand-new-secret"});
    let (status, p) = s.post("/api/v1/me/password", &body, Some(&this)).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("code")), "{p}");
    let body = json!({"current_password": PASSWORD, "code": recovery[1]});
    let (status, _) = s.post("/api/v1/me/2fa/totp/disable", &body, Some(&this)).await;
    assert_eq!(status, 204);
    let (status, plain) = login(&s, PASSWORD).await;
    assert_eq!((status, plain["tokens"]["access_token"].is_string()), (200, true), "{plain}");

    let (_, events) = s.get("/api/v1/me/security-events?limit=100", Some(&this)).await;
    let actions: Vec<&str> =
        events["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in [
        "auth.mfa.totp_enabled",
        "auth.mfa.recovery_codes_generated",
        "auth.mfa.failed",
        "auth.mfa.recovery_code_used",
        "auth.mfa.totp_disabled",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
}

async fn a_totp_code_is_accepted_once_even_by_parallel_logins(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let nova = s.register("nova").await;
    let (secret, _) = enable_totp(&s, &access(&nova)).await;
    let mut steps = Vec::new();
    for _ in 0..8 {
        steps.push(mfa_token(&s, PASSWORD).await);
    }
    // A code one step ahead: not yet used by the enabling, and valid for the whole next minute.
    let next = code(&secret, 1);
    let mut logins = tokio::task::JoinSet::new();
    for token in steps {
        let (client, url, code) = (s.client.clone(), s.url("/api/v1/auth/login/mfa"), next.clone());
        logins.spawn(async move {
            let res = client.post(url).json(&json!({"mfa_token": token, "code": code})).send().await;
            res.expect("request").status().as_u16()
        });
    }
    let statuses = logins.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
}

async fn ask_magic_link(s: &TestServer, email: &str) -> (u16, Value) {
    s.post("/api/v1/auth/magic-link", &json!({"email": email}), None).await
}

async fn follow_magic_link(s: &TestServer, token: &str, nonce: &Value) -> (u16, Value) {
    s.post("/api/v1/auth/magic-link/verify", &json!({"token": token, "nonce": nonce}), None).await
}

async fn a_magic_link_works_once_and_only_with_its_nonce(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    s.register("nova").await;
    let outbox_dir = s.data_dir().join("outbox");
    let (status, ghost) = ask_magic_link(&s, "ghost@example.com").await;
    assert_eq!(status, 202, "{ghost}");
    let (status, asked) = ask_magic_link(&s, NOVA).await;
    assert_eq!(status, 202, "{asked}");
    assert!(ghost["nonce"].as_str().is_some_and(|n| n.len() >= 43), "a nonce either way: {ghost}");
    let mail = outbox::wait_for(&outbox_dir, NOVA, "Sign in to Veza", 1).await;
    let token = outbox::link_token(&mail[0]);
    assert!(outbox::messages_to(&outbox_dir, "ghost@example.com", "Sign in to Veza").is_empty());

    let (status, p) = follow_magic_link(&s, &token, &ghost["nonce"]).await;
    assert_eq!((status, p["code"].as_str()), (400, Some("token_foreign")), "a forwarded link: {p}");
    let (status, logged_in) = follow_magic_link(&s, &token, &asked["nonce"]).await;
    assert_eq!(status, 200, "{logged_in}");
    assert!(logged_in["tokens"]["access_token"].is_string(), "{logged_in}");
    let (status, p) = follow_magic_link(&s, &token, &asked["nonce"]).await;
    assert_eq!((status, p["code"].as_str()), (400, Some("token_used")), "{p}");
    let (status, p) = ask_magic_link(&s, "nope").await;
    assert_eq!(status, 422, "{p}");
}

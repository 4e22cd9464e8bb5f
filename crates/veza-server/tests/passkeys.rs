//! Passkeys over real HTTP, on SQLite and PostgreSQL, created and used by a real browser:
//! Chromium's WebAuthn implementation with its virtual authenticator, on the origin Veza's
//! relying party is configured with.

use serde_json::{json, Value};
use veza_testkit::browser::Browser;
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::on_both_databases;
use veza_testkit::server::{TestServer, PASSWORD};
use veza_testkit::totp::code;

const BIN: &str = env!("CARGO_BIN_EXE_veza");

on_both_databases!(
    a_passkey_made_in_the_browser_signs_in_without_password_or_username,
    a_passkey_is_a_second_factor_and_can_be_renamed_and_removed,
);

async fn start(backend: Backend) -> (TestServer, Browser) {
    let browser = Browser::start().await;
    let env = [("VEZA_APP_URL", browser.origin.as_str())];
    let server = TestServer::start_with(BIN, TestDb::new(backend).await, &env).await;
    (server, browser)
}

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

/// Adds a passkey to the account holding `token`, made by the browser's authenticator.
async fn add_passkey(s: &TestServer, browser: &mut Browser, token: &str, name: &str) -> Value {
    let (status, refused) = s.post("/api/v1/me/passkeys/options", &json!({}), Some(token)).await;
    assert_eq!((status, refused["errors"][0]["code"].as_str()), (422, Some("required")), "{refused}");
    let presence = json!({"current_password": PASSWORD});
    let (status, started) = s.post("/api/v1/me/passkeys/options", &presence, Some(token)).await;
    assert_eq!(status, 200, "{started}");
    let selection = &started["options"]["publicKey"]["authenticatorSelection"];
    assert_eq!(
        (selection["residentKey"].as_str(), selection["userVerification"].as_str()),
        (Some("required"), Some("required"))
    );
    let credential = browser.create(&started["options"]).await.expect("the browser creates a passkey");
    let body = json!({"ceremony_id": started["ceremony_id"], "name": name, "credential": credential});
    let (status, added) = s.post("/api/v1/me/passkeys", &body, Some(token)).await;
    assert_eq!(status, 201, "{added}");
    let (status, again) = s.post("/api/v1/me/passkeys", &body, Some(token)).await;
    assert_eq!((status, again["code"].as_str()), (400, Some("token_invalid")), "a ceremony works once: {again}");
    added
}

/// Starts a passkey sign-in and lets the browser answer it.
async fn assertion(s: &TestServer, browser: &mut Browser) -> (Value, Value) {
    let (status, started) = s.post("/api/v1/auth/passkeys/options", &json!({}), None).await;
    assert_eq!(status, 200, "{started}");
    let credential = browser.get(&started["options"]).await.expect("the browser signs");
    (started["ceremony_id"].clone(), credential)
}

async fn a_passkey_made_in_the_browser_signs_in_without_password_or_username(backend: Backend) {
    let (s, mut browser) = start(backend).await;
    let nova = s.register("nova").await;
    let token = access(&nova);
    let added = add_passkey(&s, &mut browser, &token, "Laptop").await;
    assert_eq!(added["name"], "Laptop");

    // The same authenticator answer cannot register twice, even for a new ceremony.
    let presence = json!({"current_password": PASSWORD});
    let (_, started) = s.post("/api/v1/me/passkeys/options", &presence, Some(&token)).await;
    let excluded = browser.create(&started["options"]).await;
    assert!(excluded.is_err(), "the browser refuses to make a second passkey on an excluded authenticator");

    let (ceremony, credential) = assertion(&s, &mut browser).await;
    let body = json!({"ceremony_id": ceremony, "credential": credential});
    let (status, signed_in) = s.post("/api/v1/auth/passkeys/login", &body, None).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["user"]["id"], nova["user"]["id"]);
    assert!(signed_in.get("mfa_required").is_none(), "a verified passkey is a whole login");

    // The same assertion again, for its spent ceremony and for a fresh one: refused.
    let (status, refused) = s.post("/api/v1/auth/passkeys/login", &body, None).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("token_invalid")), "{refused}");
    let (status, fresh) = s.post("/api/v1/auth/passkeys/options", &json!({}), None).await;
    assert_eq!(status, 200);
    let replay = json!({"ceremony_id": fresh["ceremony_id"], "credential": credential});
    let (status, refused) = s.post("/api/v1/auth/passkeys/login", &replay, None).await;
    assert_eq!((status, refused["code"].as_str()), (401, Some("invalid_credentials")), "replayed: {refused}");

    // A forged signature, and answers that are not assertions at all.
    let (ceremony, mut forged) = assertion(&s, &mut browser).await;
    let signature = forged["response"]["signature"].as_str().expect("signature").to_string();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    forged["response"]["signature"] = json!(format!("{flipped}{}", &signature[1..]));
    let (status, refused) =
        s.post("/api/v1/auth/passkeys/login", &json!({"ceremony_id": ceremony, "credential": forged}), None).await;
    assert_eq!((status, refused["code"].as_str()), (401, Some("invalid_credentials")), "forged: {refused}");
    for junk in
        [json!({}), json!({"id": 5}), json!("text"), json!({"id": "AAAA", "rawId": "AAAA", "type": "public-key"})]
    {
        let (_, started) = s.post("/api/v1/auth/passkeys/options", &json!({}), None).await;
        let body = json!({"ceremony_id": started["ceremony_id"], "credential": junk});
        let (status, refused) = s.post("/api/v1/auth/passkeys/login", &body, None).await;
        assert_eq!(status, 401, "{junk}: {refused}");
    }

    // The good sign-in moved the counter and the last use.
    let (_, listed) = s.get("/api/v1/me/passkeys", Some(&token)).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    let (_, events) = s.get("/api/v1/me/security-events", Some(&token)).await;
    let actions: Vec<&str> =
        events["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["passkey.added", "auth.account_token.refused", "auth.login.succeeded"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
}

async fn a_passkey_is_a_second_factor_and_can_be_renamed_and_removed(backend: Backend) {
    let (s, mut browser) = start(backend).await;
    let nova = s.register("nova").await;
    let token = access(&nova);
    let passkey = add_passkey(&s, &mut browser, &token, "Phone").await;
    let (_, setup) = s.post("/api/v1/me/2fa/totp/setup", &json!({}), Some(&token)).await;
    let secret = setup["secret"].as_str().expect("secret").to_string();
    let enable = json!({"code": code(&secret, 0), "current_password": PASSWORD});
    let (status, _) = s.post("/api/v1/me/2fa/totp/enable", &enable, Some(&token)).await;
    assert_eq!(status, 200);

    let (status, step) = s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await;
    assert_eq!((status, step["mfa_required"].as_bool()), (200, Some(true)), "{step}");
    assert_eq!(step["methods"], json!(["totp", "recovery_code", "passkey"]));
    let mfa = json!({"mfa_token": step["mfa_token"]});
    let (status, started) = s.post("/api/v1/auth/login/mfa/passkey/options", &mfa, None).await;
    assert_eq!(status, 200, "{started}");
    let credential = browser.get(&started["options"]).await.expect("the browser signs");
    let body = json!({"mfa_token": step["mfa_token"], "ceremony_id": started["ceremony_id"], "credential": credential});
    let (status, done) = s.post("/api/v1/auth/login/mfa/passkey", &body, None).await;
    assert_eq!((status, &done["user"]["id"]), (200, &nova["user"]["id"]), "{done}");
    let (status, spent) = s.post("/api/v1/auth/login/mfa/passkey/options", &mfa, None).await;
    assert_eq!((status, spent["code"].as_str()), (400, Some("token_used")), "{spent}");

    let id = passkey["id"].as_str().expect("id");
    let (status, renamed) =
        s.patch(&format!("/api/v1/me/passkeys/{id}"), &json!({"name": "Old phone"}), Some(&token)).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Old phone")), "{renamed}");
    let long = json!({"name": "x".repeat(65)});
    let (status, _) = s.patch(&format!("/api/v1/me/passkeys/{id}"), &long, Some(&token)).await;
    assert_eq!(status, 422);
    let (status, _) = s.delete(&format!("/api/v1/me/passkeys/{id}"), Some(&token)).await;
    assert_eq!(status, 204, "the password stays as a way in");
    let (status, _) = s.delete(&format!("/api/v1/me/passkeys/{id}"), Some(&token)).await;
    assert_eq!(status, 404);

    // The removed passkey signs nobody in any more.
    let (ceremony, credential) = assertion(&s, &mut browser).await;
    let (status, _) =
        s.post("/api/v1/auth/passkeys/login", &json!({"ceremony_id": ceremony, "credential": credential}), None).await;
    assert_eq!(status, 401);
}

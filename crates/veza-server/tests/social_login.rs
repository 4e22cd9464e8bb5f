//! Signing in with Google, GitHub and Discord over real HTTP, on SQLite and PostgreSQL, against a
//! real OAuth2 / OpenID Connect provider on localhost (oauth2-mock-server, wrapped to answer in
//! each provider's shapes and to check clients, redirect URIs, PKCE and single-use codes).

use serde_json::{json, Value};
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::oauth::{Provider, APP_URL};
use veza_testkit::on_both_databases;
use veza_testkit::outbox;
use veza_testkit::server::{TestServer, PASSWORD};
use veza_testkit::totp::code;

const BIN: &str = env!("CARGO_BIN_EXE_veza");

on_both_databases!(
    a_github_account_signs_up_once_and_keeps_its_only_way_in,
    google_id_tokens_are_checked_before_anyone_signs_in,
    a_discord_address_links_only_to_an_account_that_verified_it,
    linking_from_settings_and_flows_that_must_fail,
);

async fn start(backend: Backend) -> (TestServer, Provider) {
    let provider = Provider::start().await;
    let env = provider.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = TestServer::start_with(BIN, TestDb::new(backend).await, &env).await;
    (server, provider)
}

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

/// Starts a flow (`link`: from the settings of the account holding this access token).
async fn begin(s: &TestServer, provider: &str, link: Option<&str>) -> Value {
    let path = match link {
        None => format!("/api/v1/auth/oauth/{provider}/start"),
        Some(_) => format!("/api/v1/me/identities/{provider}/start"),
    };
    let body = match link {
        None => json!({}),
        Some(_) => json!({"current_password": PASSWORD}),
    };
    let (status, started) = s.post(&path, &body, link).await;
    assert_eq!(status, 200, "{started}");
    started
}

/// The whole round: start, sign in at the provider as `person`, post the callback. Returns the
/// callback's answer.
async fn sign_in(s: &TestServer, p: &Provider, provider: &str, person: &Value) -> (u16, Value) {
    let started = begin(s, provider, None).await;
    let back = p.authorize(started["authorization_url"].as_str().expect("url"), person).await;
    assert_eq!(back.page, format!("{APP_URL}/oauth/{provider}/callback"));
    assert_eq!(back.state.as_deref(), started["state"].as_str(), "the state comes back unchanged");
    let body = json!({"code": back.code, "state": back.state, "binding": started["binding"]});
    s.post(&format!("/api/v1/auth/oauth/{provider}/callback"), &body, None).await
}

fn octocat() -> Value {
    json!({"sub": "583231", "login": "octocat", "name": "The Octocat", "email": "octocat@example.com", "email_verified": true})
}

async fn a_github_account_signs_up_once_and_keeps_its_only_way_in(backend: Backend) {
    let (s, p) = start(backend).await;
    let (status, offered) = s.get("/api/v1/auth/oauth/providers", None).await;
    assert_eq!((status, offered), (200, json!({"providers": ["google", "github", "discord"]})));

    let started = begin(&s, "github", None).await;
    let url = started["authorization_url"].as_str().expect("url");
    for part in ["code_challenge_method=S256", "client_id=veza-github-client", "scope=read%3Auser+user%3Aemail"] {
        assert!(url.contains(part), "{part} missing from {url}");
    }
    let back = p.authorize(url, &octocat()).await;
    let callback = json!({"code": back.code, "state": back.state, "binding": started["binding"]});
    let (status, first) = s.post("/api/v1/auth/oauth/github/callback", &callback, None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["user"]["username"], "octocat");
    assert_eq!(first["user"]["email"], "octocat@example.com");
    assert_eq!(first["user"]["email_verified"], true, "GitHub vouched for the address");
    let (status, again) = s.post("/api/v1/auth/oauth/github/callback", &callback, None).await;
    assert_eq!((status, again["code"].as_str()), (400, Some("token_invalid")), "a state works once: {again}");

    let token = access(&first);
    let (status, methods) = s.get("/api/v1/me/identities", Some(&token)).await;
    assert_eq!(status, 200, "{methods}");
    assert_eq!(methods["has_password"], false);
    assert_eq!(methods["identities"][0]["provider"], "github");
    let id = methods["identities"][0]["id"].as_str().expect("id").to_string();
    let (status, p409) = s.delete(&format!("/api/v1/me/identities/{id}"), Some(&token)).await;
    assert_eq!((status, p409["errors"][0]["code"].as_str()), (409, Some("last_sign_in_method")), "{p409}");

    // The identity, not the address, finds the account; no password lets anyone in.
    let moved =
        json!({"sub": "583231", "login": "octocat", "email": "new-address@example.com", "email_verified": true});
    let (status, second) = sign_in(&s, &p, "github", &moved).await;
    assert_eq!((status, &second["user"]["id"]), (200, &first["user"]["id"]), "{second}");
    let guess = json!({"login": "octocat", "password": "anything-at-all"});
    let (status, _) = s.post("/api/v1/auth/login", &guess, None).await;
    assert_eq!(status, 401);
    let (status, problem) = s
        .post(
            "/api/v1/me/password",
            &json!({"current_password": "whatever-it-was", "new_password": "a-brand-new-secret"}),
            Some(&token),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("not_set")), "{problem}");

    // A second person with the same display name gets a name of their own.
    let twin = json!({"sub": "1", "login": "octocat", "email": "twin@example.com", "email_verified": true});
    let (status, other) = sign_in(&s, &p, "github", &twin).await;
    assert_eq!(status, 200, "{other}");
    let name = other["user"]["username"].as_str().expect("username");
    assert!(name.starts_with("octocat_") && name != "octocat", "{name}");
}

async fn google_id_tokens_are_checked_before_anyone_signs_in(backend: Backend) {
    let (s, p) = start(backend).await;
    let person = |tamper: Option<&str>| json!({"sub": "108", "name": "Vega Lyra", "email": "vega@example.com", "email_verified": true, "tamper": tamper});
    for tamper in ["nonce", "aud", "iss", "exp", "sig", "alg_none"] {
        let (status, refused) = sign_in(&s, &p, "google", &person(Some(tamper))).await;
        assert_eq!((status, refused["code"].as_str()), (502, Some("provider_invalid")), "{tamper}: {refused}");
    }
    let (status, vega) = sign_in(&s, &p, "google", &person(None)).await;
    assert_eq!(status, 200, "{vega}");
    assert_eq!(vega["user"]["username"], "vega_lyra");
    assert_eq!(vega["user"]["email_verified"], true);
    let (_, events) = s.get("/api/v1/me/security-events", Some(&access(&vega))).await;
    let actions: Vec<&str> =
        events["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["user.registered", "identity.linked", "auth.login.succeeded"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert!(!s.log_text().contains("google-client-secret"), "the client secret is never logged");
}

async fn a_discord_address_links_only_to_an_account_that_verified_it(backend: Backend) {
    let (s, p) = start(backend).await;
    let nova = s.register("nova").await;
    let person = |verified: bool| json!({"sub": "80351110224678912", "login": "nova_d", "email": "NOVA@example.com", "email_verified": verified});
    let (status, refused) = sign_in(&s, &p, "discord", &person(true)).await;
    assert_eq!((status, refused["errors"][0]["code"].as_str()), (409, Some("link_required")), "{refused}");

    let outbox_dir = s.data_dir().join("outbox");
    let mail = outbox::wait_for(&outbox_dir, "nova@example.com", "Confirm your email address for Veza", 1).await;
    let (status, _) = s.post("/api/v1/auth/email/verify", &json!({"token": outbox::link_token(&mail[0])}), None).await;
    assert_eq!(status, 204);
    let (status, refused) = sign_in(&s, &p, "discord", &person(false)).await;
    assert_eq!((status, refused["errors"][0]["code"].as_str()), (422, Some("unverified")), "{refused}");
    let stranger = json!({"sub": "1", "login": "x", "email": "nobody@example.com", "email_verified": false});
    let (status, same) = sign_in(&s, &p, "discord", &stranger).await;
    assert_eq!((status, &same["errors"]), (422, &refused["errors"]), "an unverified address tells nothing");
    let (status, linked) = sign_in(&s, &p, "discord", &person(true)).await;
    assert_eq!((status, &linked["user"]["id"]), (200, &nova["user"]["id"]), "{linked}");
    outbox::wait_for(&outbox_dir, "nova@example.com", "Discord sign-in added to your Veza account", 1).await;

    let token = access(&nova);
    let (_, methods) = s.get("/api/v1/me/identities", Some(&token)).await;
    assert_eq!(methods["has_password"], true);
    let id = methods["identities"][0]["id"].as_str().expect("id").to_string();
    let (status, _) = s.delete(&format!("/api/v1/me/identities/{id}"), Some(&token)).await;
    assert_eq!(status, 204, "the password stays as a way in");
    let (status, _) = s.delete(&format!("/api/v1/me/identities/{id}"), Some(&token)).await;
    assert_eq!(status, 404);
}

async fn linking_from_settings_and_flows_that_must_fail(backend: Backend) {
    let (s, p) = start(backend).await;
    let nova = s.register("nova").await;
    let token = access(&nova);
    let elsewhere = json!({"sub": "77", "login": "nv", "email": "someone@else.org", "email_verified": false});

    // A link flow finishes only through the settings route of the session that started it.
    let started = begin(&s, "github", Some(&token)).await;
    let back = p.authorize(started["authorization_url"].as_str().expect("url"), &elsewhere).await;
    let body = json!({"code": back.code, "state": back.state, "binding": started["binding"]});
    let (status, wrong) = s.post("/api/v1/auth/oauth/github/callback", &body, None).await;
    assert_eq!((status, wrong["code"].as_str()), (400, Some("token_invalid")), "{wrong}");

    let started = begin(&s, "github", Some(&token)).await;
    let back = p.authorize(started["authorization_url"].as_str().expect("url"), &elsewhere).await;
    let stranger = json!({"code": back.code, "state": back.state, "binding": "not-the-binding"});
    let (status, wrong) = s.post("/api/v1/me/identities/github/callback", &stranger, Some(&token)).await;
    assert_eq!((status, wrong["code"].as_str()), (400, Some("token_invalid")), "another client's: {wrong}");
    let body = json!({"code": back.code, "state": back.state, "binding": started["binding"]});
    let (status, identity) = s.post("/api/v1/me/identities/github/callback", &body, Some(&token)).await;
    assert_eq!((status, identity["provider"].as_str()), (200, Some("github")), "{identity}");
    let (status, signed_in) = sign_in(&s, &p, "github", &elsewhere).await;
    assert_eq!((status, &signed_in["user"]["id"]), (200, &nova["user"]["id"]), "{signed_in}");

    // With 2FA on, a provider is only the first step.
    let (_, setup) = s.post("/api/v1/me/2fa/totp/setup", &json!({}), Some(&token)).await;
    let secret = setup["secret"].as_str().expect("secret").to_string();
    let enable = json!({"code": code(&secret, 0), "current_password": PASSWORD});
    let (status, _) = s.post("/api/v1/me/2fa/totp/enable", &enable, Some(&token)).await;
    assert_eq!(status, 200);
    let (status, step) = sign_in(&s, &p, "github", &elsewhere).await;
    assert_eq!((status, step["mfa_required"].as_bool()), (200, Some(true)), "{step}");
    assert!(step.get("tokens").is_none());
    let finish = json!({"mfa_token": step["mfa_token"], "code": code(&secret, 1)});
    let (status, done) = s.post("/api/v1/auth/login/mfa", &finish, None).await;
    assert_eq!((status, &done["user"]["id"]), (200, &nova["user"]["id"]), "{done}");

    // A code the provider never gave, and hostile or malformed input.
    let started = begin(&s, "discord", None).await;
    let forged = json!({"code": "forged", "state": started["state"], "binding": started["binding"]});
    let (status, refused) = s.post("/api/v1/auth/oauth/discord/callback", &forged, None).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("provider_refused")), "{refused}");
    let (status, _) = s.post("/api/v1/auth/oauth/myspace/start", &json!({}), None).await;
    assert_eq!(status, 404, "unknown provider");
    for bad in [
        json!({"code": "x", "state": "y"}),
        json!({"code": 1, "state": "y", "binding": "z"}),
        json!({"code": "x", "state": "y", "binding": "z", "admin": true}),
    ] {
        let (status, problem) = s.post("/api/v1/auth/oauth/google/callback", &bad, None).await;
        assert!(status == 400 || status == 422, "{bad}: {status} {problem}");
    }
    let huge = json!({"code": "c".repeat(5000), "state": "s", "binding": "b"});
    let (status, problem) = s.post("/api/v1/auth/oauth/google/callback", &huge, None).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("token_invalid")), "{problem}");
}

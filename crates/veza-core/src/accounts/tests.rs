//! Use-case tests on the in-memory fakes.

use time::Duration;

use crate::audit::{AuditAction, AuditQuery, RequestMeta};
use crate::clock::Clock;
use crate::error::{CoreError, TokenProblem};
use crate::fakes::FakeAccounts;
use crate::page::PageRequest;
use crate::user::ProfilePatch;

use super::{Principal, RegisterInput};

fn input(name: &str) -> RegisterInput {
    RegisterInput { username: name.into(), email: format!("{name}@example.com"), password: "violet-kettle-drum".into() }
}

fn meta() -> RequestMeta {
    RequestMeta::new(Some("203.0.113.7".into()), Some("test-agent"), Some("req-1".into()))
}

/// A password login of an account without 2FA.
pub(super) async fn password_login(
    f: &FakeAccounts,
    login: &str,
    password: &str,
    meta: &RequestMeta,
) -> Result<(crate::user::User, super::TokenPair), CoreError> {
    match f.accounts.login(login, password, meta).await? {
        super::LoginOutcome::LoggedIn(user, tokens) => Ok((*user, tokens)),
        super::LoginOutcome::MfaRequired(_) => panic!("unexpected second step"),
    }
}

/// The mail queued with this subject, oldest first.
fn mail_titled(f: &FakeAccounts, subject: &str) -> Vec<crate::mail::OutgoingMail> {
    f.store.mail().into_iter().map(|m| m.mail).filter(|m| m.subject == subject).collect()
}

/// A key presented by an admitted request: authenticated, and its use recorded.
async fn admit(f: &FakeAccounts, secret: &str) -> Principal {
    let (principal, key_use) = f.accounts.authenticate_api_key(secret, &meta()).await.expect("valid key");
    if let Some(key_use) = key_use {
        f.accounts.record_key_use(key_use).await.expect("record");
    }
    principal
}

async fn actions(f: &FakeAccounts) -> Vec<AuditAction> {
    let q = AuditQuery {
        actor: None,
        involving: None,
        action: None,
        since: None,
        until: None,
        page: PageRequest { before: None, limit: 100 },
    };
    let mut v: Vec<_> =
        crate::ports::AuditRepo::list(&f.store, &q).await.expect("list").into_iter().map(|e| e.action).collect();
    v.reverse();
    v
}

#[tokio::test]
async fn register_then_login_by_username_or_email() {
    let f = FakeAccounts::new();
    let acc = f.accounts.register(input("Nova"), &meta()).await.expect("register");
    assert_eq!(acc.user.username.as_str(), "nova");
    assert!(acc.tokens.is_some());
    password_login(&f, "NOVA", "violet-kettle-drum", &meta()).await.expect("by username");
    password_login(&f, "nova@EXAMPLE.com", "violet-kettle-drum", &meta()).await.expect("by email");
    assert_eq!(
        actions(&f).await,
        [
            AuditAction::UserRegistered,
            AuditAction::LoginSucceeded,
            AuditAction::EmailVerificationSent,
            AuditAction::LoginSucceeded,
            AuditAction::LoginSucceeded
        ]
    );
}

#[tokio::test]
async fn duplicate_username_and_email_conflict() {
    let f = FakeAccounts::new();
    f.accounts.register(input("nova"), &meta()).await.expect("first");
    let err = f.accounts.register(input("NOVA"), &meta()).await.expect_err("dup");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.field == "username"), "{err:?}");
    let mut other = input("nova2");
    other.email = "Nova@Example.com".into();
    let err = f.accounts.register(other, &meta()).await.expect_err("dup email");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.field == "email"), "{err:?}");
}

#[tokio::test]
async fn register_reports_every_bad_field() {
    let f = FakeAccounts::new();
    let bad = RegisterInput { username: "x".into(), email: "nope".into(), password: "password".into() };
    let CoreError::Validation(errors) = f.accounts.register(bad, &meta()).await.expect_err("invalid") else { panic!() };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["username", "email", "password"]);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same_but_are_audited_apart() {
    let f = FakeAccounts::new();
    f.accounts.register(input("nova"), &meta()).await.expect("register");
    let a = password_login(&f, "nova", "wrong-password!", &meta()).await.expect_err("wrong");
    let b = password_login(&f, "ghost", "violet-kettle-drum", &meta()).await.expect_err("unknown");
    assert_eq!(a.to_string(), b.to_string());
    let q = AuditQuery {
        actor: None,
        involving: None,
        action: Some(AuditAction::LoginFailed),
        since: None,
        until: None,
        page: PageRequest { before: None, limit: 10 },
    };
    let reasons: Vec<_> = crate::ports::AuditRepo::list(&f.store, &q)
        .await
        .expect("list")
        .iter()
        .map(|e| e.detail["reason"].clone())
        .collect();
    assert_eq!(reasons, ["unknown_account", "wrong_password"]);
}

#[tokio::test]
async fn refresh_rotates_and_replay_revokes_the_family() {
    let f = FakeAccounts::new();
    let t0 = f.accounts.register(input("nova"), &meta()).await.expect("register").tokens.expect("tokens");
    let t1 = f.accounts.refresh(&t0.refresh_token, &meta()).await.expect("first refresh");
    assert_ne!(t1.refresh_token, t0.refresh_token);
    let t2 = f.accounts.refresh(&t1.refresh_token, &meta()).await.expect("second refresh");

    // The stolen t0 comes back: the family dies, including the newest token t2.
    let err = f.accounts.refresh(&t0.refresh_token, &meta()).await.expect_err("replay");
    assert!(matches!(err, CoreError::InvalidToken(TokenProblem::Reused)), "{err:?}");
    let err = f.accounts.refresh(&t2.refresh_token, &meta()).await.expect_err("descendant");
    assert!(matches!(err, CoreError::InvalidToken(TokenProblem::Revoked)), "{err:?}");
    assert!(actions(&f).await.contains(&AuditAction::RefreshTokenReuse));
}

#[tokio::test]
async fn sessions_expire_when_idle_and_absolutely() {
    let f = FakeAccounts::new();
    let mut t = f.accounts.register(input("nova"), &meta()).await.expect("register").tokens.expect("tokens");
    // Refreshing every 6 days keeps the session alive until its 30th day...
    for _ in 0..4 {
        f.clock.advance(Duration::days(6));
        t = f.accounts.refresh(&t.refresh_token, &meta()).await.expect("alive");
    }
    f.clock.advance(Duration::days(6)); // day 30
    let err = f.accounts.refresh(&t.refresh_token, &meta()).await.expect_err("absolute");
    assert!(matches!(err, CoreError::InvalidToken(TokenProblem::Expired)), "{err:?}");

    // ...while 7 idle days end a session.
    let t = password_login(&f, "nova", "violet-kettle-drum", &meta()).await.expect("login").1;
    f.clock.advance(Duration::days(7));
    let err = f.accounts.refresh(&t.refresh_token, &meta()).await.expect_err("idle");
    assert!(matches!(err, CoreError::InvalidToken(TokenProblem::Expired)), "{err:?}");
}

#[tokio::test]
async fn logout_all_ends_every_session() {
    let f = FakeAccounts::new();
    let acc = f.accounts.register(input("nova"), &meta()).await.expect("register");
    let a = acc.tokens.expect("tokens");
    let (_, b) = password_login(&f, "nova", "violet-kettle-drum", &meta()).await.expect("login");
    let principal = f.accounts.authenticate(&a.access_token).expect("valid access token");
    assert_eq!(f.accounts.logout_all(&principal, &meta()).await.expect("logout all"), 2);
    for t in [a, b] {
        assert!(f.accounts.refresh(&t.refresh_token, &meta()).await.is_err());
    }
}

#[tokio::test]
async fn disabled_accounts_cannot_log_in_or_refresh_and_the_last_admin_stays() {
    let f = FakeAccounts::new();
    let t = f.accounts.register(input("nova"), &meta()).await.expect("register").tokens.expect("tokens");
    let err = f.accounts.set_disabled(None, "nova", Some("  "), &meta()).await.expect_err("blank reason");
    assert!(matches!(err, CoreError::Validation(_)), "{err:?}");
    let user = f.accounts.set_disabled(None, "nova", Some("spam"), &meta()).await.expect("disable");
    assert_eq!((user.disabled, user.disabled_reason.as_deref()), (true, Some("spam")));
    let err = password_login(&f, "nova", "violet-kettle-drum", &meta()).await.expect_err("disabled login");
    assert!(matches!(err, CoreError::AccountDisabled), "{err:?}");
    assert!(f.accounts.refresh(&t.refresh_token, &meta()).await.is_err(), "its sessions ended");
    let principal = f.accounts.authenticate(&t.access_token).expect("the access token itself is still well-formed");
    assert!(matches!(f.accounts.me(&principal).await, Err(CoreError::AccountDisabled)));
    assert!(f.accounts.still_signed_in(&principal).await.is_err(), "long-lived connections end too");

    f.accounts.set_disabled(None, "nova", None, &meta()).await.expect("enable");
    assert!(f.accounts.still_signed_in(&principal).await.is_err(), "enabling does not revive ended sessions");
    let (_, again) = password_login(&f, "nova", "violet-kettle-drum", &meta()).await.expect("enabled again");
    let fresh = f.accounts.authenticate(&again.access_token).expect("token");
    f.accounts.still_signed_in(&fresh).await.expect("a new session stands");

    f.accounts.create_user(input("root"), crate::user::Role::Admin, None, &meta()).await.expect("admin");
    let err = f.accounts.set_disabled(None, "root", Some("oops"), &meta()).await.expect_err("last admin");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "last_admin"), "{err:?}");
    f.accounts.create_user(input("root2"), crate::user::Role::Admin, None, &meta()).await.expect("second admin");
    f.accounts.set_disabled(None, "root", Some("left the team"), &meta()).await.expect("no longer the last");
    let err = f.accounts.set_disabled(None, "ghost", Some("x"), &meta()).await.expect_err("unknown");
    assert!(matches!(err, CoreError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn profile_updates_and_audit_access() {
    let f = FakeAccounts::new();
    let acc = f.accounts.register(input("nova"), &meta()).await.expect("register");
    let p = Principal {
        user_id: acc.user.id,
        role: acc.user.role,
        credential: super::Credential::Session(acc.tokens.expect("t").session_id),
    };
    let patch = ProfilePatch { display_name: Some(Some("Nova".into())), ..Default::default() };
    let user = f.accounts.update_profile(&p, patch, &meta()).await.expect("update");
    assert_eq!(user.profile.display_name.as_deref(), Some("Nova"));
    let q = AuditQuery {
        actor: None,
        involving: None,
        action: None,
        since: None,
        until: None,
        page: PageRequest { before: None, limit: 10 },
    };
    assert!(matches!(f.accounts.audit_log(&p, q.clone()).await, Err(CoreError::Forbidden(_))));
    let mine = f.accounts.security_events(&p, q).await.expect("own events");
    assert_eq!(mine.items[0].action, AuditAction::ProfileUpdated);
    assert_eq!(mine.items[0].detail["fields"], serde_json::json!(["display_name"]));
}

#[tokio::test]
async fn api_keys_act_within_their_scopes_and_their_owners_rights() {
    use crate::api_key::Scope;
    let f = FakeAccounts::new();
    let acc = f.accounts.register(input("nova"), &meta()).await.expect("register");
    let session = f.accounts.authenticate(&acc.tokens.expect("tokens").access_token).expect("session");
    let err =
        f.accounts.create_api_key(&session, "ops", vec![Scope::Admin], None, &meta()).await.expect_err("admin scope");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "beyond_role"), "{err:?}");
    let past = f.clock.now() - Duration::minutes(1);
    assert!(f.accounts.create_api_key(&session, "ops", vec![Scope::ProfileRead], Some(past), &meta()).await.is_err());

    let created = f
        .accounts
        .create_api_key(&session, " reader ", vec![Scope::ProfileRead, Scope::ProfileRead], None, &meta())
        .await
        .expect("create");
    // Authenticating alone writes nothing: a request refused after it (rate limits) is not
    // audited; the use is recorded once the request is admitted.
    let (_, pending) = f.accounts.authenticate_api_key(&created.secret, &meta()).await.expect("valid key");
    assert!(pending.is_some(), "a first use is worth recording");
    assert!(!actions(&f).await.contains(&AuditAction::ApiKeyUsed));
    let prefix = format!("vz_{}_", created.key.id);
    assert!(created.secret.starts_with(&prefix) && created.secret.len() == prefix.len() + 43, "256 bits, base64url");
    assert_eq!((created.key.name.as_str(), created.key.scopes.clone()), ("reader", vec![Scope::ProfileRead]));

    let key = admit(&f, &created.secret).await;
    assert_eq!(f.accounts.me(&key).await.expect("profile:read").username.as_str(), "nova");
    let err = f.accounts.update_profile(&key, ProfilePatch::default(), &meta()).await.expect_err("no profile:write");
    assert!(matches!(err, CoreError::MissingScope("profile:write")), "{err:?}");
    assert!(matches!(
        f.accounts.create_api_key(&key, "x", vec![Scope::ProfileRead], None, &meta()).await,
        Err(CoreError::Forbidden(_))
    ));
    assert!(matches!(f.accounts.logout_all(&key, &meta()).await, Err(CoreError::Forbidden(_))));

    let tampered = format!("{}x", &created.secret[..created.secret.len() - 1]);
    assert!(matches!(
        f.accounts.authenticate_api_key(&tampered, &meta()).await,
        Err(CoreError::InvalidToken(TokenProblem::Malformed))
    ));
    f.accounts.revoke_api_key(&session, created.key.id, &meta()).await.expect("revoke");
    assert!(matches!(
        f.accounts.authenticate_api_key(&created.secret, &meta()).await,
        Err(CoreError::InvalidToken(TokenProblem::Revoked))
    ));
    assert!(matches!(f.accounts.revoke_api_key(&session, created.key.id, &meta()).await, Err(CoreError::NotFound(_))));

    // Expiry, and a key dies with its owner's account.
    let soon = f.clock.now() + Duration::hours(1);
    let expiring = f
        .accounts
        .create_api_key(&session, "short", vec![Scope::ProfileRead], Some(soon), &meta())
        .await
        .expect("create");
    let lasting =
        f.accounts.create_api_key(&session, "long", vec![Scope::ProfileRead], None, &meta()).await.expect("create");
    f.clock.advance(Duration::hours(2));
    assert!(matches!(
        f.accounts.authenticate_api_key(&expiring.secret, &meta()).await,
        Err(CoreError::InvalidToken(TokenProblem::Expired))
    ));
    f.accounts.set_disabled(None, "nova", Some("abuse"), &meta()).await.expect("disable");
    assert!(f.accounts.authenticate_api_key(&lasting.secret, &meta()).await.is_err());
    let used: Vec<_> = actions(&f).await.into_iter().filter(|a| a.as_str().starts_with("api_key")).collect();
    assert_eq!(
        used,
        [
            AuditAction::ApiKeyCreated,
            AuditAction::ApiKeyUsed,
            AuditAction::ApiKeyRevoked,
            AuditAction::ApiKeyCreated,
            AuditAction::ApiKeyCreated
        ]
    );
}

#[tokio::test]
async fn wrong_passwords_make_the_account_wait_and_say_so() {
    let f = FakeAccounts::new();
    f.accounts.register(input("nova"), &meta()).await.expect("register");
    for _ in 0..5 {
        let err = password_login(&f, "nova", "not-the-password", &meta()).await.expect_err("wrong");
        assert!(matches!(err, CoreError::InvalidCredentials), "{err:?}");
    }
    // The fifth failure started a delay: even the right password waits now, unchecked.
    let err = password_login(&f, "NOVA", "violet-kettle-drum", &meta()).await.expect_err("throttled");
    let CoreError::TooManyAttempts(wait) = err else { panic!("{err:?}") };
    assert_eq!(wait, std::time::Duration::from_secs(1), "the whole first delay: the clock has not moved");
    let logged = actions(&f).await;
    assert_eq!(logged.iter().filter(|a| **a == AuditAction::LoginFailed).count(), 5);
    assert_eq!(logged.iter().filter(|a| **a == AuditAction::LoginThrottled).count(), 1);
    // The owner is told, once, by mail.
    let mail = mail_titled(&f, "Repeated failed sign-ins to your Veza account");
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "nova@example.com");
    assert!(mail[0].text.contains("203.0.113.7"), "{}", mail[0].text);
    // An account that does not exist is throttled the same way: throttling reveals nothing.
    for _ in 0..5 {
        let _ = password_login(&f, "ghost", "whatever-password", &meta()).await;
    }
    let err = password_login(&f, "ghost", "whatever-password", &meta()).await.expect_err("throttled");
    assert!(matches!(err, CoreError::TooManyAttempts(_)), "{err:?}");
    assert_eq!(f.store.mail().len(), 2, "a verification and a lockout notice; nobody to tell about a missing account");
}

#[tokio::test]
async fn good_logins_never_throttle_their_address() {
    let f = FakeAccounts::new();
    for i in 0..30 {
        let name = format!("user{i}");
        f.accounts.register(input(&name), &meta()).await.expect("register");
        password_login(&f, &name, "violet-kettle-drum", &meta()).await.expect("30 people behind one address log in");
    }
}

#[tokio::test]
async fn a_login_from_a_new_device_is_mailed_to_the_owner() {
    let f = FakeAccounts::new();
    f.accounts.register(input("nova"), &meta()).await.expect("register");
    password_login(&f, "nova", "violet-kettle-drum", &meta()).await.expect("same device as at registration");
    let new_device = "New sign-in to your Veza account";
    assert!(mail_titled(&f, new_device).is_empty(), "{:?}", f.store.mail());
    let phone = RequestMeta::new(Some("198.51.100.4".into()), Some("Phone <script>"), None);
    password_login(&f, "nova", "violet-kettle-drum", &phone).await.expect("new device");
    password_login(&f, "nova", "violet-kettle-drum", &phone).await.expect("known now");
    let mail = mail_titled(&f, new_device);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].text.contains("Phone <script>") && mail[0].text.contains("198.51.100.4"));
    assert!(mail[0].html.contains("Phone &lt;script&gt;"), "{}", mail[0].html);
}

#[test]
fn a_sign_out_ends_exactly_the_credentials_it_names() {
    use super::{Credential, SignedOut};
    use crate::id::{ApiKeyId, SessionId};
    let session = |id| Credential::Session(SessionId(id));
    let key = |id| Credential::ApiKey { id: ApiKeyId(id), scopes: vec![] };
    let cases = [
        (SignedOut::Session(SessionId(1)), [true, false, false]),
        (SignedOut::Sessions { keep: None }, [true, true, false]),
        (SignedOut::Sessions { keep: Some(SessionId(1)) }, [false, true, false]),
        (SignedOut::ApiKey(ApiKeyId(1)), [false, false, true]),
        (SignedOut::Account, [true, true, true]),
    ];
    for (ended, expected) in cases {
        assert_eq!([ended.ends(&session(1)), ended.ends(&session(2)), ended.ends(&key(1))], expected, "{ended:?}");
    }
}

/// Every use case that ends sign-ins announces what it ended, once it is committed.
#[tokio::test]
async fn ended_sign_ins_are_announced() {
    use super::SignedOut;
    use crate::chat::event::ChatEvent;
    let f = FakeAccounts::new();
    let acc = f.accounts.register(input("nova"), &meta()).await.expect("register");
    let user = acc.user.id;
    let (_, second) = password_login(&f, "nova", "violet-kettle-drum", &meta()).await.expect("login");
    let first = f.accounts.authenticate(&acc.tokens.expect("tokens").access_token).expect("session");
    let current = first.require_session("test").unwrap();
    let ended = |f: &FakeAccounts| -> Vec<SignedOut> {
        f.events
            .take()
            .into_iter()
            .filter_map(|e| match e {
                ChatEvent::SignedOut { user_id, ended } if user_id == user => Some(ended),
                _ => None,
            })
            .collect()
    };
    f.accounts.logout(&second.refresh_token, &meta()).await.expect("logout");
    assert_eq!(ended(&f), [SignedOut::Session(second.session_id)]);
    f.accounts.revoke_other_sessions(&first, &meta()).await.expect("others");
    assert_eq!(ended(&f), [SignedOut::Sessions { keep: Some(current) }]);
    f.accounts.logout_all(&first, &meta()).await.expect("all");
    assert_eq!(ended(&f), [SignedOut::Sessions { keep: None }]);
    f.accounts.set_disabled(None, "nova", Some("abuse"), &meta()).await.expect("disable");
    assert_eq!(ended(&f), [SignedOut::Account]);
}

//! Use-case tests of address verification, password recovery and change, and 2FA, on the fakes.

use time::Duration;

use crate::audit::{AuditAction, RequestMeta};
use crate::clock::Clock;
use crate::error::{CoreError, TokenProblem};
use crate::fakes::{FakeAccounts, FakeAuthenticator};
use crate::ports::{AuditRepo, SecondFactorRepo};
use crate::user::Email;

use super::{LoginOutcome, Principal, RegisterInput, TokenPair};

pub(super) const PASSWORD: &str = "violet-kettle-drum";

pub(super) fn meta() -> RequestMeta {
    RequestMeta::new(Some("203.0.113.7".into()), Some("test-agent"), Some("req-1".into()))
}

pub(super) async fn register(f: &FakeAccounts, name: &str) -> (Principal, TokenPair) {
    let input =
        RegisterInput { username: name.into(), email: format!("{name}@example.com"), password: PASSWORD.into() };
    let tokens = f.accounts.register(input, &meta()).await.expect("register").tokens.expect("tokens");
    (f.accounts.authenticate(&tokens.access_token).expect("principal"), tokens)
}

/// The token of the newest link mailed to `to`.
pub(super) fn mailed_token(f: &FakeAccounts, to: &str) -> String {
    let mail = f.store.mail().into_iter().rev().find(|m| m.mail.to == to && m.mail.text.contains("?token="));
    let text = mail.expect("a mail with a link").mail.text;
    let start = text.find("?token=").expect("link") + "?token=".len();
    text[start..].split_whitespace().next().expect("token").to_string()
}

fn subjects_to(f: &FakeAccounts, to: &str) -> Vec<String> {
    f.store.mail().into_iter().filter(|m| m.mail.to == to).map(|m| m.mail.subject).collect()
}

async fn logged(f: &FakeAccounts, action: AuditAction) -> usize {
    let q = crate::audit::AuditQuery {
        actor: None,
        involving: None,
        action: Some(action),
        since: None,
        until: None,
        page: crate::page::PageRequest { before: None, limit: 100 },
    };
    f.store.list(&q).await.expect("audit").len()
}

#[tokio::test]
async fn registration_mails_a_link_that_verifies_the_address_once() {
    let f = FakeAccounts::new();
    let (principal, _) = register(&f, "nova").await;
    let token = mailed_token(&f, "nova@example.com");
    assert!(f.store.mail()[0].mail.text.contains("https://veza.test/verify-email?token="));
    let user = f.accounts.verify_email(&token, &meta()).await.expect("verify");
    assert!(user.email_verified);
    let err = f.accounts.verify_email(&token, &meta()).await.expect_err("second use");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Reused, .. }), "{err:?}");
    let err = f.accounts.verify_email("forged", &meta()).await.expect_err("forged");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Malformed, .. }), "{err:?}");
    assert_eq!(logged(&f, AuditAction::AccountTokenRefused).await, 2);
    let err = f.accounts.resend_verification(&principal, &meta()).await.expect_err("verified already");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "already_verified"), "{err:?}");
}

#[tokio::test]
async fn verification_links_expire_and_resending_waits_a_minute() {
    let f = FakeAccounts::new();
    let (principal, _) = register(&f, "nova").await;
    let first = mailed_token(&f, "nova@example.com");
    let err = f.accounts.resend_verification(&principal, &meta()).await.expect_err("too soon");
    assert!(matches!(err, CoreError::TooManyAttempts(_)), "{err:?}");
    f.clock.advance(Duration::hours(25));
    let err = f.accounts.verify_email(&first, &meta()).await.expect_err("expired");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Expired, .. }), "{err:?}");
    f.accounts.resend_verification(&principal, &meta()).await.expect("resend");
    let second = mailed_token(&f, "nova@example.com");
    assert_ne!(first, second);
    f.accounts.verify_email(&second, &meta()).await.expect("the new link works");
}

#[tokio::test]
async fn an_email_change_takes_the_password_and_the_new_address_s_link_and_ends_other_sessions() {
    let f = FakeAccounts::new();
    let (principal, this) = register(&f, "nova").await;
    let registration_link = mailed_token(&f, "nova@example.com");
    let (_, other) = super::tests::password_login(&f, "nova", PASSWORD, &meta()).await.expect("second session");
    f.clock.advance(Duration::minutes(2));

    let err = f.accounts.request_email_change(&principal, "new@example.com", "wrong-password", None, &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].field == "current_password"), "{err:?}");
    let err = f.accounts.request_email_change(&principal, "NOVA@example.com", PASSWORD, None, &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].code == "unchanged"), "{err:?}");
    register(&f, "vega").await;
    let err = f.accounts.request_email_change(&principal, "vega@example.com", PASSWORD, None, &meta()).await;
    assert!(matches!(err, Err(CoreError::Conflict(_))), "{err:?}");

    f.accounts.request_email_change(&principal, "new@example.com", PASSWORD, None, &meta()).await.expect("request");
    assert_eq!(subjects_to(&f, "new@example.com"), ["Confirm your email address for Veza"]);
    assert!(subjects_to(&f, "nova@example.com").contains(&"Your Veza address is about to change".to_string()));
    let me = f.accounts.me(&principal).await.expect("me");
    assert_eq!(me.email.as_str(), "nova@example.com", "nothing changes before the link is followed");
    let err = f.accounts.verify_email(&registration_link, &meta()).await.expect_err("superseded");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Reused, .. }), "{err:?}");

    let user = f.accounts.verify_email(&mailed_token(&f, "new@example.com"), &meta()).await.expect("confirm");
    assert_eq!((user.email.as_str(), user.email_verified), ("new@example.com", true));
    assert!(f.accounts.refresh(&other.refresh_token, &meta()).await.is_err(), "the other session ended");
    f.accounts.refresh(&this.refresh_token, &meta()).await.expect("the asking session stays");
    assert!(subjects_to(&f, "nova@example.com").contains(&"Your Veza address was changed".to_string()));
    super::tests::password_login(&f, "new@example.com", PASSWORD, &meta()).await.expect("log in by the new address");
    assert_eq!(logged(&f, AuditAction::EmailChanged).await, 1);
}

#[tokio::test]
async fn recovery_mails_only_existing_accounts_and_the_link_resets_once_within_30_minutes() {
    let f = FakeAccounts::new();
    let (_, tokens) = register(&f, "nova").await;
    let before = f.store.mail().len();
    f.accounts.forgot_password(&Email::parse("ghost@example.com").expect("email"), &meta()).await.expect("ghost");
    assert_eq!(f.store.mail().len(), before, "no mail for an unknown address");
    let nova = Email::parse("Nova@Example.com").expect("email");
    f.accounts.forgot_password(&nova, &meta()).await.expect("forgot");
    f.accounts.forgot_password(&nova, &meta()).await.expect("again at once: no second mail");
    assert_eq!(subjects_to(&f, "nova@example.com").iter().filter(|s| *s == "Reset your Veza password").count(), 1);
    assert_eq!(logged(&f, AuditAction::PasswordResetRequested).await, 3);
    let token = mailed_token(&f, "nova@example.com");

    let err = f.accounts.reset_password(&token, "short", &meta()).await.expect_err("policy");
    assert!(matches!(err, CoreError::Validation(_)), "{err:?}");
    f.accounts.reset_password(&token, "a-brand-new-secret", &meta()).await.expect("reset");
    assert!(f.accounts.refresh(&tokens.refresh_token, &meta()).await.is_err(), "every session ended");
    super::tests::password_login(&f, "nova", "a-brand-new-secret", &meta()).await.expect("new password");
    let err = f.accounts.reset_password(&token, "another-new-secret", &meta()).await.expect_err("reuse");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Reused, .. }), "{err:?}");

    f.clock.advance(Duration::minutes(2));
    f.accounts.forgot_password(&nova, &meta()).await.expect("forgot again");
    let token = mailed_token(&f, "nova@example.com");
    f.clock.advance(Duration::minutes(31));
    let err = f.accounts.reset_password(&token, "another-new-secret", &meta()).await.expect_err("expired");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Expired, .. }), "{err:?}");
}

#[tokio::test]
async fn a_password_change_takes_the_current_one_and_ends_the_other_sessions() {
    let f = FakeAccounts::new();
    let (principal, this) = register(&f, "nova").await;
    let (_, other) = super::tests::password_login(&f, "nova", PASSWORD, &meta()).await.expect("second session");
    let err = f.accounts.change_password(&principal, "wrong-password", "a-brand-new-secret", None, &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].code == "incorrect"), "{err:?}");
    let err = f.accounts.change_password(&principal, PASSWORD, "nova", None, &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].field == "new_password"), "{err:?}");
    f.accounts.change_password(&principal, PASSWORD, "a-brand-new-secret", None, &meta()).await.expect("change");
    assert!(f.accounts.refresh(&other.refresh_token, &meta()).await.is_err());
    f.accounts.refresh(&this.refresh_token, &meta()).await.expect("this session stays");
    assert!(subjects_to(&f, "nova@example.com").contains(&"Your Veza password was changed".to_string()));
}

/// The fake authenticator's code for `offset` steps from now.
pub(super) async fn code(f: &FakeAccounts, principal: &Principal, offset: i64) -> String {
    let record = f.store.totp(principal.user_id).await.expect("store").expect("totp");
    let secret = crate::ports::Authenticator::open(&FakeAuthenticator, &record.sealed_secret).expect("open");
    FakeAuthenticator::code_at(&secret, FakeAuthenticator::step_of(f.clock.now()) + offset)
}

#[tokio::test]
async fn totp_turns_login_into_two_steps_and_never_accepts_a_code_twice() {
    let f = FakeAccounts::new();
    let (principal, this) = register(&f, "nova").await;
    let (_, other) = super::tests::password_login(&f, "nova", PASSWORD, &meta()).await.expect("second session");
    let setup = f.accounts.setup_totp(&principal).await.expect("setup");
    assert!(setup.otpauth_uri.starts_with("otpauth://totp/Veza:nova?"), "{}", setup.otpauth_uri);
    let err = f.accounts.enable_totp(&principal, PASSWORD, "000000", &meta()).await.expect_err("wrong code");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "incorrect"), "{err:?}");
    let first = code(&f, &principal, 0).await;
    let recovery = f.accounts.enable_totp(&principal, PASSWORD, &first, &meta()).await.expect("enable");
    assert_eq!(recovery.len(), 10);
    assert!(f.accounts.refresh(&other.refresh_token, &meta()).await.is_err(), "other sessions end");
    f.accounts.refresh(&this.refresh_token, &meta()).await.expect("this one stays");

    let LoginOutcome::MfaRequired(challenge) = f.accounts.login("nova", PASSWORD, &meta()).await.expect("step one")
    else {
        panic!("a password alone must not log in");
    };
    let err = f.accounts.login_mfa(&challenge.mfa_token, &first, &meta()).await.expect_err("replayed");
    assert!(matches!(err, CoreError::InvalidCode), "{err:?}");
    let next = code(&f, &principal, 1).await; // the next step's code, accepted within ±1 step
    f.accounts.login_mfa(&challenge.mfa_token, &next, &meta()).await.expect("step two");
    let err = f.accounts.login_mfa(&challenge.mfa_token, &next, &meta()).await.expect_err("token spent");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Reused, .. }), "{err:?}");

    // A recovery code works once, however retyped.
    let LoginOutcome::MfaRequired(challenge) = f.accounts.login("nova", PASSWORD, &meta()).await.expect("again") else {
        panic!("two steps");
    };
    let retyped = recovery[0].to_uppercase();
    f.accounts.login_mfa(&challenge.mfa_token, &retyped, &meta()).await.expect("recovery code");
    let LoginOutcome::MfaRequired(challenge) = f.accounts.login("nova", PASSWORD, &meta()).await.expect("again") else {
        panic!("two steps");
    };
    let err = f.accounts.login_mfa(&challenge.mfa_token, &recovery[0], &meta()).await.expect_err("spent code");
    assert!(matches!(err, CoreError::InvalidCode), "{err:?}");
    assert_eq!(f.accounts.second_factor_status(&principal).await.expect("status").recovery_codes_left, 9);
    f.clock.advance(Duration::minutes(6));
    let err = f.accounts.login_mfa(&challenge.mfa_token, &recovery[1], &meta()).await.expect_err("expired");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Expired, .. }), "{err:?}");
    assert!(logged(&f, AuditAction::MfaFailed).await >= 3);
    assert_eq!(logged(&f, AuditAction::RecoveryCodeUsed).await, 1);
}

#[tokio::test]
async fn with_totp_on_sensitive_changes_take_a_code_and_turning_it_off_takes_password_and_code() {
    let f = FakeAccounts::new();
    let (principal, _) = register(&f, "nova").await;
    f.accounts.setup_totp(&principal).await.expect("setup");
    let recovery =
        f.accounts.enable_totp(&principal, PASSWORD, &code(&f, &principal, 0).await, &meta()).await.expect("on");
    let err = f.accounts.setup_totp(&principal).await.expect_err("already on");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "already_enabled"), "{err:?}");

    let err = f.accounts.change_password(&principal, PASSWORD, "a-brand-new-secret", None, &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].field == "code"), "{err:?}");
    let err = f.accounts.request_email_change(&principal, "evil@example.com", PASSWORD, None, &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].field == "code"), "an address change too: {err:?}");
    let err = f.accounts.request_email_change(&principal, "evil@example.com", PASSWORD, Some("999999"), &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].code == "incorrect"), "{err:?}");
    f.accounts
        .change_password(&principal, PASSWORD, "a-brand-new-secret", Some(&recovery[2]), &meta())
        .await
        .expect("with a recovery code");

    let fresh = f.accounts.regenerate_recovery_codes(&principal, &recovery[3], &meta()).await.expect("new codes");
    let err = f.accounts.disable_totp(&principal, "a-brand-new-secret", &recovery[4], &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(ref e)) if e[0].field == "code"), "old codes died: {err:?}");
    let err = f.accounts.disable_totp(&principal, PASSWORD, &fresh[0], &meta()).await;
    assert!(matches!(err, Err(CoreError::Validation(_))), "the old password: {err:?}");
    f.accounts.disable_totp(&principal, "a-brand-new-secret", &fresh[0], &meta()).await.expect("off");
    assert!(matches!(
        f.accounts.login("nova", "a-brand-new-secret", &meta()).await.expect("login"),
        LoginOutcome::LoggedIn(..)
    ));
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let f = FakeAccounts::new();
    let (principal, _) = register(&f, "nova").await;
    f.accounts.setup_totp(&principal).await.expect("setup");
    f.accounts.enable_totp(&principal, PASSWORD, &code(&f, &principal, 0).await, &meta()).await.expect("on");
    let LoginOutcome::MfaRequired(challenge) = f.accounts.login("nova", PASSWORD, &meta()).await.expect("step one")
    else {
        panic!("two steps");
    };
    for _ in 0..5 {
        let err = f.accounts.login_mfa(&challenge.mfa_token, "999999", &meta()).await.expect_err("wrong");
        assert!(matches!(err, CoreError::InvalidCode), "{err:?}");
    }
    let right = code(&f, &principal, 1).await;
    let err = f.accounts.login_mfa(&challenge.mfa_token, &right, &meta()).await.expect_err("throttled");
    assert!(matches!(err, CoreError::TooManyAttempts(_)), "{err:?}");
}

#[tokio::test]
async fn a_magic_link_signs_in_only_the_client_that_asked_once_and_within_10_minutes() {
    let f = FakeAccounts::new();
    let (principal, _) = register(&f, "nova").await;
    let nova = Email::parse("nova@example.com").expect("email");
    let ghost = super::MagicLinkNonce::generate();
    f.accounts
        .request_magic_link(&Email::parse("ghost@example.com").expect("e"), ghost.hash, &meta())
        .await
        .expect("ghost");
    assert!(subjects_to(&f, "ghost@example.com").is_empty());

    let asked = super::MagicLinkNonce::generate();
    f.accounts.request_magic_link(&nova, asked.hash.clone(), &meta()).await.expect("ask");
    let token = mailed_token(&f, "nova@example.com");
    let other = super::MagicLinkNonce::generate();
    let err = f.accounts.login_magic_link(&token, &other.nonce, &meta()).await.expect_err("forwarded link");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Foreign, .. }), "{err:?}");
    let outcome = f.accounts.login_magic_link(&token, &asked.nonce, &meta()).await.expect("same client");
    assert!(matches!(outcome, LoginOutcome::LoggedIn(..)));
    let err = f.accounts.login_magic_link(&token, &asked.nonce, &meta()).await.expect_err("twice");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Reused, .. }), "{err:?}");

    // With 2FA on, a link is only the first step.
    f.accounts.setup_totp(&principal).await.expect("setup");
    f.accounts.enable_totp(&principal, PASSWORD, &code(&f, &principal, 0).await, &meta()).await.expect("on");
    f.clock.advance(Duration::minutes(2));
    let asked = super::MagicLinkNonce::generate();
    f.accounts.request_magic_link(&nova, asked.hash.clone(), &meta()).await.expect("ask");
    let token = mailed_token(&f, "nova@example.com");
    let outcome = f.accounts.login_magic_link(&token, &asked.nonce, &meta()).await.expect("first step");
    let LoginOutcome::MfaRequired(challenge) = outcome else { panic!("a link is only the first step") };
    f.accounts.login_mfa(&challenge.mfa_token, &code(&f, &principal, 1).await, &meta()).await.expect("second step");
    let q = crate::audit::AuditQuery {
        actor: None,
        involving: None,
        action: Some(AuditAction::LoginSucceeded),
        since: None,
        until: None,
        page: crate::page::PageRequest { before: None, limit: 1 },
    };
    let last = f.store.list(&q).await.expect("audit").remove(0);
    assert_eq!(last.detail["method"], "magic_link+totp", "the audit says how both steps were proved");

    f.clock.advance(Duration::minutes(2));
    let asked = super::MagicLinkNonce::generate();
    f.accounts.request_magic_link(&nova, asked.hash.clone(), &meta()).await.expect("ask");
    let token = mailed_token(&f, "nova@example.com");
    f.clock.advance(Duration::minutes(11));
    let err = f.accounts.login_magic_link(&token, &asked.nonce, &meta()).await.expect_err("expired");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Expired, .. }), "{err:?}");
    assert_eq!(logged(&f, AuditAction::MagicLinkRequested).await, 4);
}

#[tokio::test]
async fn the_password_policy_is_length_and_commonness_only_and_the_check_is_exact() {
    let f = FakeAccounts::new();
    let field_code = |err: CoreError| match err {
        CoreError::Validation(errors) => errors.iter().map(|e| format!("{}:{}", e.field, e.code)).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let m = meta();
    let try_register = |name: &str, password: String| {
        let input = RegisterInput { username: name.into(), email: format!("{name}@example.com"), password };
        f.accounts.register(input, &m)
    };
    assert_eq!(field_code(try_register("aaa1", "seven77".into()).await.expect_err("short")), ["password:too_short"]);
    assert_eq!(field_code(try_register("aaa2", "x".repeat(129)).await.expect_err("long")), ["password:too_long"]);
    assert_eq!(
        field_code(try_register("aaa3", "password123".into()).await.expect_err("common")),
        ["password:too_common"]
    );
    assert_eq!(
        field_code(try_register("samename", "SameName".into()).await.expect_err("name")),
        ["password:same_as_identity"]
    );
    assert_eq!(
        field_code(try_register("djnova", "DjNova2024!".into()).await.expect_err("name and digits")),
        ["password:same_as_identity"]
    );
    assert_eq!(
        field_code(try_register("aaa4", "Veza-2026#veza".into()).await.expect_err("the service's name")),
        ["password:context_word"]
    );
    // No composition rules: 8 plain characters pass, and so does a long passphrase of any script.
    try_register("bbb1", "zqxwvutk".into()).await.expect("8 lowercase letters");
    let long = "ein langer Satz mit Leerzeichen, émojis 🎵 und 漢字 ".repeat(2);
    assert!(long.chars().count() >= 64);
    try_register("bbb2", long.clone()).await.expect("a 64+ character passphrase");
    // Checked exactly as typed: no trimming, no case folding, no truncation.
    super::tests::password_login(&f, "bbb2", &long, &meta()).await.expect("exact");
    for near in [long.to_uppercase(), long.trim().to_string(), long.chars().take(60).collect()] {
        let err = super::tests::password_login(&f, "bbb2", &near, &meta()).await.expect_err("not the same");
        assert!(matches!(err, CoreError::InvalidCredentials), "{err:?}");
    }
}

#[tokio::test]
async fn someone_else_asking_for_links_does_not_keep_the_owner_from_getting_one() {
    let f = FakeAccounts::new();
    register(&f, "nova").await;
    let nova = Email::parse("nova@example.com").expect("email");
    let stranger = RequestMeta::new(Some("198.51.100.66".into()), Some("bot"), None);
    for _ in 0..3 {
        let nonce = super::MagicLinkNonce::generate();
        f.accounts.request_magic_link(&nova, nonce.hash, &stranger).await.expect("stranger asks");
    }
    let count = || subjects_to(&f, "nova@example.com").iter().filter(|s| *s == "Sign in to Veza").count();
    assert_eq!(count(), 1, "one a minute per asking address");
    let own = super::MagicLinkNonce::generate();
    f.accounts.request_magic_link(&nova, own.hash.clone(), &meta()).await.expect("owner asks");
    assert_eq!(count(), 2, "the owner's own request is not held back by the stranger's");
    let token = mailed_token(&f, "nova@example.com");
    f.accounts.login_magic_link(&token, &own.nonce, &meta()).await.expect("the owner's link works");
}

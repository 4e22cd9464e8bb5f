//! Use-case tests of social sign-in and linking, on the fakes (the HTTP flows against a real
//! provider are in the server's tests).

use time::Duration;

use crate::audit::RequestMeta;
use crate::error::{CoreError, TokenProblem};
use crate::fakes::FakeAccounts;
use crate::identity::{Provider, ProviderProfile};

use super::security_tests::{mailed_token, meta, register, PASSWORD};
use super::{LoginOutcome, OAuthCallback, OAuthStart, Principal};

fn github(subject: &str, email: Option<&str>, verified: bool) -> ProviderProfile {
    ProviderProfile {
        provider: Provider::GitHub,
        subject: subject.into(),
        email: email.map(str::to_string),
        email_verified: verified,
        name_hint: Some("Octo Cat".into()),
    }
}

/// The person signs in at the provider as `profile`: the callback their client would post.
fn at_provider(f: &FakeAccounts, start: &OAuthStart, profile: ProviderProfile) -> OAuthCallback {
    let code = f.providers.will_answer(&start.state, profile);
    OAuthCallback { code, state: start.state.clone(), binding: start.binding.clone() }
}

async fn sign_in(f: &FakeAccounts, profile: ProviderProfile) -> Result<LoginOutcome, CoreError> {
    let start = f.accounts.start_oauth(profile.provider, &meta()).await.expect("start");
    let callback = at_provider(f, &start, profile);
    f.accounts.finish_oauth(Provider::GitHub, &callback, &meta()).await
}

fn logged_in(outcome: LoginOutcome) -> (crate::user::User, Principal, super::TokenPair) {
    let LoginOutcome::LoggedIn(user, tokens) = outcome else { panic!("a second step was asked") };
    let principal =
        Principal { user_id: user.id, role: user.role, credential: super::Credential::Session(tokens.session_id) };
    (*user, principal, tokens)
}

#[tokio::test]
async fn a_new_person_gets_a_password_less_account_that_keeps_its_only_way_in() {
    let f = FakeAccounts::new();
    let (user, principal, _) =
        logged_in(sign_in(&f, github("583231", Some("Octo@Example.com"), true)).await.expect("up"));
    assert_eq!(user.username.as_str(), "octo_cat");
    assert_eq!(user.email.as_str(), "octo@example.com");
    assert!(user.email_verified, "the provider vouched for it");
    let (again, _, _) = logged_in(sign_in(&f, github("583231", Some("new@example.com"), true)).await.expect("in"));
    assert_eq!(again.id, user.id, "the identity, not the address, finds the account");

    let methods = f.accounts.sign_in_methods(&principal).await.expect("methods");
    assert!(!methods.has_password);
    assert_eq!(methods.identities.len(), 1);
    let err = f.accounts.unlink_identity(&principal, methods.identities[0].id, &meta()).await.expect_err("last");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "last_sign_in_method"), "{err:?}");
    let err = f.accounts.login("octo_cat", "anything-at-all-9", &meta()).await.expect_err("no password");
    assert!(matches!(err, CoreError::InvalidCredentials), "{err:?}");
    let err = f.accounts.change_password(&principal, "x", "a-brand-new-passphrase", None, &meta()).await;
    let err = err.expect_err("no current password to check");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "not_set"), "{err:?}");

    // A password set through a reset link is a second way in; then the identity can go.
    f.accounts.forgot_password(&user.email, &meta()).await.expect("forgot");
    let token = mailed_token(&f, "octo@example.com");
    f.accounts.reset_password(&token, "a-brand-new-passphrase", &meta()).await.expect("reset");
    let (_, principal, _) = logged_in(sign_in(&f, github("583231", None, false)).await.expect("in"));
    f.accounts.unlink_identity(&principal, methods.identities[0].id, &meta()).await.expect("unlinked");
    assert!(f.accounts.sign_in_methods(&principal).await.expect("methods").identities.is_empty());
}

#[tokio::test]
async fn an_address_links_by_itself_only_when_both_sides_verified_it() {
    let f = FakeAccounts::new();
    let (nova, _) = register(&f, "nova").await;
    let err = sign_in(&f, github("1", Some("nova@example.com"), true)).await.expect_err("unverified at Veza");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "link_required"), "{err:?}");
    let token = mailed_token(&f, "nova@example.com");
    f.accounts.verify_email(&token, &meta()).await.expect("verify");
    let err = sign_in(&f, github("1", Some("nova@example.com"), false)).await.expect_err("unverified at GitHub");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "unverified"), "{err:?}");
    let (user, _, _) = logged_in(sign_in(&f, github("1", Some("nova@example.com"), true)).await.expect("linked"));
    assert_eq!(user.id, nova.user_id);
    let subjects = f.store.mail().into_iter().map(|m| m.mail.subject).collect::<Vec<_>>();
    assert!(subjects.iter().any(|s| s == "GitHub sign-in added to your Veza account"), "{subjects:?}");

    let err = sign_in(&f, github("2", None, false)).await.expect_err("no address");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "unverified"), "{err:?}");
    let err = sign_in(&f, github("3", Some("ghost@example.com"), false)).await.expect_err("nobody's, unverified");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "unverified"), "the same answer: {err:?}");
}

#[tokio::test]
async fn linking_from_settings_needs_the_owner_s_session_and_never_takes_another_s_identity() {
    let f = FakeAccounts::new();
    let (nova, _) = register(&f, "nova").await;
    let (vega, _) = register(&f, "vega").await;
    let start = f.accounts.start_oauth_link(&nova, Provider::GitHub, Some(PASSWORD), &meta()).await.expect("start");
    let callback = at_provider(&f, &start, github("7", Some("someone@else.org"), false));
    let err = f.accounts.finish_oauth_link(&vega, Provider::GitHub, &callback, &meta()).await.expect_err("not vega's");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Malformed, .. }), "{err:?}");

    let start = f.accounts.start_oauth_link(&nova, Provider::GitHub, Some(PASSWORD), &meta()).await.expect("start");
    let callback = at_provider(&f, &start, github("7", Some("someone@else.org"), false));
    let identity = f.accounts.finish_oauth_link(&nova, Provider::GitHub, &callback, &meta()).await.expect("linked");
    assert_eq!(identity.user_id, nova.user_id);
    let (user, _, _) = logged_in(sign_in(&f, github("7", None, false)).await.expect("signs nova in"));
    assert_eq!(user.id, nova.user_id);

    let start = f.accounts.start_oauth_link(&vega, Provider::GitHub, Some(PASSWORD), &meta()).await.expect("start");
    let callback = at_provider(&f, &start, github("7", None, false));
    let err = f.accounts.finish_oauth_link(&vega, Provider::GitHub, &callback, &meta()).await.expect_err("nova's");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "linked_elsewhere"), "{err:?}");
}

#[tokio::test]
async fn a_flow_works_once_for_the_client_that_started_it_within_ten_minutes() {
    let f = FakeAccounts::new();
    let start = f.accounts.start_oauth(Provider::GitHub, &meta()).await.expect("start");
    let callback = at_provider(&f, &start, github("9", Some("x9@example.com"), true));
    let stranger = OAuthCallback { binding: "someone-else".into(), ..callback.clone() };
    let err = f.accounts.finish_oauth(Provider::GitHub, &stranger, &meta()).await.expect_err("foreign");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Malformed, .. }), "{err:?}");
    let err = f.accounts.finish_oauth(Provider::Discord, &callback, &meta()).await.expect_err("other provider");
    assert!(matches!(err, CoreError::InvalidAccountToken { .. }), "{err:?}");
    // Presenting it for the wrong provider spent it.
    let err = f.accounts.finish_oauth(Provider::GitHub, &callback, &meta()).await.expect_err("spent");
    assert!(matches!(err, CoreError::InvalidAccountToken { .. }), "{err:?}");

    let start = f.accounts.start_oauth(Provider::GitHub, &meta()).await.expect("start");
    let callback = at_provider(&f, &start, github("9", Some("x9@example.com"), true));
    f.clock.advance(Duration::minutes(11));
    let err = f.accounts.finish_oauth(Provider::GitHub, &callback, &meta()).await.expect_err("expired");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Expired, .. }), "{err:?}");

    let start = f.accounts.start_oauth(Provider::GitHub, &meta()).await.expect("start");
    let mut callback = at_provider(&f, &start, github("9", Some("x9@example.com"), true));
    callback.code = "a-code-the-provider-never-gave".into();
    let err = f.accounts.finish_oauth(Provider::GitHub, &callback, &meta()).await.expect_err("bad code");
    assert!(matches!(err, CoreError::Provider { .. }), "{err:?}");
}

#[tokio::test]
async fn two_factor_still_applies_and_disabled_accounts_stay_out() {
    let f = FakeAccounts::new();
    let (nova, _) = register(&f, "nova").await;
    let start = f.accounts.start_oauth_link(&nova, Provider::GitHub, Some(PASSWORD), &meta()).await.expect("start");
    let callback = at_provider(&f, &start, github("11", None, false));
    f.accounts.finish_oauth_link(&nova, Provider::GitHub, &callback, &meta()).await.expect("linked");
    f.accounts.setup_totp(&nova).await.expect("setup");
    let code = super::security_tests::code(&f, &nova, 0).await;
    f.accounts.enable_totp(&nova, PASSWORD, &code, &meta()).await.expect("enable");
    let outcome = sign_in(&f, github("11", None, false)).await.expect("step one");
    assert!(matches!(outcome, LoginOutcome::MfaRequired(_)), "{outcome:?}");

    f.accounts.set_disabled(None, "nova", Some("spam"), &RequestMeta::new(None, None, None)).await.expect("disable");
    let err = sign_in(&f, github("11", None, false)).await.expect_err("disabled");
    assert!(matches!(err, CoreError::AccountDisabled), "{err:?}");
}

#[tokio::test]
async fn adding_a_way_in_takes_the_password_or_a_fresh_sign_in() {
    let f = FakeAccounts::new();
    let (nova, _) = register(&f, "nova").await;
    let err = f.accounts.start_passkey_registration(&nova, None, &meta()).await.expect_err("no password");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "required"), "{err:?}");
    let wrong = Some("not-the-password");
    let err = f.accounts.start_oauth_link(&nova, Provider::GitHub, wrong, &meta()).await.expect_err("wrong");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "incorrect"), "{err:?}");

    let (_, octo, _) = logged_in(sign_in(&f, github("5", Some("five@example.com"), true)).await.expect("up"));
    f.accounts.start_passkey_registration(&octo, None, &meta()).await.expect("a fresh sign-in proves it");
    f.clock.advance(Duration::minutes(11));
    let err = f.accounts.start_oauth_link(&octo, Provider::Discord, None, &meta()).await.expect_err("stale");
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
}

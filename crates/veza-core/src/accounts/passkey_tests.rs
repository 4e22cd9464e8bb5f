//! Use-case tests of passkeys, on the fakes (the real WebAuthn checks run in Chromium's virtual
//! authenticator in the server's tests).

use serde_json::json;
use time::Duration;

use crate::error::{CoreError, TokenProblem};
use crate::fakes::FakeAccounts;

use super::security_tests::{code, meta, register, PASSWORD};
use super::{LoginOutcome, PasskeyCeremony, Principal};

fn challenge(c: &PasskeyCeremony) -> serde_json::Value {
    c.options["publicKey"]["challenge"].clone()
}

async fn add(f: &FakeAccounts, who: &Principal, credential: &str) -> crate::passkey::Passkey {
    let c = f.accounts.start_passkey_registration(who, Some(PASSWORD), &meta()).await.expect("start");
    let answer = json!({"id": credential, "challenge": challenge(&c)});
    f.accounts.finish_passkey_registration(who, &c.ceremony_id, Some(" Phone "), &answer, &meta()).await.expect("add")
}

#[tokio::test]
async fn a_passkey_signs_its_owner_in_once_per_ceremony_and_never_with_an_old_counter() {
    let f = FakeAccounts::new();
    let (nova, _) = register(&f, "nova").await;
    let passkey = add(&f, &nova, "cred-1").await;
    assert_eq!(passkey.name, "Phone");

    let c = f.accounts.start_passkey_login().await.expect("start");
    let answer = json!({"id": "cred-1", "challenge": challenge(&c), "counter": 1});
    let LoginOutcome::LoggedIn(user, _) =
        f.accounts.finish_passkey_login(&c.ceremony_id, &answer, &meta()).await.expect("in")
    else {
        panic!("a passkey sign-in is complete")
    };
    assert_eq!(user.id, nova.user_id);
    let err = f.accounts.finish_passkey_login(&c.ceremony_id, &answer, &meta()).await.expect_err("once");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Malformed, .. }), "{err:?}");

    let c = f.accounts.start_passkey_login().await.expect("start");
    let replayed = json!({"id": "cred-1", "challenge": challenge(&c), "counter": 1});
    let err = f.accounts.finish_passkey_login(&c.ceremony_id, &replayed, &meta()).await.expect_err("old counter");
    assert!(matches!(err, CoreError::InvalidCredentials), "{err:?}");

    let c = f.accounts.start_passkey_login().await.expect("start");
    f.clock.advance(Duration::minutes(6));
    let late = json!({"id": "cred-1", "challenge": challenge(&c), "counter": 2});
    let err = f.accounts.finish_passkey_login(&c.ceremony_id, &late, &meta()).await.expect_err("expired");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Expired, .. }), "{err:?}");

    // Another account cannot register the same credential.
    let (vega, _) = register(&f, "vega").await;
    let c = f.accounts.start_passkey_registration(&vega, Some(PASSWORD), &meta()).await.expect("start");
    let answer = json!({"id": "cred-1", "challenge": challenge(&c)});
    let err =
        f.accounts.finish_passkey_registration(&vega, &c.ceremony_id, None, &answer, &meta()).await.expect_err("taken");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "already_registered"), "{err:?}");
}

#[tokio::test]
async fn a_passkey_is_a_second_factor_and_the_last_way_in_stays() {
    let f = FakeAccounts::new();
    let (nova, _) = register(&f, "nova").await;
    f.accounts.setup_totp(&nova).await.expect("setup");
    let first = code(&f, &nova, 0).await;
    f.accounts.enable_totp(&nova, PASSWORD, &first, &meta()).await.expect("enable");
    let passkey = add(&f, &nova, "cred-2").await;

    let LoginOutcome::MfaRequired(step) = f.accounts.login("nova", PASSWORD, &meta()).await.expect("one") else {
        panic!("two steps")
    };
    assert!(step.methods.contains(&super::SecondFactor::Passkey));
    let c = f.accounts.start_passkey_second_factor(&step.mfa_token, &meta()).await.expect("start");
    let wrong = json!({"id": "cred-2", "challenge": "not-it", "counter": 1});
    let err = f.accounts.login_mfa_passkey(&step.mfa_token, &c.ceremony_id, &wrong, &meta()).await.expect_err("wrong");
    assert!(matches!(err, CoreError::InvalidCode), "{err:?}");
    let c = f.accounts.start_passkey_second_factor(&step.mfa_token, &meta()).await.expect("again");
    let right = json!({"id": "cred-2", "challenge": challenge(&c), "counter": 1});
    f.accounts.login_mfa_passkey(&step.mfa_token, &c.ceremony_id, &right, &meta()).await.expect("second step");
    let err = f.accounts.start_passkey_second_factor(&step.mfa_token, &meta()).await.expect_err("token spent");
    assert!(matches!(err, CoreError::InvalidAccountToken { problem: TokenProblem::Reused, .. }), "{err:?}");

    let renamed = f.accounts.rename_passkey(&nova, passkey.id, "Laptop").await.expect("rename");
    assert_eq!(renamed.name, "Laptop");
    let err = f.accounts.rename_passkey(&nova, passkey.id, &"x".repeat(65)).await.expect_err("too long");
    assert!(matches!(err, CoreError::Validation(_)), "{err:?}");
    f.accounts.delete_passkey(&nova, passkey.id, &meta()).await.expect("the password stays");
    assert!(f.accounts.list_passkeys(&nova).await.expect("list").is_empty());
}

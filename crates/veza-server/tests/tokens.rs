//! Access tokens checked by an independent implementation, PyJWT: Veza's tokens verify against
//! the published JWKS, and tokens PyJWT forges with Veza's own key — correct, wrong audience,
//! expired, `alg: none` — are accepted or refused by Veza as they should be.

use std::process::Command;

use serde_json::Value;
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/jwt_check.py");

/// The Python with PyJWT installed: `VEZA_TEST_PYTHON` (set by scripts/test) or `python3`.
fn python(args: &[&str]) -> Value {
    let py = std::env::var("VEZA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&py).arg(SCRIPT).args(args).output().unwrap_or_else(|e| panic!("cannot run {py}: {e}"));
    assert!(
        out.status.success(),
        "{SCRIPT} failed (PyJWT comes from scripts/test's virtualenv):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

on_both_databases!(pyjwt_verifies_veza_tokens_and_veza_refuses_forgeries);

async fn pyjwt_verifies_veza_tokens_and_veza_refuses_forgeries(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let reg = s.register("nova").await;
    let access = reg["tokens"]["access_token"].as_str().expect("token");
    let user_id = reg["user"]["id"].as_str().expect("id");

    let checked = python(&["verify", &s.base, access, &s.base]);
    let claims = &checked["claims"];
    assert_eq!(claims["sub"], user_id);
    assert_eq!((claims["iss"].as_str(), claims["aud"].as_str()), (Some(s.base.as_str()), Some("veza")));
    assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 900, "15 minutes");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!((checked["header"]["alg"].as_str(), checked["header"]["typ"].as_str()), (Some("EdDSA"), Some("at+jwt")));
    let jwks = s.get("/.well-known/jwks.json", None).await.1;
    assert_eq!(checked["header"]["kid"], jwks["keys"][0]["kid"]);

    let key_file = s.data_dir().join("secrets/jwt-ed25519.pk8");
    let session = reg["tokens"]["session_id"].as_str().expect("sid");
    let forged = python(&[
        "forge",
        key_file.to_str().expect("utf-8 path"),
        jwks["keys"][0]["kid"].as_str().expect("kid"),
        &s.base,
        user_id,
        session,
    ]);
    let me = |token: String| {
        let s = &s;
        async move { s.get("/api/v1/me", Some(&token)).await.0 }
    };
    // The control: a token PyJWT signs correctly with Veza's key is accepted...
    assert_eq!(me(forged["valid"].as_str().expect("valid").into()).await, 200);
    // ...so these are refused for their claims, not their signature.
    for case in ["wrong_audience", "wrong_issuer", "expired", "alg_none", "wrong_typ", "unsigned_hs256"] {
        assert_eq!(
            me(forged[case].as_str().unwrap_or_else(|| panic!("{case}")).into()).await,
            401,
            "{case} must be refused"
        );
    }
}

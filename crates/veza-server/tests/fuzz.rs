//! The whole API fuzzed from its own OpenAPI document by schemathesis: every check (no 5xx,
//! status codes, content types, headers and bodies as documented, schema-valid input accepted
//! and schema-invalid input refused), in its examples, coverage, fuzzing and stateful phases,
//! authenticated as an administrator. Bounded by `VEZA_TEST_FUZZ_EXAMPLES` (default 30) per
//! operation; the seed is fixed unless `VEZA_TEST_FUZZ_SEED` is set, so CI runs are reproducible.
//! (`VEZA_TEST_*`: the server under test ignores them, where any other `VEZA_*` is a setting it
//! would refuse.)

use std::path::Path;
use std::process::Command;

use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts");

on_both_databases!(schemathesis_finds_nothing);

async fn schemathesis_finds_nothing(backend: Backend) {
    // A web client on localhost, so that passkeys are on and their routes are fuzzed too.
    let env = [("VEZA_APP_URL", "http://localhost:8081")];
    let s = TestServer::start_with(BIN, veza_testkit::db::TestDb::new(backend).await, &env).await;
    let admin = s.admin("fuzzadmin").await;
    let token = admin["tokens"]["access_token"].as_str().expect("token");

    let python = std::env::var("VEZA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let st = Path::new(&python).with_file_name("schemathesis");
    let examples = std::env::var("VEZA_TEST_FUZZ_EXAMPLES").unwrap_or_else(|_| "30".into());
    let seed = std::env::var("VEZA_TEST_FUZZ_SEED").unwrap_or_else(|_| "1".into());
    // Run from a scratch directory: schemathesis keeps a replay cache in its working directory,
    // which must neither land in the source tree nor replay an earlier run's cases.
    let scratch = tempfile::tempdir().expect("scratch directory");
    let config = format!("{SCRIPTS}/schemathesis.toml");
    let out = Command::new(&st)
        .current_dir(scratch.path())
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", SCRIPTS)
        .args(["--no-color", "--config-file", &config, "run", &s.url("/api/openapi.json")])
        .args(["--url", &s.base, "--max-examples", &examples, "--seed", &seed])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (scripts/test installs schemathesis): {e}", st.display()));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found failures:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("Stateful"), "all phases ran:\n{report}");
}

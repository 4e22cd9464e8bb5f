//! TOTP codes as an authenticator app computes them, by an independent implementation: pyotp,
//! in the Python that `scripts/test` prepares (`VEZA_TEST_PYTHON`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Runs pyotp: `code <base32 secret> <unix time>` prints the code at that time; `uri <otpauth
/// URI> <unix time>` does the same from the URI an app would scan.
pub fn pyotp(args: &[&str]) -> String {
    let python = std::env::var("VEZA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, pyotp\n\
                  kind, value, at = sys.argv[1], sys.argv[2], int(sys.argv[3])\n\
                  totp = pyotp.TOTP(value) if kind == 'code' else pyotp.parse_uri(value)\n\
                  print(totp.at(at))";
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (scripts/test installs pyotp): {e}"));
    assert!(out.status.success(), "pyotp: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

/// The code pyotp computes for `secret`, `steps` time steps from now.
pub fn code(secret: &str, steps: i64) -> String {
    let at = now_secs().saturating_add_signed(steps * 30);
    pyotp(&["code", secret, &at.to_string()])
}

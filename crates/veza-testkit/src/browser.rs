//! A real browser, Debian's Chromium (headless, through playwright-core), driven by a Node.js
//! script over JSON lines. `js/webauthn.mjs` holds a virtual WebAuthn authenticator on a page
//! served from `http://localhost:<port>` and performs `navigator.credentials.create` / `.get`
//! with the options Veza hands out; `js/player.mjs` plays Veza's HLS streams through hls.js.
//! `scripts/test` installs Chromium and the npm packages.

use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// A running browser; closed when dropped.
#[derive(Debug)]
pub struct Browser {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// The page's origin: configure Veza's web client URL (`VEZA_APP_URL`) with it.
    pub origin: String,
}

impl Browser {
    /// The passkey browser (`js/webauthn.mjs`).
    pub async fn start() -> Self {
        Self::start_script("webauthn.mjs").await
    }

    /// The listener's browser (`js/player.mjs`): plays HLS through hls.js.
    pub async fn start_player() -> Self {
        Self::start_script("player.mjs").await
    }

    async fn start_script(script: &str) -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/js");
        assert!(
            std::path::Path::new(dir).join("node_modules/playwright-core").exists(),
            "the browser driver is not installed: run `npm ci` in {dir} (scripts/test does)"
        );
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = tokio::time::timeout(std::time::Duration::from_secs(60), stdout.next_line())
            .await
            .expect("Chromium did not start within 60 s (scripts/test installs the chromium package)")
            .expect("reading the browser driver")
            .expect("the browser driver exited before it was ready");
        let ready: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("driver said {first:?}: {e}"));
        let origin = ready["origin"].as_str().expect("an origin").to_string();
        Self { _child: child, stdin, stdout, origin }
    }

    async fn call(&mut self, request: Value) -> Result<Value, String> {
        let mut line = request.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.expect("writing to the browser driver");
        let answer = tokio::time::timeout(std::time::Duration::from_secs(90), self.stdout.next_line())
            .await
            .expect("the browser did not answer within 90 s")
            .expect("reading the browser driver")
            .expect("the browser driver exited");
        let answer: Value = serde_json::from_str(&answer).expect("a JSON answer");
        match answer.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Err(answer["error"].as_str().unwrap_or("no answer").to_string()),
        }
    }

    /// `navigator.credentials.create` with Veza's options (`{"publicKey": …}`): the new
    /// credential as `toJSON()` gives it, or the browser's error.
    pub async fn create(&mut self, options: &Value) -> Result<Value, String> {
        self.call(json!({"op": "create", "options": options})).await
    }

    /// `navigator.credentials.get` with Veza's options: the assertion, or the browser's error.
    pub async fn get(&mut self, options: &Value) -> Result<Value, String> {
        self.call(json!({"op": "get", "options": options})).await
    }

    /// Plays an HLS master playlist with hls.js, seeks to the middle and plays on: what the
    /// player saw, or the browser's error.
    pub async fn play(&mut self, url: &str) -> Result<Value, String> {
        self.call(json!({"op": "play", "url": url})).await
    }

    /// The credentials the virtual authenticator holds (with their sign counts).
    pub async fn credentials(&mut self) -> Vec<Value> {
        let all = self.call(json!({"op": "credentials"})).await.expect("credentials");
        all.as_array().cloned().unwrap_or_default()
    }
}

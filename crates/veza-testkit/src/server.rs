//! A real `veza serve` process on port 0 with its own data dir and database, talked to over
//! real HTTP. Its log goes to a file in the data dir, printed when a test fails.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::db::{Backend, TestDb};

#[derive(Debug)]
pub struct TestServer {
    pub base: String,
    /// The `veza` binary this server runs, for [`TestServer::cli`].
    pub bin: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub log: PathBuf,
    child: Child,
}

/// Environment variables each test server gets beyond the database and data dir.
pub type Env<'a> = &'a [(&'a str, &'a str)];

/// Settings every test server starts with, before the test's own: rate limits and brute-force
/// allowances high enough that no test meets them unless it sets its own (tests register, log in
/// and fail to log in far faster than people do, from one address), and admins without 2FA.
pub const TEST_DEFAULTS: Env<'static> = &[
    ("VEZA_RATE_LIMIT_GLOBAL", "100000/1s"),
    ("VEZA_RATE_LIMIT_ANONYMOUS", "100000/1s"),
    ("VEZA_RATE_LIMIT_USER", "100000/1s"),
    ("VEZA_RATE_LIMIT_API_KEY", "100000/1s"),
    ("VEZA_RATE_LIMIT_LOGIN", "100000/1s"),
    ("VEZA_RATE_LIMIT_REGISTER", "100000/1s"),
    ("VEZA_RATE_LIMIT_REFRESH", "100000/1s"),
    ("VEZA_RATE_LIMIT_PASSWORD_RESET", "100000/1s"),
    ("VEZA_RATE_LIMIT_MAGIC_LINK", "100000/1s"),
    ("VEZA_RATE_LIMIT_MESSAGE_SEND", "100000/1s"),
    ("VEZA_RATE_LIMIT_GATEWAY_CONNECT", "100000/1s"),
    ("VEZA_RATE_LIMIT_TRACK_UPLOAD", "100000/1s"),
    ("VEZA_RATE_LIMIT_SOCIAL_ACTION", "100000/1s"),
    ("VEZA_RATE_LIMIT_COMMENT_POST", "100000/1s"),
    ("VEZA_LOGIN_FAILURES_PER_ACCOUNT", "100000"),
    ("VEZA_LOGIN_FAILURES_PER_ADDRESS", "100000"),
    // Most tests act as administrators without setting up 2FA first; the policy has its own test.
    ("VEZA_ADMINS_REQUIRE_2FA", "false"),
];

impl TestServer {
    /// Starts `bin` (the `veza` binary: `env!("CARGO_BIN_EXE_veza")`) on a fresh database.
    pub async fn start(bin: &str, backend: Backend) -> Self {
        Self::start_with(bin, TestDb::new(backend).await, &[]).await
    }

    pub async fn start_with(bin: &str, db: TestDb, env: Env<'_>) -> Self {
        let data_dir = db.dir.path().join("data");
        let log = db.dir.path().join("veza.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env("VEZA_ADDR", "127.0.0.1:0")
            .env("VEZA_DATA_DIR", &data_dir)
            .env("VEZA_DATABASE_URL", &db.url)
            .env("VEZA_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .stdin(Stdio::null());
        for (k, v) in TEST_DEFAULTS.iter().chain(env) {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        // The first stdout line announces the bound address; block on it off the runtime.
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .expect("reader task")
        .expect("read stdout");
        let Some(base) = line.trim().strip_prefix("veza listening on ").map(str::to_string) else {
            let _ = child.kill();
            panic!("veza did not start: {line:?}\n--- log ---\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
        Self { base, client, db, log, child, bin: bin.to_string() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.db.dir.path().join("data")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// kill -9: no drain, no close frames, no lease given back. The database and data dir stay
    /// (they belong to this value), so another node can take over from them.
    pub fn kill(&mut self) {
        use std::os::unix::process::ExitStatusExt;
        self.child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
        let status = self.child.wait().expect("reap");
        assert_eq!(status.signal(), Some(9), "{status:?}");
    }

    /// Another node of this one's cluster: the same database (a data dir of its own) and the
    /// same keys (tokens, TOTP, media). `env` repeats the cluster's settings and should give a
    /// distinct `VEZA_NODE_ID`, so the two nodes never make the same id.
    pub async fn start_node(&self, env: Env<'_>) -> TestServer {
        let db = self.db.sharing();
        let secrets = db.dir.path().join("data/secrets");
        std::fs::create_dir_all(&secrets).expect("secrets dir");
        for entry in std::fs::read_dir(self.data_dir().join("secrets")).expect("this node's secrets") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), secrets.join(entry.file_name())).expect("copy key");
        }
        TestServer::start_with(&self.bin, db, env).await
    }

    /// Waits for the process to exit by itself (after a signal) and returns its exit code.
    pub async fn wait_exit(mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs a `veza` command (e.g. `admin create-user`) against this server's database and data
    /// dir, feeding `stdin`, and returns its output.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new(&self.bin)
            .args(args)
            .env("VEZA_DATA_DIR", self.data_dir())
            .env("VEZA_DATABASE_URL", &self.db.url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run veza");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("veza output")
    }

    /// Creates an administrator from the command line and logs in; returns the login response.
    pub async fn admin(&self, name: &str) -> Value {
        let password = "admin-password-long-enough";
        let out = self.cli(
            &["admin", "create-user", "--username", name, "--email", &format!("{name}@example.com"), "--role", "admin"],
            &format!("{password}\n"),
        );
        assert!(out.status.success(), "create-user: {}", String::from_utf8_lossy(&out.stderr));
        let (status, body) = self.post("/api/v1/auth/login", &json!({"login": name, "password": password}), None).await;
        assert_eq!(status, 200, "admin login: {body}");
        body
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POSTs JSON and returns the status and parsed body (`Null` when empty).
    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn put(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.put(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn patch(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.patch(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request")).await
    }

    /// Registers `name` with a good password; returns the response body (user + tokens).
    pub async fn register(&self, name: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                &json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(status, 201, "register {name}: {body}");
        body
    }
}

/// The password [`TestServer::register`] uses.
pub const PASSWORD: &str = "violet-kettle-drum";

pub async fn read(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, body)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Under a coverage run (the instrumented binary writes its counts as it exits) the node
        // is stopped with SIGTERM and given 20 s to drain; otherwise killed at once.
        if std::env::var_os("LLVM_PROFILE_FILE").is_some() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- veza log ({}) ---\n{}", self.log.display(), self.log_text());
        }
    }
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, `name::sqlite` and
/// `name::postgres`, so every black-box test runs on both databases.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::db::Backend::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    super::$name($crate::db::Backend::Postgres).await
                }
            }
        )*
    };
}

//! Mail end to end: a notice queued by a use case leaves as an `.eml` file in the outbox by
//! default, and through a real SMTP server (aiosmtpd) when one is configured — including when
//! that server is down at first: the request that caused the mail is answered at once, and the
//! message goes out once the server is back.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use veza_testkit::db::TestDb;
use veza_testkit::outbox;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");

/// Two wrong passwords make nova's account wait, which mails the owner.
async fn trigger_lockout_notice(s: &TestServer) {
    s.register("nova").await;
    for expected in [401, 401, 429] {
        let (status, _) =
            s.post("/api/v1/auth/login", &json!({"login": "nova", "password": "not-the-password"}), None).await;
        assert_eq!(status, expected);
    }
}

/// Two free failures, then a first wait of ten minutes: the third try is refused however slowly
/// the test runs.
const LOCKOUT_ENV: [(&str, &str); 3] = [
    ("VEZA_LOGIN_FAILURES_PER_ACCOUNT", "2"),
    ("VEZA_LOGIN_FAILURES_PER_ADDRESS", "100"),
    ("VEZA_LOGIN_FIRST_DELAY_SECS", "600"),
];

const LOCKOUT: &str = "Repeated failed sign-ins to your Veza account";

fn assert_lockout_notice(message: &str) {
    for part in [
        "To: nova@example.com",
        "From: Veza <no-reply@127.0.0.1>",
        "Subject: Repeated failed sign-ins to your Veza account",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "127.0.0.1",
    ] {
        assert!(message.contains(part), "{part:?} missing from:\n{message}");
    }
}

#[tokio::test]
async fn notices_land_in_the_outbox_by_default() {
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &LOCKOUT_ENV).await;
    trigger_lockout_notice(&s).await;
    let message = outbox::wait_for(&s.data_dir().join("outbox"), "nova@example.com", LOCKOUT, 1).await;
    assert_lockout_notice(&message[0]);
    assert!(s.log_text().contains("mail written to the outbox"));
}

/// aiosmtpd, a real SMTP server, writing what it receives into a Maildir.
struct Smtpd {
    child: std::process::Child,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Smtpd {
    fn start(port: u16) -> Self {
        let python = std::env::var("VEZA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("Maildir");
        let child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run aiosmtpd with {python} (scripts/test installs it): {e}"));
        Self { child, maildir, _dir: dir }
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[tokio::test]
async fn smtp_delivery_survives_a_server_that_comes_up_late() {
    let port = free_port();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let env = [
        LOCKOUT_ENV[0],
        LOCKOUT_ENV[1],
        LOCKOUT_ENV[2],
        ("VEZA_SMTP_URL", smtp.as_str()),
        ("VEZA_MAIL_RETRY_FIRST_MS", "200"),
    ];
    let s = TestServer::start_with(BIN, TestDb::sqlite(), &env).await;
    // Nothing listens yet: the logins are answered anyway, and the notice waits in the queue.
    trigger_lockout_notice(&s).await;
    // The worker finds the notice at its next look at the queue: wait for its first failure.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !s.log_text().contains("mail delivery failed; will retry") {
        assert!(std::time::Instant::now() < deadline, "no failed delivery logged:\n{}", s.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut server = Smtpd::start(port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Ok(Some(status)) = server.child.try_wait() {
        panic!("aiosmtpd exited at once ({status}): is it installed for VEZA_TEST_PYTHON? scripts/test installs it");
    }
    let message = outbox::wait_for(&server.maildir.join("new"), "nova@example.com", LOCKOUT, 1).await;
    assert_lockout_notice(&message[0]);
    assert!(!s.data_dir().join("outbox").exists(), "with SMTP configured, nothing goes to files");
}

#[tokio::test]
async fn bad_mail_settings_stop_start_up() {
    for (key, value) in [("VEZA_SMTP_URL", "mail.example.org:25"), ("VEZA_MAIL_FROM", "not an address")] {
        let out = std::process::Command::new(BIN).args(["config", "check"]).env(key, value).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}={value}: {stderr}");
        assert!(stderr.contains(key), "{key}={value}: {stderr}");
    }
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_mailed_once() {
    let s = TestServer::start(BIN, veza_testkit::db::Backend::Sqlite).await;
    s.register("nova").await;
    let login = |agent: &'static str| {
        s.client
            .post(s.url("/api/v1/auth/login"))
            .header("user-agent", agent)
            .json(&json!({"login": "nova", "password": veza_testkit::server::PASSWORD}))
            .send()
    };
    for agent in ["Firefox/140.0 (test laptop)", "Firefox/140.0 (test laptop)"] {
        assert_eq!(login(agent).await.expect("login").status(), 200);
    }
    let outbox = s.data_dir().join("outbox");
    let subject = "New sign-in to your Veza account";
    let message = outbox::wait_for(&outbox, "nova@example.com", subject, 1).await;
    assert!(message[0].contains("Firefox/140.0 (test laptop)"), "{}", message[0]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let count = outbox::messages_to(&outbox, "nova@example.com", subject).len();
    assert_eq!(count, 1, "the second sign-in came from a known device");
}

//! A real S3-compatible server: `s3s-fs` (from the Rust package registry; `scripts/test`
//! installs it), started on a free port over a temporary folder, with one bucket, `veza`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The bucket every server has.
pub const BUCKET: &str = "veza";
pub const ACCESS_KEY: &str = "veza";
pub const SECRET_KEY: &str = "s3cret-key";

/// A running `s3s-fs`; stopped and reaped when dropped.
#[derive(Debug)]
pub struct S3Server {
    child: Child,
    pub port: u16,
    /// The folder behind the store: a bucket is a folder, an object a file.
    pub root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    pub async fn start() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let child = Command::new(s3s_fs())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs is installed (scripts/test: cargo install s3s-fs@0.14.1 --features binary)");
        // Owned at once, so that a failed start still stops and reaps the process.
        let server = Self { child, port, root };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("s3s-fs did not start listening on {port}");
    }

    /// Veza's storage URL for `prefix` in the bucket.
    pub fn storage_url(&self, prefix: &str) -> String {
        format!(
            "s3://{ACCESS_KEY}:{SECRET_KEY}@{BUCKET}/{prefix}?endpoint=http://127.0.0.1:{}&region=us-east-1",
            self.port
        )
    }
}

fn s3s_fs() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
    let installed = home.join(".cargo/bin/s3s-fs");
    if installed.exists() {
        installed
    } else {
        "s3s-fs".into()
    }
}

//! The Redis server tests share (`VEZA_TEST_REDIS_URL`, default the local one). Tests never
//! flush it: each takes its own key prefix.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/";

pub fn redis_url() -> String {
    std::env::var("VEZA_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_string())
}

/// The server's address, checked to answer PING; panics with what to do when it does not.
pub fn redis_addr() -> SocketAddr {
    let url = redis_url();
    let hostport = url.trim_start_matches("redis://").split(['/', '?']).next().unwrap_or_default();
    let hostport = hostport.rsplit('@').next().unwrap_or_default();
    let addr = hostport.to_socket_addrs().ok().and_then(|mut a| a.next()).unwrap_or_else(|| {
        panic!("VEZA_TEST_REDIS_URL={url} does not name a host and port");
    });
    let pong = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).and_then(|mut s| {
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"PING\r\n")?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf)?;
        Ok(buf)
    });
    match pong {
        Ok(buf) if &buf == b"+PONG\r\n" => addr,
        other => panic!(
            "Redis is needed for this test and does not answer at {url} ({other:?}); scripts/test starts it, or set VEZA_TEST_REDIS_URL"
        ),
    }
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("veza-test:{:016x}:", rand::random::<u64>())
}

/// How many connections subscribe to a pub/sub channel (`PUBSUB NUMSUB`).
pub fn subscribers(channel: &str) -> u64 {
    let mut stream = TcpStream::connect_timeout(&redis_addr(), Duration::from_secs(2)).expect("connect to Redis");
    stream.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    let words = ["PUBSUB", "NUMSUB", channel];
    let mut command = format!("*{}\r\n", words.len());
    for word in words {
        command.push_str(&format!("${}\r\n{word}\r\n", word.len()));
    }
    stream.write_all(command.as_bytes()).expect("write");
    // The answer, `*2 $n channel :count`, ends with the count's line.
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.ends_with(b"\r\n") || !answer.contains(&b':') {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "Redis closed the connection");
        answer.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    let count = text.rsplit(':').next().unwrap_or_default().trim();
    count.parse().unwrap_or_else(|_| panic!("unexpected PUBSUB answer {text:?}"))
}

/// A redis-server of one test's own, on a free port, that the test may kill and start again
/// (as a restart: empty, since it keeps nothing on disk) without disturbing the shared one.
#[derive(Debug)]
pub struct PrivateRedis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let mut redis = Self { port, dir: tempfile::tempdir().expect("temp dir"), child: None };
        redis.start_again().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// kill -9: every connection drops, every key and loaded script is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (the nodes' URL still names it), once it answers PING.
    pub async fn start_again(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        self.child = Some(child);
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !answers_ping(addr) {
            assert!(std::time::Instant::now() < deadline, "redis-server did not start on {addr}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn answers_ping(addr: SocketAddr) -> bool {
    let pong = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).and_then(|mut s| {
        s.set_read_timeout(Some(Duration::from_millis(500)))?;
        s.write_all(b"PING\r\n")?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf)?;
        Ok(buf)
    });
    matches!(pong, Ok(buf) if &buf == b"+PONG\r\n")
}

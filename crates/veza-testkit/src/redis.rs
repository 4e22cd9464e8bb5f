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

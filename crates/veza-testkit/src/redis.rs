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

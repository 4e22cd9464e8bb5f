//! The client's address. The forwarding header the proxies write — `X-Forwarded-For` or
//! `Forwarded` (RFC 7239), one of them, as configured — is believed only when the peer is a
//! configured trusted proxy, and then only as far back as the chain stays inside trusted proxies:
//! the client is the rightmost address not among them. The other header is never read: a proxy
//! that writes one passes the other through from the client untouched. From an untrusted peer
//! both are ignored and the peer address is the client.
//! Computed once per request and stored as a [`ClientIp`] extension for the audit log and, later,
//! the rate limiter.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The address a request is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Which header the trusted proxies write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

/// Proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    pub nets: Vec<IpNet>,
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

/// Hops examined at most: a longer chain is hostile or broken, and what lies beyond is not read.
const MAX_HOPS: usize = 32;

/// `::ffff:203.0.113.7` is the IPv4 client it wraps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address for a request from `peer` with `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    let chain = match trusted.header {
        ForwardedHeader::XForwardedFor => x_forwarded_for_chain(headers),
        ForwardedHeader::Forwarded => forwarded_chain(headers),
    };
    let Some(chain) = chain else { return peer };
    // Walk from the nearest hop outwards; stop at the first address we do not trust, or at the
    // first entry we cannot read (beyond it, anything could have been written by anyone).
    let mut client = peer;
    for hop in chain.iter().rev().take(MAX_HOPS) {
        let Some(ip) = hop else { break };
        client = canonical(*ip);
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

/// `for=` values of every `Forwarded` header, in order; `None` for entries that are not an IP
/// (`unknown`, obfuscated identifiers, garbage). `None` overall when there is no such header.
fn forwarded_chain(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut chain = Vec::new();
    let mut seen = false;
    for value in headers.get_all("forwarded") {
        seen = true;
        let Ok(text) = value.to_str() else {
            chain.push(None);
            continue;
        };
        for element in text.split(',') {
            let node = element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .map(|(_, v)| v.trim().trim_matches('"'));
            chain.push(node.and_then(parse_node));
        }
    }
    seen.then_some(chain)
}

/// A `Forwarded` node: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    node.parse().ok().or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

fn x_forwarded_for_chain(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut chain = Vec::new();
    let mut seen = false;
    for value in headers.get_all("x-forwarded-for") {
        seen = true;
        match value.to_str() {
            Ok(text) => chain.extend(text.split(',').map(|s| s.trim().parse().ok())),
            Err(_) => chain.push(None),
        }
    }
    seen.then_some(chain)
}

pub async fn attach(State(trusted): State<Arc<TrustedProxies>>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer {
        let ip = client_ip(peer, req.headers(), &trusted);
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies {
            nets: nets.iter().map(|n| n.parse().expect("cidr")).collect(),
            header: ForwardedHeader::XForwardedFor,
        }
    }

    fn trusted_forwarded(nets: &[&str]) -> TrustedProxies {
        TrustedProxies { header: ForwardedHeader::Forwarded, ..trusted(nets) }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(client_ip(ip("198.51.100.9"), &h, &trusted(&["10.0.0.0/8"])), ip("198.51.100.9"));
        assert_eq!(client_ip(ip("198.51.100.9"), &h, &TrustedProxies::default()), ip("198.51.100.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let t = trusted(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client sent a forged first entry; our proxies appended the real one.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("203.0.113.7"));
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("203.0.113.7"), "repeated headers form one list");
    }

    #[test]
    fn forwarded_is_parsed_with_ports_brackets_and_quotes() {
        let t = trusted_forwarded(&["10.0.0.0/8"]);
        let h = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https, For=10.1.1.1"#)]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("2001:db8::1"));
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;by=10.0.0.1"), ("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("192.0.2.60"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy writes X-Forwarded-For; a client's own Forwarded passes through it untouched.
        let h = headers(&[("forwarded", "for=10.0.0.9"), ("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted(&["10.0.0.0/8"])), ip("203.0.113.7"));
        let h = headers(&[("forwarded", "for=198.51.100.1")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted(&["10.0.0.0/8"])),
            ip("10.0.0.1"),
            "no X-Forwarded-For: the peer"
        );
        let h = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted_forwarded(&["10.0.0.0/8"])), ip("10.0.0.1"));
    }

    #[test]
    fn garbage_stops_the_walk() {
        let t = trusted(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.7, not-an-ip, 10.0.0.3")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &t),
            ip("10.0.0.3"),
            "nothing beyond the unreadable entry is believed"
        );
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("10.0.0.1"));
        let h = headers(&[("x-forwarded-for", &"10.9.9.9, ".repeat(100))]);
        assert!(t.contains(client_ip(ip("10.0.0.1"), &h, &t)), "long chains are cut, not followed");
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        assert_eq!(
            client_ip(ip("::ffff:203.0.113.7"), &HeaderMap::new(), &TrustedProxies::default()),
            ip("203.0.113.7")
        );
    }
}

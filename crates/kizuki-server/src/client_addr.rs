//! Who is asking: the address of the connection's peer, or — only when that peer is a
//! configured reverse proxy — the client address the proxies report in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is believed only hop by hop:
//! starting from the peer and walking the header right to left, an address is accepted as "the
//! client" as soon as it is *not* a trusted proxy. A client cannot spoof its way past that: any
//! addresses it puts in the header sit to the left of what the trusted proxies appended.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's IP address, or `None` when the server does not know the peer (in-process
/// tests that call the router directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// How requests reach the server.
#[derive(Debug, Clone, Default)]
pub struct NetworkConfig {
    /// Reverse proxies whose `X-Forwarded-For` is believed. Empty: the header is ignored.
    pub trusted_proxies: Vec<IpRange>,
    /// The server terminates TLS itself, so responses carry `Strict-Transport-Security`.
    pub tls: bool,
}

impl NetworkConfig {
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_proxies.iter().any(|range| range.contains(ip))
    }

    /// The client address for a request from `peer` carrying `headers`.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        if !self.is_trusted_proxy(peer) {
            return Some(peer);
        }
        // The last proxy appended the address it saw on the right; several header lines are
        // one list, in order.
        let mut client = peer;
        for line in headers.get_all(X_FORWARDED_FOR).iter().rev() {
            let Ok(line) = line.to_str() else {
                return Some(client);
            };
            for hop in line.rsplit(',') {
                let Some(ip) = parse_hop(hop) else {
                    // Garbage from a hop we trust less than the last one: stop at what we know.
                    return Some(client);
                };
                if !self.is_trusted_proxy(ip) {
                    return Some(ip);
                }
                client = ip;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: `IP`, `IPv4:port`, `[IPv6]` or `[IPv6]:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

/// An IP address or a CIDR range (`10.0.0.7`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(ip)), 32, self.prefix) == u128::from(u32::from(net))
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(ip), 128, self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// `value` (of `bits` bits) with all but the first `prefix` bits cleared.
fn masked(value: u128, bits: u32, prefix: u8) -> u128 {
    let host_bits = bits - u32::from(prefix).min(bits);
    value
        .checked_shr(host_bits)
        .and_then(|v| v.checked_shl(host_bits))
        .unwrap_or(0)
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: prefix length must be 0 to {max}"))?,
        };
        let network = match addr {
            IpAddr::V4(v4) => {
                let bits = masked(u128::from(u32::from(v4)), 32, prefix);
                IpAddr::V4(u32::try_from(bits).unwrap_or_default().into())
            }
            IpAddr::V6(v6) => IpAddr::V6(masked(u128::from(v6), 128, prefix).into()),
        };
        if network != addr {
            return Err(format!(
                "`{s}` has host bits set; did you mean `{network}/{prefix}`?"
            ));
        }
        Ok(Self { network, prefix })
    }
}

impl FromRef<AppState> for Arc<NetworkConfig> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.network)
    }
}

impl<S> FromRequestParts<S> for ClientAddr
where
    Arc<NetworkConfig>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let network = Arc::<NetworkConfig>::from_ref(state);
        // Absent when the router is called in-process (also honours `MockConnectInfo`).
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(network.client_ip(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::extract::connect_info::MockConnectInfo;
    use axum::http::{HeaderValue, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn network(proxies: &[&str]) -> NetworkConfig {
        NetworkConfig {
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
            tls: false,
        }
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let net = network(&[]);
        let headers = xff(&["203.0.113.9"]);
        assert_eq!(
            net.client_ip(Some(ip("198.51.100.1")), &headers),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(net.client_ip(None, &headers), None);
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof_its_address() {
        let net = network(&["10.0.0.1"]);
        let headers = xff(&["10.0.0.1, 203.0.113.9"]);
        assert_eq!(
            net.client_ip(Some(ip("198.51.100.1")), &headers),
            Some(ip("198.51.100.1"))
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let net = network(&["10.0.0.0/8"]);
        let peer = Some(ip("10.0.0.1"));
        // The client wrote "1.2.3.4" itself; the proxy appended what it saw.
        let headers = xff(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(net.client_ip(peer, &headers), Some(ip("203.0.113.9")));
        // A chain of trusted proxies, over several header lines.
        let headers = xff(&["1.2.3.4, 203.0.113.9", "10.1.1.1", "10.2.2.2"]);
        assert_eq!(net.client_ip(peer, &headers), Some(ip("203.0.113.9")));
        // Ports and brackets, as some proxies write them.
        let headers = xff(&["[2001:db8::7]:443"]);
        assert_eq!(net.client_ip(peer, &headers), Some(ip("2001:db8::7")));
        let headers = xff(&["203.0.113.9:5555"]);
        assert_eq!(net.client_ip(peer, &headers), Some(ip("203.0.113.9")));
        // No header: the proxy itself is all we know.
        assert_eq!(net.client_ip(peer, &HeaderMap::new()), peer);
        // Garbage stops the walk at the last trusted hop.
        let headers = xff(&["203.0.113.9, unknown, 10.3.3.3"]);
        assert_eq!(net.client_ip(peer, &headers), Some(ip("10.3.3.3")));
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_are_ipv4() {
        let net = network(&["10.0.0.1"]);
        assert_eq!(
            net.client_ip(Some(ip("::ffff:10.0.0.1")), &xff(&["203.0.113.9"])),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            network(&[]).client_ip(Some(ip("::ffff:192.0.2.1")), &HeaderMap::new()),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn ranges_parse_and_match() {
        let r: IpRange = "192.168.0.0/16".parse().unwrap();
        assert!(r.contains(ip("192.168.44.1")));
        assert!(!r.contains(ip("192.169.0.1")));
        assert!(!r.contains(ip("::1")));
        let r: IpRange = "fd00::/8".parse().unwrap();
        assert!(r.contains(ip("fd12:3456::1")));
        assert!(!r.contains(ip("fe80::1")));
        let any: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains(ip("8.8.8.8")));
        let one: IpRange = "::1".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        for bad in [
            "proxy.local",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "::/129",
            "10.0.0.0/x",
        ] {
            let err = bad.parse::<IpRange>().unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    async fn who(app: Router, headers: &[(&str, &str)]) -> String {
        let mut req = Request::builder().uri("/");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    fn router(net: NetworkConfig) -> Router {
        Router::new()
            .route(
                "/",
                axum::routing::get(|ClientAddr(ip): ClientAddr| async move { format!("{ip:?}") }),
            )
            .with_state(Arc::new(net))
    }

    #[tokio::test]
    async fn the_extractor_never_fails() {
        // In-process calls have no connection: no address, and no error either.
        assert_eq!(
            who(router(network(&[])), &[("x-forwarded-for", "1.2.3.4")]).await,
            "None"
        );
        let peer: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let app = router(network(&["10.0.0.1"])).layer(MockConnectInfo(peer));
        assert_eq!(
            who(app.clone(), &[("x-forwarded-for", "203.0.113.9")]).await,
            "Some(203.0.113.9)"
        );
        assert_eq!(who(app, &[]).await, "Some(10.0.0.1)");
    }
}

//! Who the client is: the TCP peer, or the address a trusted proxy names
//! in `X-Forwarded-For` / `Forwarded`; and the key it is counted under.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use http::HeaderMap;

/// An IP network: an address and a prefix length (`10.0.0.0/8`,
/// `2001:db8::/32`); a bare address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not an [`IpNetwork`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or network (e.g. 10.0.0.1, 10.0.0.0/8, ::1, fd00::/8)")]
pub struct IpNetworkError(String);

impl IpNetwork {
    /// The network of `addr` with `prefix` leading bits; `None` when the
    /// prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in this network (IPv4-mapped IPv6 addresses count
    /// as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn mask_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

impl FromStr for IpNetwork {
    type Err = IpNetworkError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || IpNetworkError(text.to_owned());
        let trimmed = text.trim();
        let (addr, prefix) = match trimmed.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (trimmed, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| error())?;
        let max = if addr.to_canonical().is_ipv4() {
            32
        } else {
            128
        };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| error())?,
            None => max,
        };
        // An IPv4-mapped network keeps its meaning as IPv4.
        let prefix = if addr.is_ipv6() && addr.to_canonical().is_ipv4() {
            prefix.checked_sub(96).ok_or_else(error)?
        } else {
            prefix
        };
        Self::new(addr, prefix).ok_or_else(error)
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The address a client is counted under: an IPv4 address, or the /64 of
/// an IPv6 one (one host commonly holds a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AddressKey(IpAddr);

impl AddressKey {
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                Self(IpAddr::V6(Ipv6Addr::from(octets)))
            }
            v4 => Self(v4),
        }
    }
}

/// The client's address: the TCP `peer`, unless the peer is a trusted
/// proxy, in which case the rightmost forwarded address that is not itself
/// a trusted proxy. `X-Forwarded-For` is read when present, else
/// `Forwarded: for=`; an entry that is not an IP address (`unknown`, an
/// obfuscated name) stops the walk at the proxy that wrote it.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNetwork]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let chain = forwarded_chain(headers);
    let mut client = peer;
    for entry in chain.iter().rev() {
        match entry {
            Some(ip) if is_trusted(*ip) => client = *ip,
            Some(ip) => return *ip,
            None => return client,
        }
    }
    client
}

/// The forwarded addresses, leftmost (the original client) first; `None`
/// for an entry that is not an IP address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !xff.is_empty() {
        return xff
            .iter()
            .flat_map(|line| line.split(','))
            .map(|item| parse_node(item.trim()))
            .collect();
    }
    headers
        .get_all(http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// One forwarded node: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711` or a bare IPv6 address.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = node.strip_prefix('[') {
        let end = rest.find(']')?;
        return rest[..end]
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical());
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("192.168.1.0/25").contains(ip("192.168.1.127")));
        assert!(!net("192.168.1.0/25").contains(ip("192.168.1.128")));
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("::1")));
        assert!(net("fd00::/8").contains(ip("fd12:3456::1")));
        assert!(!net("fd00::/8").contains(ip("fe80::1")));
        assert!(net("[::1]").contains(ip("::1")));
        assert!(net("::ffff:10.0.0.0/104").contains(ip("10.1.2.3")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host",
            "10.0.0.0/x",
            "/8",
        ] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad:?}");
        }
        assert_eq!(net("10.1.0.0/16").to_string(), "10.1.0.0/16");
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn an_untrusted_peer_is_the_client() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_address(ip("5.6.7.8"), &h, &[]), ip("5.6.7.8"));
        let trusted = [net("10.0.0.0/8")];
        assert_eq!(client_address(ip("5.6.7.8"), &h, &trusted), ip("5.6.7.8"));
    }

    #[test]
    fn a_trusted_proxy_names_the_rightmost_untrusted_address() {
        let trusted = [net("10.0.0.0/8"), net("127.0.0.1")];
        let peer = ip("127.0.0.1");
        let h = headers(&[("x-forwarded-for", "9.9.9.9, 1.2.3.4, 10.0.0.7")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("1.2.3.4"));
        // Several header lines form one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "9.9.9.9"),
            ("x-forwarded-for", "1.2.3.4, 10.0.0.7"),
        ]);
        assert_eq!(client_address(peer, &h, &trusted), ip("1.2.3.4"));
        // Only trusted proxies: the leftmost of them.
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.7")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("10.0.0.9"));
        // No header: the proxy itself.
        assert_eq!(client_address(peer, &HeaderMap::new(), &trusted), peer);
        // Garbage stops the walk at the proxy that wrote it.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, nonsense, 10.0.0.7")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("10.0.0.7"));
        // Ports and IPv6.
        let h = headers(&[("x-forwarded-for", "1.2.3.4:5678")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("1.2.3.4"));
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]:443")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("2001:db8::1"));
        let h = headers(&[("x-forwarded-for", "2001:db8::2")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("2001:db8::2"));
    }

    #[test]
    fn forwarded_is_read_without_x_forwarded_for() {
        let trusted = [net("127.0.0.1")];
        let peer = ip("127.0.0.1");
        let h = headers(&[(
            "forwarded",
            "for=9.9.9.9;proto=https, for=\"[2001:db8:cafe::17]:4711\";by=10.0.0.1",
        )]);
        assert_eq!(client_address(peer, &h, &trusted), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "For=\"1.2.3.4:80\"")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("1.2.3.4"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_address(peer, &h, &trusted), peer);
        // X-Forwarded-For wins when both are present.
        let h = headers(&[("forwarded", "for=9.9.9.9"), ("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_address(peer, &h, &trusted), ip("1.2.3.4"));
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(
            AddressKey::of(ip("2001:db8:1:2:aaaa::1")),
            AddressKey::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            AddressKey::of(ip("2001:db8:1:2::1")),
            AddressKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            AddressKey::of(ip("::ffff:1.2.3.4")),
            AddressKey::of(ip("1.2.3.4"))
        );
        assert_ne!(AddressKey::of(ip("1.2.3.4")), AddressKey::of(ip("1.2.3.5")));
    }
}

//! Source addresses for many short connections to a loopback hub.
//!
//! Each TCP connection to the hub needs a distinct (source address,
//! source port) pair toward the hub's one address and port; from one
//! source address there are about 28,000 ephemeral ports
//! (`net.ipv4.ip_local_port_range`), and a port whose connection is in
//! TIME_WAIT on this side stays taken for 60 s. At 10,000 sessions a
//! second that runs out in a few seconds, so connections are bound, before
//! connecting, to source addresses spread over 127.0.0.2–127.0.0.255 (the
//! whole of 127.0.0.0/8 is loopback on Linux): 254 × 28,000 pairs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The source addresses for connections to `hub`: `count` loopback
/// addresses from 127.0.0.2 on (at most 254) when the hub is on an IPv4
/// loopback address; none (the kernel picks) otherwise or when `count` is 0.
pub fn loopback_sources(hub: SocketAddr, count: usize) -> Vec<IpAddr> {
    match hub.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => (2..=255u8)
            .take(count)
            .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_over_loopback_only() {
        let hub: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let all = loopback_sources(hub, 1000);
        assert_eq!(all.len(), 254);
        assert_eq!(all[0], IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(all[253], IpAddr::V4(Ipv4Addr::new(127, 0, 0, 255)));
        assert_eq!(loopback_sources(hub, 3).len(), 3);
        assert!(loopback_sources(hub, 0).is_empty());
        assert!(loopback_sources("10.0.0.1:80".parse().unwrap(), 10).is_empty());
    }
}

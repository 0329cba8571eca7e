//! Where a request comes from, for per-source throttling of sign-in (SECURITY.md AN-2): the peer
//! address, or, only when the peer is a configured trusted proxy, the right-most address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Everything left of what a trusted proxy
//! appended is the client's own say and is never believed.

use std::net::IpAddr;

/// An address or a CIDR block (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    addr: IpAddr,
    prefix: u8,
}

impl IpBlock {
    pub fn parse(raw: &str) -> Option<Self> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (raw.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32) == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 { 0 } else { bits >> (width - prefix) }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) count as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address of a request that reached us from `peer` with these `X-Forwarded-For`
/// header values (in order of appearance).
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpBlock]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|b| b.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An unreadable hop was not written by a proxy we trust: stop at the last trusted one.
        let Ok(ip) = hop.parse::<IpAddr>() else { return client };
        let ip = canonical(ip);
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_match_their_addresses_only() {
        let b = IpBlock::parse("10.1.0.0/16").unwrap();
        assert!(b.contains(ip("10.1.200.3")));
        assert!(b.contains(ip("::ffff:10.1.0.1")));
        assert!(!b.contains(ip("10.2.0.1")));
        assert!(IpBlock::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(IpBlock::parse("::1").unwrap().contains(ip("::1")));
        assert!(IpBlock::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "nope", "10.0.0.0/x"] {
            assert!(IpBlock::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies_and_only_from_the_right() {
        let trusted = [IpBlock::parse("10.0.0.0/8").unwrap()];
        // Not behind a trusted proxy: the header is the client's own claim.
        assert_eq!(client_address(ip("203.0.113.9"), &["1.2.3.4"], &trusted), ip("203.0.113.9"));
        // Behind one: the right-most address the proxy appended.
        assert_eq!(client_address(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7"], &trusted), ip("198.51.100.7"));
        // Two trusted hops, forged entries to the left are ignored.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["6.6.6.6", "198.51.100.7, 10.0.0.5"], &trusted),
            ip("198.51.100.7")
        );
        // A garbled hop stops the walk at the last trusted address.
        assert_eq!(client_address(ip("10.0.0.2"), &["198.51.100.7, garbage"], &trusted), ip("10.0.0.2"));
        // A trusted proxy that sent no header is the source itself.
        assert_eq!(client_address(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
    }
}

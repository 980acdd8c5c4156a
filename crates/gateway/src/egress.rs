//! Where the gateway may send calls. A developer types the base URL, and the server then calls it from inside
//! the operator's network: without a rule, a URL naming `127.0.0.1`, `10.0.0.5` or the cloud metadata address
//! `169.254.169.254` would turn "test connection" into a probe of that network (server-side request forgery).
//!
//! By default only public addresses are reached. The rule is applied where the address is final: to IP literals
//! in the URL when the connection is saved and again when called, and to every address a host name resolves to
//! at connect time (so a name that later re-resolves to a private address is refused too). An operator whose
//! developers' models run on a private network starts the server with `--allow-private-upstreams`.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which upstream addresses may be called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Egress {
    /// Public unicast addresses only (the default).
    #[default]
    PublicOnly,
    /// Any address, private networks and loopback included.
    Any,
}

impl Egress {
    pub fn allows(self, ip: IpAddr) -> bool {
        self == Egress::Any || is_public(ip)
    }

    /// Refuses a URL whose host is an IP literal this rule does not allow; names are checked when resolved.
    pub fn check_url(self, url: &str) -> Result<(), NotPublic> {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return Ok(());
        };
        let host = parsed.host_str().unwrap_or_default();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let Ok(ip) = host.parse::<IpAddr>() else {
            return Ok(());
        };
        if self.allows(ip) { Ok(()) } else { Err(NotPublic) }
    }
}

/// The error of a call to an address the rule does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotPublic;

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the upstream's address is not a public one, and this server calls public addresses only")
    }
}

impl std::error::Error for NotPublic {}

/// Whether an error (or one of its causes) is a refusal by this rule.
pub fn is_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<NotPublic>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Whether an address is publicly routable unicast: not loopback, private, shared (CGNAT), link-local,
/// documentation, benchmarking, multicast, reserved or unspecified; IPv6 forms that embed an IPv4 address
/// (mapped, NAT64, 6to4) are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (b & 0xc0) == 64)
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b & 0xfe) == 18)
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    match segments {
        // NAT64, 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => return is_public_v4(embedded(high, low)),
        // 6to4, 2002::/16: the IPv4 address follows the prefix.
        [0x2002, high, low, ..] => return is_public_v4(embedded(high, low)),
        _ => {}
    }
    let [first, second, ..] = segments;
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        // IPv4-compatible (deprecated), ::/96.
        || matches!(segments, [0, 0, 0, 0, 0, 0, _, _])
        // Site-local (deprecated), fec0::/10.
        || (first & 0xffc0) == 0xfec0
        // Documentation, 2001:db8::/32.
        || (first == 0x2001 && second == 0x0db8)
        // Discard-only, 100::/64.
        || matches!(segments, [0x0100, 0, 0, 0, ..]))
}

/// Resolves host names as the system does, keeping only the addresses the rule allows.
pub struct Resolver(pub Egress);

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let egress = self.0;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| egress.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_public() {
        let cases = [
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("100.63.255.255", true),
            ("100.128.0.1", true),
            ("172.32.0.1", true),
            ("198.20.0.1", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("10.0.0.5", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            ("2606:4700:4700::1111", true),
            ("2001:4860:4860::8888", true),
            ("::", false),
            ("::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("2001:db8::1", false),
            ("100::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.1.2.3", false),
            ("::ffff:8.8.8.8", true),
            ("::127.0.0.1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::808:808", true),
            ("2002:c0a8:0101::1", false),
            ("2002:0808:0808::1", true),
        ];
        for (address, public) in cases {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(is_public(ip), public, "{address}");
            assert!(Egress::Any.allows(ip), "{address}");
        }
    }

    #[test]
    fn urls_naming_a_private_address_are_refused() {
        let cases = [
            ("https://api.example.com/v1", true),
            ("https://8.8.8.8/v1", true),
            ("http://127.0.0.1:9000/v1", false),
            ("http://[::1]:9000/v1", false),
            ("http://169.254.169.254/latest", false),
            ("http://[::ffff:192.168.0.1]/v1", false),
            // Names are judged by what they resolve to, at connect time.
            ("http://localhost:9000/v1", true),
        ];
        for (url, allowed) in cases {
            assert_eq!(Egress::PublicOnly.check_url(url).is_ok(), allowed, "{url}");
            assert!(Egress::Any.check_url(url).is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        let name: Name = "localhost".parse().unwrap();
        let refused = Resolver(Egress::PublicOnly).resolve(name).await.err().unwrap();
        assert!(is_refusal(refused.as_ref()), "{refused}");
        let name: Name = "localhost".parse().unwrap();
        let found: Vec<SocketAddr> = Resolver(Egress::Any).resolve(name).await.unwrap().collect();
        assert!(found.iter().any(|a| a.ip().is_loopback()), "{found:?}");
    }
}

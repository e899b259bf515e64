//! The outbound-target guard: webhooks must not become a way into the internal network.
//!
//! An administrator types a webhook URL; a careless or hostile one could point Kizuki at the
//! cloud metadata service, the database port or an intranet admin page, and Kizuki would
//! dutifully POST to it (server-side request forgery). So every target is checked twice:
//! the URL itself ([`check_url`]: http(s) only, no credentials in it) and every address its
//! host resolves to ([`check_addresses`]), refusing anything that is not ordinary public
//! unicast unless the administrator's allow-list names it.
//!
//! The caller must connect to one of the addresses it checked (pin them in the HTTP
//! client's resolver) and must not follow redirects without checking again; otherwise a DNS
//! answer that changes between the check and the connection (rebinding) defeats the guard.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use kizuki_domain::ValidationError;
use kizuki_domain::error::Validator;
use url::{Host, Url};

/// Why an address is not an ordinary public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// 0.0.0.0/8: "this network", which many stacks treat as the local host.
    ThisNetwork,
    Unspecified,
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16).
    Private,
    /// 100.64.0.0/10, carrier-grade NAT; in clouds often internal service addresses.
    SharedAddressSpace,
    /// 169.254/16 (home of the cloud metadata service) and fe80::/10.
    LinkLocal,
    /// fc00::/7, IPv6's private addresses.
    UniqueLocal,
    Multicast,
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18/15, for benchmarking networks.
    Benchmarking,
    /// Everything else set aside by the IANA registries: 192.0.0/24, 240/4, fec0::/10,
    /// 100::/64 and the like.
    Reserved,
}

impl AddressClass {
    fn describe(self) -> &'static str {
        match self {
            AddressClass::ThisNetwork => "in 0.0.0.0/8 (this network)",
            AddressClass::Unspecified => "the unspecified address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private (RFC 1918) address",
            AddressClass::SharedAddressSpace => "in the shared address space 100.64.0.0/10",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::UniqueLocal => "a unique-local address (fc00::/7)",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::Documentation => "reserved for documentation",
            AddressClass::Benchmarking => "reserved for benchmarking",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a target was refused, naming the address where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the URL cannot be read: {0}")]
    Unparsable(String),
    #[error("the scheme `{0}` is not allowed; use http or https")]
    Scheme(String),
    #[error("the URL must not contain a user name or password")]
    UserInfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("the host resolved to no address")]
    NoAddresses,
    #[error("{address} is {class}{}", embedded_note(.embedded))]
    Address {
        address: IpAddr,
        class: AddressClass,
        /// The IPv4 address an IPv6 form carries (`::ffff:127.0.0.1`), when that is what
        /// was judged.
        embedded: Option<Ipv4Addr>,
    },
}

fn embedded_note(embedded: &Option<Ipv4Addr>) -> String {
    embedded.map_or_else(String::new, |v4| format!(" (it carries {v4})"))
}

/// An address range in CIDR notation; a bare address means just that address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{0}` is not an IP address")]
    Address(String),
    #[error("the prefix length `{0}` is not valid for this address family")]
    Prefix(String),
    #[error("`{0}` has bits set after the prefix; write the network address")]
    HostBits(String),
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(
                u128::from(n.to_bits()),
                u128::from(a.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(n.to_bits(), a.to_bits(), 128, self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, width: u32, prefix: u8) -> bool {
    let prefix = u32::from(prefix);
    if prefix == 0 {
        return true;
    }
    let shift = width.saturating_sub(prefix);
    a.checked_shr(shift) == b.checked_shr(shift)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::Address(addr.to_owned()))?;
        let width: u8 = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= width && !p.starts_with('+') => n,
                _ => return Err(CidrError::Prefix(p.to_owned())),
            },
        };
        let cidr = Cidr { network, prefix };
        // A range written with host bits ("10.1.2.3/8") is usually a mistake for a single
        // address; refusing it makes the administrator say which was meant.
        let bits = match network {
            IpAddr::V4(v) => u128::from(v.to_bits()) << 96,
            IpAddr::V6(v) => v.to_bits(),
        };
        let host_bits = bits.checked_shl(u32::from(cidr.prefix)).unwrap_or(0);
        if cidr.prefix < width && host_bits != 0 {
            return Err(CidrError::HostBits(s.to_owned()));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Ranges the administrator has allowed despite their class (an on-premises chat server at
/// 10.0.5.20, say). Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    cidrs: Vec<Cidr>,
}

impl AllowList {
    pub fn new(cidrs: Vec<Cidr>) -> Self {
        AllowList { cidrs }
    }

    /// Parses the administrator's entries, naming each bad one as `allow_list[i]`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, ValidationError> {
        let mut v = Validator::new();
        let mut cidrs = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            match e.as_ref().parse::<Cidr>() {
                Ok(c) => cidrs.push(c),
                Err(err) => v.push(format!("allow_list[{i}]"), err.to_string()),
            }
        }
        v.finish()?;
        Ok(AllowList { cidrs })
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        self.cidrs.iter().any(|c| c.contains(ip))
    }
}

fn v4_in(a: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    prefix_eq(
        u128::from(a.to_bits()),
        u128::from(Ipv4Addr::from(net).to_bits()),
        32,
        prefix,
    )
}

fn v6_in(a: Ipv6Addr, net: [u16; 8], prefix: u8) -> bool {
    prefix_eq(a.to_bits(), Ipv6Addr::from(net).to_bits(), 128, prefix)
}

/// The class of an IPv4 address, or `None` for ordinary public unicast.
pub fn classify_v4(a: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let table: &[([u8; 4], u8, AddressClass)] = &[
        ([0, 0, 0, 0], 32, Unspecified),
        ([0, 0, 0, 0], 8, ThisNetwork),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedAddressSpace),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    table
        .iter()
        .find(|(net, prefix, _)| v4_in(a, *net, *prefix))
        .map(|(_, _, class)| *class)
}

/// The IPv4 address an IPv6 address stands for, where one is embedded in a form that
/// reaches it: mapped (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`)
/// and 6to4 (`2002:AABB:CCDD::/48`).
pub fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = a.to_bits();
    let low32 = Ipv4Addr::from_bits((bits & 0xffff_ffff) as u32);
    if let Some(v4) = a.to_ipv4_mapped() {
        return Some(v4);
    }
    if bits >> 32 == 0 && bits > 1 {
        return Some(low32); // IPv4-compatible (deprecated, but still routed by some stacks)
    }
    if v6_in(a, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return Some(low32);
    }
    if v6_in(a, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        return Some(Ipv4Addr::from_bits(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

/// The class of an IPv6 address on its own (not looking at embedded IPv4).
pub fn classify_v6(a: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let table: &[([u16; 8], u8, AddressClass)] = &[
        ([0, 0, 0, 0, 0, 0, 0, 0], 128, Unspecified),
        ([0, 0, 0, 0, 0, 0, 0, 1], 128, Loopback),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, Reserved),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Reserved),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
    ];
    table
        .iter()
        .find(|(net, prefix, _)| v6_in(a, *net, *prefix))
        .map(|(_, _, class)| *class)
}

/// Judges one address against the allow-list.
pub fn check_address(address: IpAddr, allow: &AllowList) -> Result<(), Refusal> {
    let refuse = |class, embedded| {
        Err(Refusal::Address {
            address,
            class,
            embedded,
        })
    };
    if allow.permits(address) {
        return Ok(());
    }
    match address {
        IpAddr::V4(v4) => match classify_v4(v4) {
            Some(class) => refuse(class, None),
            None => Ok(()),
        },
        IpAddr::V6(v6) => {
            if let Some(class) = classify_v6(v6) {
                return refuse(class, None);
            }
            match embedded_v4(v6) {
                // The allow-list may name the IPv4 form of an address it permits.
                Some(v4) if allow.permits(IpAddr::V4(v4)) => Ok(()),
                Some(v4) => match classify_v4(v4) {
                    Some(class) => refuse(class, Some(v4)),
                    None => Ok(()),
                },
                None => Ok(()),
            }
        }
    }
}

/// Judges every address a host resolved to. All must pass: the HTTP client may pick any of
/// them, and a hostile DNS answer mixes a public address with an internal one.
pub fn check_addresses(addresses: &[IpAddr], allow: &AllowList) -> Result<(), Refusal> {
    if addresses.is_empty() {
        return Err(Refusal::NoAddresses);
    }
    addresses.iter().try_for_each(|a| check_address(*a, allow))
}

/// Checks the URL itself: http or https, no user information, a host. The URL is parsed with
/// the same WHATWG rules the HTTP client uses, so `http://0x7f.1/` is seen as 127.0.0.1 here
/// exactly as it would be there.
pub fn check_url(url: &str) -> Result<Url, Refusal> {
    let parsed = Url::parse(url).map_err(|e| Refusal::Unparsable(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Refusal::Scheme(parsed.scheme().to_owned()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refusal::UserInfo);
    }
    if parsed.host().is_none() {
        return Err(Refusal::NoHost);
    }
    Ok(parsed)
}

/// The address of a URL whose host is written as an IP address (no DNS needed).
pub fn literal_address(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn class_of(s: &str) -> Option<AddressClass> {
        match check_address(ip(s), &AllowList::default()) {
            Ok(()) => None,
            Err(Refusal::Address { class, .. }) => Some(class),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn address_table() {
        let cases: &[(&str, Option<AddressClass>)] = &[
            ("93.184.215.14", None),
            ("8.8.8.8", None),
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(ThisNetwork)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("11.0.0.1", None),
            ("100.63.255.255", None),
            ("100.64.0.1", Some(SharedAddressSpace)),
            ("100.127.255.254", Some(SharedAddressSpace)),
            ("100.128.0.0", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.0.9", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("172.15.255.255", None),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.0", None),
            ("192.0.0.8", Some(Reserved)),
            ("192.0.2.55", Some(Documentation)),
            ("192.88.99.1", None),
            ("192.168.1.1", Some(Private)),
            ("198.18.0.1", Some(Benchmarking)),
            ("198.19.255.255", Some(Benchmarking)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.200", Some(Documentation)),
            ("224.0.0.251", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("2606:4700::6810:84e5", None),
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(Reserved)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd12:3456::1", Some(UniqueLocal)),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff:0fff::1", Some(Documentation)),
            ("100::1", Some(Reserved)),
            // IPv6 forms that carry an IPv4 address are judged by that address.
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Loopback)),
            ("::192.168.0.1", Some(Private)),
            ("::0.0.0.2", Some(ThisNetwork)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("64:ff9b::808:808", None),
            ("2002:7f00:1::1", Some(Loopback)),
            ("2002:0808:0808::1", None),
        ];
        for (addr, expect) in cases {
            assert_eq!(class_of(addr), *expect, "{addr}");
        }
    }

    #[test]
    fn refusal_names_the_address_and_the_reason() {
        let e = check_address(ip("::ffff:169.254.169.254"), &AllowList::default()).unwrap_err();
        assert_eq!(
            e,
            Refusal::Address {
                address: ip("::ffff:169.254.169.254"),
                class: LinkLocal,
                embedded: Some(Ipv4Addr::new(169, 254, 169, 254)),
            }
        );
        assert_eq!(
            e.to_string(),
            "::ffff:169.254.169.254 is a link-local address (it carries 169.254.169.254)"
        );
        let e = check_address(ip("10.0.0.5"), &AllowList::default()).unwrap_err();
        assert_eq!(e.to_string(), "10.0.0.5 is a private (RFC 1918) address");
    }

    #[test]
    fn allow_list_permits_named_ranges_only() {
        let allow = AllowList::parse(&["10.0.5.0/24", "fd00:1::/32", "127.0.0.1"]).unwrap();
        let cases: &[(&str, bool)] = &[
            ("10.0.5.20", true),
            ("10.0.6.20", false),
            ("::ffff:10.0.5.20", true),
            ("fd00:1:2::3", true),
            ("fd00:2::3", false),
            ("127.0.0.1", true),
            ("127.0.0.2", false),
            ("169.254.169.254", false),
        ];
        for (addr, ok) in cases {
            assert_eq!(check_address(ip(addr), &allow).is_ok(), *ok, "{addr}");
        }
    }

    #[test]
    fn every_resolved_address_must_pass() {
        let none = AllowList::default();
        assert_eq!(check_addresses(&[], &none), Err(Refusal::NoAddresses));
        assert!(check_addresses(&[ip("8.8.8.8"), ip("2606:4700::1")], &none).is_ok());
        let e = check_addresses(&[ip("8.8.8.8"), ip("10.0.0.1")], &none).unwrap_err();
        assert!(matches!(e, Refusal::Address { class: Private, .. }), "{e}");
    }

    #[test]
    fn cidr_parsing() {
        let ok: &[(&str, &str)] = &[
            ("10.0.0.0/8", "10.0.0.0/8"),
            (" 192.168.1.10 ", "192.168.1.10/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("fd00::/8", "fd00::/8"),
            ("::1", "::1/128"),
        ];
        for (s, shown) in ok {
            assert_eq!(s.parse::<Cidr>().unwrap().to_string(), *shown, "{s}");
        }
        let bad: &[(&str, CidrError)] = &[
            ("10.0.0.0/33", CidrError::Prefix("33".into())),
            ("10.0.0.0/", CidrError::Prefix("".into())),
            ("10.0.0.0/+8", CidrError::Prefix("+8".into())),
            ("fd00::/129", CidrError::Prefix("129".into())),
            ("10.0.0.300/8", CidrError::Address("10.0.0.300".into())),
            ("intranet", CidrError::Address("intranet".into())),
            ("10.1.2.3/8", CidrError::HostBits("10.1.2.3/8".into())),
            ("fd00::1/8", CidrError::HostBits("fd00::1/8".into())),
        ];
        for (s, e) in bad {
            assert_eq!(s.parse::<Cidr>().as_ref(), Err(e), "{s}");
        }
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("1.2.3.4")));
        assert!(!all.contains(ip("::1")), "families never mix");
        let e = AllowList::parse(&["10.0.0.0/8", "nonsense", "1.2.3.4/40"]).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["allow_list[1]", "allow_list[2]"]);
    }

    #[test]
    fn url_checks() {
        let cases: &[(&str, Result<(), Refusal>)] = &[
            ("https://hooks.slack.com/services/T/B/X", Ok(())),
            ("http://chat.example:8065/hooks/abc", Ok(())),
            ("HTTPS://Example.COM/x", Ok(())),
            ("ftp://example.com/x", Err(Refusal::Scheme("ftp".into()))),
            ("file:///etc/passwd", Err(Refusal::Scheme("file".into()))),
            (
                "gopher://127.0.0.1:6379/_",
                Err(Refusal::Scheme("gopher".into())),
            ),
            ("https://user:pw@example.com/", Err(Refusal::UserInfo)),
            ("https://user@example.com/", Err(Refusal::UserInfo)),
            ("https://:pw@example.com/", Err(Refusal::UserInfo)),
        ];
        for (url, expect) in cases {
            assert_eq!(check_url(url).map(|_| ()), *expect, "{url}");
        }
        assert!(matches!(
            check_url("not a url"),
            Err(Refusal::Unparsable(_))
        ));
        assert!(matches!(check_url("https://"), Err(Refusal::Unparsable(_))));
    }

    #[test]
    fn literal_hosts_are_read_as_the_client_reads_them() {
        let none = AllowList::default();
        let cases: &[(&str, Option<&str>)] = &[
            ("http://0x7f.1/", Some("127.0.0.1")),
            ("http://2130706433/", Some("127.0.0.1")),
            ("http://017700000001/", Some("127.0.0.1")),
            ("http://[::ffff:7f00:1]/", Some("::ffff:127.0.0.1")),
            (
                "http://169.254.169.254/latest/meta-data/",
                Some("169.254.169.254"),
            ),
            ("https://example.com/", None),
        ];
        for (url, expect) in cases {
            let u = check_url(url).unwrap();
            let lit = literal_address(&u);
            assert_eq!(lit, expect.map(ip), "{url}");
            if let Some(a) = lit {
                assert!(check_addresses(&[a], &none).is_err(), "{url}");
            }
        }
    }
}

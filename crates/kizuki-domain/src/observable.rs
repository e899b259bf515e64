//! Observables (indicators): normalised so that the same IP, domain or hash written two
//! different ways still links the incidents that share it. In case 10 of the study a virus
//! detection on day 2 and an intrusion seen on day 6 were one incident; correlation on
//! normalised observables is how Kizuki makes that visible.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Validator, limits};
use crate::{ValidationError, string_enum};

string_enum! {
    pub enum ObservableKind: "observable kind" {
        Ip => "ip",
        Cidr => "cidr",
        Domain => "domain",
        Url => "url",
        Email => "email",
        Hash => "hash",
        Account => "account",
        FileName => "file_name",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Observable {
    pub id: i64,
    pub incident_id: i64,
    pub kind: ObservableKind,
    /// As the user wrote it.
    pub value: String,
    /// The canonical form used for matching.
    pub normalized: String,
    pub note: String,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObservable {
    pub kind: ObservableKind,
    pub value: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_seen: Option<Timestamp>,
}

/// Another incident that holds the same observable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SharedObservable {
    pub incident_id: i64,
    pub incident_title: String,
    pub observable_id: i64,
    pub kind: ObservableKind,
    pub normalized: String,
}

impl NewObservable {
    pub fn validate(&self) -> Result<String, ValidationError> {
        let mut v = Validator::new();
        v.optional_text("note", &self.note, limits::TEXT);
        v.optional_instant("first_seen", self.first_seen);
        let normalized = match normalize(self.kind, &self.value) {
            Ok(n) => Some(n),
            Err(msg) => {
                v.push("value", msg);
                None
            }
        };
        v.finish()?;
        normalized.ok_or_else(|| ValidationError::one("value", "could not be normalised"))
    }
}

/// Undo the usual defanging: `hxxp://evil[.]example` → `http://evil.example`.
fn refang(s: &str) -> String {
    s.trim()
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("[@]", "@")
        .replace("hxxps://", "https://")
        .replace("hxxp://", "http://")
        .replace("hXXps://", "https://")
        .replace("hXXp://", "http://")
}

/// Canonical form of an observable, or the reason it is not one.
pub fn normalize(kind: ObservableKind, raw: &str) -> Result<String, String> {
    let s = refang(raw);
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if s.chars().count() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    match kind {
        ObservableKind::Ip => s
            .parse::<IpAddr>()
            .map(|ip| canonical_ip(ip).to_string())
            .map_err(|_| format!("`{s}` is not an IPv4 or IPv6 address")),
        ObservableKind::Cidr => normalize_cidr(&s),
        ObservableKind::Domain => normalize_domain(&s),
        ObservableKind::Url => normalize_url(&s),
        ObservableKind::Email => {
            let lower = s.to_lowercase();
            match lower.split_once('@') {
                Some((local, domain)) if !local.is_empty() => {
                    Ok(format!("{local}@{}", normalize_domain(domain)?))
                }
                _ => Err(format!("`{s}` is not an e-mail address")),
            }
        }
        ObservableKind::Hash => {
            let h = s.to_ascii_lowercase();
            let hex = h.bytes().all(|b| b.is_ascii_hexdigit());
            if hex && matches!(h.len(), 32 | 40 | 64 | 128) {
                Ok(h)
            } else {
                Err("must be an MD5, SHA-1, SHA-256 or SHA-512 in hexadecimal".into())
            }
        }
        // Windows account names are case-insensitive; DOMAIN\user and user@domain stay as written.
        ObservableKind::Account => Ok(s.to_lowercase()),
        // Windows file names are case-insensitive; only the last path component identifies it.
        ObservableKind::FileName => {
            let base = s.rsplit(['\\', '/']).next().unwrap_or(&s);
            if base.is_empty() {
                Err("must name a file, not a folder".into())
            } else {
                Ok(base.to_lowercase())
            }
        }
    }
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn normalize_cidr(s: &str) -> Result<String, String> {
    let (addr, len) = s.split_once('/').unwrap_or((s, ""));
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{s}` is not a network such as 192.0.2.0/24"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = if len.is_empty() {
        max
    } else {
        len.parse()
            .map_err(|_| format!("`{len}` is not a prefix length"))?
    };
    if len > max {
        return Err(format!("prefix length {len} is longer than {max}"));
    }
    Ok(match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            format!("{}/{len}", std::net::Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            format!("{}/{len}", std::net::Ipv6Addr::from(bits & mask))
        }
    })
}

fn normalize_domain(s: &str) -> Result<String, String> {
    let d = s.trim().trim_end_matches('.').to_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("`{s}` is not a domain name"))
    }
}

fn normalize_url(s: &str) -> Result<String, String> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(format!("`{s}` is not a URL (no scheme)"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(format!("`{s}` has an invalid scheme"));
    }
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let host_port = authority
        .rsplit('@')
        .next()
        .unwrap_or(authority)
        .to_lowercase();
    if host_port.is_empty() {
        return Err(format!("`{s}` has no host"));
    }
    let default_port = match scheme.as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        _ => None,
    };
    let host_port = match default_port {
        Some(p) if host_port.ends_with(p) => host_port[..host_port.len() - p.len()].to_owned(),
        _ => host_port,
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok(format!("{scheme}://{host_port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ObservableKind::*;

    #[test]
    fn the_same_indicator_written_differently_normalises_the_same() {
        let cases = [
            (Ip, "::ffff:192.0.2.7", "192.0.2.7"),
            (Ip, " 2001:DB8::1 ", "2001:db8::1"),
            (Cidr, "192.0.2.77/24", "192.0.2.0/24"),
            (Cidr, "10.1.2.3", "10.1.2.3/32"),
            (Domain, "Evil[.]Example.COM.", "evil.example.com"),
            (
                Url,
                "hxxps://Evil.Example:443/Path?q=1",
                "https://evil.example/Path?q=1",
            ),
            (Url, "HTTP://evil.example", "http://evil.example/"),
            (Email, "Attacker@Evil.Example", "attacker@evil.example"),
            (
                Hash,
                "D41D8CD98F00B204E9800998ECF8427E",
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
            (Account, "CORP\\Administrator", "corp\\administrator"),
            (FileName, "C:\\Users\\Public\\Mimikatz.EXE", "mimikatz.exe"),
        ];
        for (kind, raw, want) in cases {
            assert_eq!(normalize(kind, raw).as_deref(), Ok(want), "{kind} {raw}");
        }
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        assert!(normalize(Ip, "999.1.1.1").is_err());
        assert!(normalize(Cidr, "192.0.2.0/33").is_err());
        assert!(normalize(Hash, "abc").is_err());
        assert!(normalize(Domain, "bad domain").is_err());
        assert!(normalize(Url, "evil.example").is_err());
        assert!(normalize(FileName, "C:\\Temp\\").is_err());
    }
}

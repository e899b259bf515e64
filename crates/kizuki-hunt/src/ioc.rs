//! Indicator sweeps: IPs, CIDRs, domains, URLs, e-mail addresses, hashes, accounts and file
//! names, matched against every string field of every event in one pass.

use crate::event::Event;
use crate::output::IndicatorKind;
use crate::sigma::modifier::Cidr;
use aho_corasick::AhoCorasick;
use regex::Regex;
use serde_json::Value;
use std::net::IpAddr;
use std::path::Path;

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Kind.
    pub kind: IndicatorKind,
    /// Value as given.
    pub value: String,
}

/// A compiled indicator list.
#[derive(Debug)]
pub struct IocSet {
    /// All indicators.
    pub indicators: Vec<Indicator>,
    ac: Option<AhoCorasick>,
    /// Pattern index -> indicator index.
    ac_map: Vec<usize>,
    cidrs: Vec<(Cidr, usize)>,
    /// Lines that could not be read as indicators.
    pub rejected: Vec<String>,
}

const FILE_EXT: &[&str] = &[
    "exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "hta", "scr",
    "lnk", "msi", "jar", "py", "sh", "zip", "rar", "7z", "iso", "img", "doc", "docx", "docm",
    "xls", "xlsx", "xlsm", "ppt", "pptx", "pdf", "rtf", "tmp", "dat", "bin", "elf", "so", "apk",
    "cpl", "ocx", "wsf", "one", "chm",
];

/// Guess the kind of an indicator written as plain text.
pub fn classify(v: &str) -> Option<IndicatorKind> {
    let v = v.trim();
    if v.is_empty() || v.contains(char::is_whitespace) && !v.contains('\\') {
        return None;
    }
    if v.parse::<IpAddr>().is_ok() {
        return Some(IndicatorKind::Ip);
    }
    if v.contains('/') && Cidr::parse(v).is_some() {
        return Some(IndicatorKind::Cidr);
    }
    if v.contains("://") {
        return Some(IndicatorKind::Url);
    }
    if let Some((u, d)) = v.split_once('@')
        && !u.is_empty()
        && d.contains('.')
    {
        return Some(IndicatorKind::Email);
    }
    if matches!(v.len(), 32 | 40 | 64 | 128) && v.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some(IndicatorKind::Hash);
    }
    if v.contains('\\') {
        return Some(IndicatorKind::Account);
    }
    if let Some((_, ext)) = v.rsplit_once('.')
        && FILE_EXT.contains(&ext.to_ascii_lowercase().as_str())
    {
        return Some(IndicatorKind::FileName);
    }
    if v.contains('.')
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
        && v.rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic))
    {
        return Some(IndicatorKind::Domain);
    }
    if v.chars().all(|c| c.is_alphanumeric() || "._-$".contains(c)) {
        return Some(IndicatorKind::Account);
    }
    None
}

/// Read an indicator file: a STIX 2.1 bundle (JSON) or plain text, one indicator a line,
/// optionally written `kind:value` (kinds: ip, cidr, domain, url, email, hash, account,
/// file_name). `#` starts a comment line.
pub fn load(path: &Path) -> Result<IocSet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parse indicator text (see [`load`]).
pub fn parse(text: &str) -> Result<IocSet, String> {
    let t = text.trim_start();
    let (list, rejected) = if t.starts_with('{') {
        (parse_stix(t)?, Vec::new())
    } else {
        parse_text(text)
    };
    Ok(IocSet::new(list, rejected))
}

fn parse_text(text: &str) -> (Vec<Indicator>, Vec<String>) {
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let explicit = l
            .split_once([':', ',', '\t'])
            .and_then(|(k, v)| IndicatorKind::parse(k).map(|k| (k, v.trim())))
            .filter(|(_, v)| !v.starts_with("//"));
        match explicit {
            Some((kind, v)) if !v.is_empty() => out.push(Indicator {
                kind,
                value: v.to_string(),
            }),
            _ => match classify(l) {
                Some(kind) => out.push(Indicator {
                    kind,
                    value: l.to_string(),
                }),
                None => rejected.push(l.to_string()),
            },
        }
    }
    (out, rejected)
}

fn stix_kind(obj_type: &str, path: &str, value: &str) -> Option<IndicatorKind> {
    Some(match obj_type {
        "ipv4-addr" | "ipv6-addr" => {
            if value.contains('/') {
                IndicatorKind::Cidr
            } else {
                IndicatorKind::Ip
            }
        }
        "domain-name" => IndicatorKind::Domain,
        "url" => IndicatorKind::Url,
        "email-addr" => IndicatorKind::Email,
        "user-account" => IndicatorKind::Account,
        "file" if path.starts_with("hashes") => IndicatorKind::Hash,
        "file" if path == "name" => IndicatorKind::FileName,
        _ => return None,
    })
}

fn parse_stix(text: &str) -> Result<Vec<Indicator>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let objs = match (&v.get("type"), v.get("objects")) {
        (Some(Value::String(t)), Some(Value::Array(o))) if t == "bundle" => o.clone(),
        _ => return Err("JSON indicator files must be STIX 2.1 bundles".into()),
    };
    let re = Regex::new(
        r"(?i)([a-z0-9-]+):([a-z0-9_.'\- ]+?)\s*(?:=|LIKE|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'",
    )
    .map_err(|e| e.to_string())?;
    let mut out: Vec<Indicator> = Vec::new();
    let mut push = |kind, value: &str| {
        let ind = Indicator {
            kind,
            value: value.to_string(),
        };
        if !value.is_empty() && !out.contains(&ind) {
            out.push(ind);
        }
    };
    for o in &objs {
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "indicator" => {
                let pat = o.get("pattern").and_then(Value::as_str).unwrap_or("");
                for c in re.captures_iter(pat) {
                    let (t, p, val) = (&c[1], c[2].trim().to_string(), c[3].replace("\\'", "'"));
                    if let Some(k) = stix_kind(&t.to_ascii_lowercase(), &p, &val) {
                        push(k, &val);
                    }
                }
            }
            "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "email-addr" => {
                if let Some(val) = o.get("value").and_then(Value::as_str)
                    && let Some(k) = stix_kind(ty, "value", val)
                {
                    push(k, val);
                }
            }
            "user-account" => {
                for key in ["account_login", "user_id"] {
                    if let Some(val) = o.get(key).and_then(Value::as_str) {
                        push(IndicatorKind::Account, val);
                    }
                }
            }
            "file" => {
                if let Some(val) = o.get("name").and_then(Value::as_str) {
                    push(IndicatorKind::FileName, val);
                }
                if let Some(Value::Object(h)) = o.get("hashes") {
                    for val in h.values().filter_map(Value::as_str) {
                        push(IndicatorKind::Hash, val);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

impl IocSet {
    /// Compile a list.
    pub fn new(indicators: Vec<Indicator>, rejected: Vec<String>) -> IocSet {
        let mut needles = Vec::new();
        let mut ac_map = Vec::new();
        let mut cidrs = Vec::new();
        for (i, ind) in indicators.iter().enumerate() {
            match ind.kind {
                IndicatorKind::Cidr => {
                    if let Some(c) = Cidr::parse(&ind.value) {
                        cidrs.push((c, i));
                    }
                }
                _ => {
                    let mut v = ind.value.trim().to_lowercase();
                    if ind.kind == IndicatorKind::Domain {
                        v = v.trim_start_matches("*.").to_string();
                    }
                    needles.push(v);
                    ac_map.push(i);
                }
            }
        }
        let ac = if needles.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&needles)
                .ok()
        };
        IocSet {
            indicators,
            ac,
            ac_map,
            cidrs,
            rejected,
        }
    }

    /// Number of indicators.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    fn boundary_ok(kind: IndicatorKind, hay: &[u8], s: usize, e: usize) -> bool {
        let before = if s == 0 {
            None
        } else {
            hay.get(s - 1).copied()
        };
        let after = hay.get(e).copied();
        let after2 = hay.get(e + 1).copied();
        match kind {
            IndicatorKind::Ip => {
                !before.is_some_and(|b| is_word(b) || b == b'.' || b == b':')
                    && !after.is_some_and(|a| {
                        is_word(a) || (a == b'.' && after2.is_some_and(|c| c.is_ascii_digit()))
                    })
            }
            IndicatorKind::Domain => {
                !before.is_some_and(|b| is_word(b) || b == b'-' || b == b'_')
                    && !after.is_some_and(|a| {
                        is_word(a) || a == b'-' || (a == b'.' && after2.is_some_and(is_word))
                    })
            }
            IndicatorKind::Hash => {
                !before.is_some_and(|b| b.is_ascii_alphanumeric())
                    && !after.is_some_and(|a| a.is_ascii_alphanumeric())
            }
            IndicatorKind::FileName => {
                !before.is_some_and(|b| is_word(b) || b == b'.' || b == b'-' || b == b'_')
                    && !after
                        .is_some_and(|a| is_word(a) || (a == b'.' && after2.is_some_and(is_word)))
            }
            IndicatorKind::Account => {
                !before
                    .is_some_and(|b| is_word(b) || b == b'.' || b == b'-' || b == b'_' || b == b'$')
                    && !after.is_some_and(|a| {
                        is_word(a) || a == b'.' || a == b'-' || a == b'_' || a == b'$'
                    })
            }
            IndicatorKind::Url | IndicatorKind::Email => !before.is_some_and(is_word),
            IndicatorKind::Cidr => true,
        }
    }

    /// Indicators found in the event, each with the first field it was found in.
    pub fn sweep(&self, ev: &Event) -> Vec<(usize, usize)> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        for (fi, f) in ev.fields().enumerate() {
            let hay = f.value.as_bytes();
            if let Some(ac) = &self.ac {
                for m in ac.find_overlapping_iter(hay) {
                    let Some(&ii) = self.ac_map.get(m.pattern().as_usize()) else {
                        continue;
                    };
                    if found.iter().any(|(i, _)| *i == ii) {
                        continue;
                    }
                    let Some(ind) = self.indicators.get(ii) else {
                        continue;
                    };
                    if Self::boundary_ok(ind.kind, hay, m.start(), m.end()) {
                        found.push((ii, fi));
                    }
                }
            }
            if !self.cidrs.is_empty() {
                for ip in ip_tokens(f.value) {
                    for (c, ii) in &self.cidrs {
                        if c.contains(&ip) && !found.iter().any(|(i, _)| i == ii) {
                            found.push((*ii, fi));
                        }
                    }
                }
            }
        }
        found
    }
}

/// IP addresses written in a text.
fn ip_tokens(s: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for tok in s.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':')) {
        if tok.len() < 3 {
            continue;
        }
        if let Ok(ip) = tok.parse::<IpAddr>() {
            out.push(ip.to_canonical());
        } else if tok.contains('.')
            && let Some((a, _port)) = tok.rsplit_once(':')
            && let Ok(ip) = a
                .trim_start_matches(':')
                .trim_start_matches("ffff:")
                .parse::<IpAddr>()
        {
            out.push(ip);
        } else if let Some(a) = tok.strip_prefix("::ffff:")
            && let Ok(ip) = a.parse::<IpAddr>()
        {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify("10.1.2.3"), Some(IndicatorKind::Ip));
        assert_eq!(classify("10.0.0.0/8"), Some(IndicatorKind::Cidr));
        assert_eq!(classify("evil.example.com"), Some(IndicatorKind::Domain));
        assert_eq!(
            classify("https://evil.example.com/x"),
            Some(IndicatorKind::Url)
        );
        assert_eq!(classify("a@b.com"), Some(IndicatorKind::Email));
        assert_eq!(
            classify("d41d8cd98f00b204e9800998ecf8427e"),
            Some(IndicatorKind::Hash)
        );
        assert_eq!(classify("CORP\\jdoe"), Some(IndicatorKind::Account));
        assert_eq!(classify("mimikatz.exe"), Some(IndicatorKind::FileName));
    }

    #[test]
    fn stix_bundle() {
        let b = r#"{"type":"bundle","id":"bundle--1","objects":[
          {"type":"indicator","spec_version":"2.1","id":"indicator--1","pattern_type":"stix",
           "pattern":"[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'bad.example'] OR [file:hashes.'SHA-256' = 'aa'] OR [ipv4-addr:value ISSUBSET '203.0.113.0/24']"},
          {"type":"url","id":"url--1","value":"http://bad.example/p"}]}"#;
        let s = parse(b).unwrap();
        let kinds: Vec<_> = s
            .indicators
            .iter()
            .map(|i| (i.kind, i.value.as_str()))
            .collect();
        assert!(kinds.contains(&(IndicatorKind::Ip, "198.51.100.7")));
        assert!(kinds.contains(&(IndicatorKind::Domain, "bad.example")));
        assert!(kinds.contains(&(IndicatorKind::Hash, "aa")));
        assert!(kinds.contains(&(IndicatorKind::Cidr, "203.0.113.0/24")));
        assert!(kinds.contains(&(IndicatorKind::Url, "http://bad.example/p")));
    }

    #[test]
    fn ip_tokens_found() {
        let t = ip_tokens("from 10.0.0.5:445 and ::ffff:192.168.1.1 x");
        assert!(t.contains(&"10.0.0.5".parse().unwrap()));
        assert!(t.contains(&"192.168.1.1".parse().unwrap()));
    }
}

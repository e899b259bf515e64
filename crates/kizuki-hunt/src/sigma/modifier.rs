//! Value modifiers: turning `Field|mod|mod: value` into patterns, and matching them.

use crate::event::{Event, Field, FieldId};
use base64::Engine as _;
use memchr::memmem;
use regex::Regex;
use std::collections::HashMap;
use std::net::IpAddr;

/// Parsed modifier chain of one field key.
#[derive(Debug, Clone, Default)]
pub struct Modifiers {
    /// Value transformations, in order.
    pub transforms: Vec<Transform>,
    /// How the transformed value is compared.
    pub op: Op,
    /// Every value must match (`all`).
    pub all: bool,
    /// Case-sensitive comparison (`cased`).
    pub cased: bool,
    /// Regular-expression flags (`i`, `m`, `s`).
    pub re_flags: String,
    /// Negated comparison (`neq`).
    pub neq: bool,
    /// Time part compared (`minute`, `hour`, `day`, `week`, `month`, `year`).
    pub time_part: Option<TimePart>,
}

/// Value transformations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    /// `base64`
    Base64,
    /// `base64offset`
    Base64Offset,
    /// `utf16le` / `wide`
    Utf16Le,
    /// `utf16be`
    Utf16Be,
    /// `utf16` (little endian with a byte-order mark)
    Utf16,
    /// `windash`
    Windash,
    /// `expand`
    Expand,
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Op {
    /// Plain value (wildcards allowed).
    #[default]
    Eq,
    /// `contains`
    Contains,
    /// `startswith`
    StartsWith,
    /// `endswith`
    EndsWith,
    /// `re`
    Re,
    /// `cidr`
    Cidr,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `exists`
    Exists,
    /// `fieldref` (combined with Eq/Contains/StartsWith/EndsWith through `fieldref_op`)
    FieldRef(FieldRefOp),
}

/// How a field reference compares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldRefOp {
    /// Equal.
    Eq,
    /// Contains.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
}

/// Part of a timestamp for the time modifiers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimePart {
    /// Minute of the hour.
    Minute,
    /// Hour of the day.
    Hour,
    /// Day of the month.
    Day,
    /// Day of the week (1 = Monday).
    Week,
    /// Month.
    Month,
    /// Year.
    Year,
}

/// Parse the modifiers after the field name.
pub fn parse_modifiers(mods: &[&str]) -> Result<Modifiers, String> {
    let mut m = Modifiers::default();
    let mut fieldref = false;
    for raw in mods {
        let md = raw.trim();
        match md {
            "contains" => set_op(&mut m, Op::Contains, md)?,
            "startswith" => set_op(&mut m, Op::StartsWith, md)?,
            "endswith" => set_op(&mut m, Op::EndsWith, md)?,
            "re" => set_op(&mut m, Op::Re, md)?,
            "cidr" => set_op(&mut m, Op::Cidr, md)?,
            "lt" => set_op(&mut m, Op::Lt, md)?,
            "lte" => set_op(&mut m, Op::Lte, md)?,
            "gt" => set_op(&mut m, Op::Gt, md)?,
            "gte" => set_op(&mut m, Op::Gte, md)?,
            "exists" => set_op(&mut m, Op::Exists, md)?,
            "fieldref" => fieldref = true,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "neq" => m.neq = true,
            "i" | "m" | "s" => {
                if m.op != Op::Re {
                    return Err(format!("modifier '{md}' is only valid after 're'"));
                }
                m.re_flags.push_str(md);
            }
            "base64" => m.transforms.push(Transform::Base64),
            "base64offset" => m.transforms.push(Transform::Base64Offset),
            "utf16le" | "wide" => m.transforms.push(Transform::Utf16Le),
            "utf16be" => m.transforms.push(Transform::Utf16Be),
            "utf16" => m.transforms.push(Transform::Utf16),
            "windash" => m.transforms.push(Transform::Windash),
            "expand" => m.transforms.push(Transform::Expand),
            "minute" => m.time_part = Some(TimePart::Minute),
            "hour" => m.time_part = Some(TimePart::Hour),
            "day" => m.time_part = Some(TimePart::Day),
            "week" => m.time_part = Some(TimePart::Week),
            "month" => m.time_part = Some(TimePart::Month),
            "year" => m.time_part = Some(TimePart::Year),
            other => return Err(format!("unknown modifier '{other}'")),
        }
    }
    if fieldref {
        let op = match m.op {
            Op::Eq => FieldRefOp::Eq,
            Op::Contains => FieldRefOp::Contains,
            Op::StartsWith => FieldRefOp::StartsWith,
            Op::EndsWith => FieldRefOp::EndsWith,
            other => return Err(format!("'fieldref' cannot be combined with {other:?}")),
        };
        m.op = Op::FieldRef(op);
    }
    if !m.transforms.is_empty()
        && !matches!(m.op, Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith)
    {
        return Err(
            "encoding modifiers can only be combined with plain, contains, startswith or endswith"
                .into(),
        );
    }
    Ok(m)
}

fn set_op(m: &mut Modifiers, op: Op, name: &str) -> Result<(), String> {
    if m.op != Op::Eq {
        return Err(format!("modifier '{name}' conflicts with {:?}", m.op));
    }
    m.op = op;
    Ok(())
}

/// An IP network.
#[derive(Debug, Clone, Copy)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `a.b.c.d/n`, `x::/n` or a bare address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                (u32::from(n) & mask) == (u32::from(*a) & mask)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                (u128::from(n) & mask) == (u128::from(*a) & mask)
            }
            (IpAddr::V4(n), IpAddr::V6(a)) => a.to_ipv4_mapped().is_some_and(|a4| {
                Cidr {
                    addr: IpAddr::V4(n),
                    prefix: self.prefix,
                }
                .contains(&IpAddr::V4(a4))
            }),
            _ => false,
        }
    }
}

/// One compiled comparison against a field value.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Whole value equal.
    Exact(Box<str>),
    /// Prefix.
    Prefix(Box<str>),
    /// Suffix.
    Suffix(Box<str>),
    /// Substring.
    Contains(Box<memmem::Finder<'static>>),
    /// Wildcard pattern or regular expression.
    Regex(Regex),
    /// IP network.
    Cidr(Cidr),
    /// Numeric comparison.
    Num(Op, f64),
    /// Comparison with another field of the same event.
    FieldRef(FieldRefOp, Vec<FieldId>),
    /// Empty value (`''`).
    Empty,
}

/// A pattern plus how to read the value.
#[derive(Debug, Clone)]
pub struct ValuePattern {
    /// The comparison.
    pub pat: Pattern,
    /// Compare the value as it is (true) or lowercased.
    pub cased: bool,
    /// Negate (`neq`).
    pub neq: bool,
    /// Compare a part of the value read as a timestamp.
    pub time_part: Option<TimePart>,
}

impl ValuePattern {
    /// Whether this field satisfies the pattern.
    #[inline]
    pub fn matches(&self, f: &Field, ev: &Event) -> bool {
        let r = self.matches_inner(f, ev);
        r != self.neq
    }

    fn matches_inner(&self, f: &Field, ev: &Event) -> bool {
        let owned;
        let v: &str = if let Some(tp) = self.time_part {
            let Some(ms) = crate::time::parse_ms(f.value) else {
                return false;
            };
            let (y, mo, d, h, mi, wd) = crate::time::civil_parts(ms);
            owned = match tp {
                TimePart::Minute => mi,
                TimePart::Hour => h,
                TimePart::Day => d,
                TimePart::Week => wd,
                TimePart::Month => mo,
                TimePart::Year => y,
            }
            .to_string();
            &owned
        } else if self.cased {
            f.value
        } else {
            f.lower()
        };
        match &self.pat {
            Pattern::Exact(s) => v == &**s,
            Pattern::Prefix(s) => v.starts_with(&**s),
            Pattern::Suffix(s) => v.ends_with(&**s),
            Pattern::Contains(fi) => fi.find(v.as_bytes()).is_some(),
            Pattern::Regex(r) => r.is_match(if self.time_part.is_some() { v } else { f.value }),
            Pattern::Cidr(c) => v.trim().parse::<IpAddr>().is_ok_and(|ip| c.contains(&ip)),
            Pattern::Num(op, n) => parse_num(v).is_some_and(|x| match op {
                Op::Lt => x < *n,
                Op::Lte => x <= *n,
                Op::Gt => x > *n,
                Op::Gte => x >= *n,
                _ => x == *n,
            }),
            Pattern::FieldRef(op, ids) => ev.get(ids).any(|o| {
                let other = if self.cased { o.value } else { o.lower() };
                match op {
                    FieldRefOp::Eq => v == other,
                    FieldRefOp::Contains => v.contains(other),
                    FieldRefOp::StartsWith => v.starts_with(other),
                    FieldRefOp::EndsWith => v.ends_with(other),
                }
            }),
            Pattern::Empty => v.is_empty(),
        }
    }
}

/// Parse a number as Sigma's numeric comparisons and event values use it (decimal or 0x hex).
pub fn parse_num(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    s.parse::<f64>().ok()
}

/// A piece of a value with wildcards resolved.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(char),
    Star,
    One,
}

/// Split a Sigma string into literal characters and wildcards. A backslash escapes `*`,
/// `?` and itself; before any other character it is literal.
fn pieces(s: &str) -> Vec<Piece> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.peek() {
                Some('*') | Some('?') | Some('\\') => {
                    out.push(Piece::Lit(it.next().unwrap_or('\\')));
                }
                _ => out.push(Piece::Lit('\\')),
            },
            '*' => out.push(Piece::Star),
            '?' => out.push(Piece::One),
            c => out.push(Piece::Lit(c)),
        }
    }
    out
}

fn pieces_to_pattern(mut ps: Vec<Piece>, op: Op, cased: bool) -> Result<Pattern, String> {
    match op {
        Op::Contains => {
            ps.insert(0, Piece::Star);
            ps.push(Piece::Star);
        }
        Op::StartsWith => ps.push(Piece::Star),
        Op::EndsWith => ps.insert(0, Piece::Star),
        _ => {}
    }
    // Collapse runs of stars.
    ps.dedup_by(|a, b| *a == Piece::Star && *b == Piece::Star);
    let lead = ps.first() == Some(&Piece::Star);
    let trail = ps.len() > 1 && ps.last() == Some(&Piece::Star);
    let inner = &ps[usize::from(lead)..ps.len() - usize::from(trail)];
    let lit: Option<String> = inner
        .iter()
        .map(|p| match p {
            Piece::Lit(c) => Some(*c),
            _ => None,
        })
        .collect();
    let fold = |s: String| if cased { s } else { s.to_lowercase() };
    if ps == [Piece::Star] {
        // `*` alone: any value, even empty.
        return Ok(Pattern::Prefix("".into()));
    }
    if let Some(l) = lit {
        let l = fold(l);
        if l.is_empty() {
            return Ok(Pattern::Empty);
        }
        return Ok(match (lead, trail) {
            (false, false) => Pattern::Exact(l.into()),
            (false, true) => Pattern::Prefix(l.into()),
            (true, false) => Pattern::Suffix(l.into()),
            (true, true) => {
                Pattern::Contains(Box::new(memmem::Finder::new(l.as_bytes()).into_owned()))
            }
        });
    }
    let mut re = String::from(if cased { "(?s)^" } else { "(?si)^" });
    for p in &ps {
        match p {
            Piece::Star => re.push_str(".*"),
            Piece::One => re.push('.'),
            Piece::Lit(c) => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re)
        .map(Pattern::Regex)
        .map_err(|e| e.to_string())
}

fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in s.encode_utf16() {
        let b = if le { u.to_le_bytes() } else { u.to_be_bytes() };
        out.extend_from_slice(&b);
    }
    out
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The three forms a value takes inside base64 text, depending on its offset.
fn b64_offsets(v: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for shift in 0..3usize {
        let mut buf = vec![b' '; shift];
        buf.extend_from_slice(v);
        let enc = b64(&buf);
        let start = [0usize, 2, 3][shift];
        let cut = [0usize, 3, 2][(v.len() + shift) % 3];
        if enc.len() >= start + cut {
            out.push(enc[start..enc.len() - cut].to_string());
        }
    }
    out
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Command-line flag variants: every `-` or `/` that starts a word written as each dash form.
fn windash(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let spots: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            (chars[i] == '-' || chars[i] == '/')
                && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
                && chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        })
        .collect();
    if spots.is_empty() {
        return vec![s.to_string()];
    }
    DASHES
        .iter()
        .map(|d| {
            let mut c = chars.clone();
            for &i in &spots {
                c[i] = *d;
            }
            c.into_iter().collect()
        })
        .collect()
}

/// Raw values from YAML, before modifiers.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// A string (numbers and booleans are given as their text too).
    Str(String),
    /// A number (kept as text, and as a number for comparisons).
    Num(String, f64),
    /// `null`: the field is absent or empty.
    Null,
}

/// Compile the values of one field into groups of patterns: with `all`, every group must
/// match; otherwise any pattern of any group. A group holds the variants one value expands to.
pub fn compile_values(
    raw: &[RawValue],
    m: &Modifiers,
    placeholders: &HashMap<String, Vec<String>>,
    fieldref_ids: &mut dyn FnMut(&str) -> Vec<FieldId>,
) -> Result<Vec<Vec<ValuePattern>>, String> {
    let mut groups = Vec::new();
    for rv in raw {
        let mk = |pat| ValuePattern {
            pat,
            cased: m.cased || m.op == Op::Re,
            neq: m.neq,
            time_part: m.time_part,
        };
        let text = match rv {
            RawValue::Null => return Err("null handled by caller".into()),
            RawValue::Str(s) => s.clone(),
            RawValue::Num(s, _) => s.clone(),
        };
        let group: Vec<ValuePattern> = match m.op {
            Op::Re => {
                let mut src = String::new();
                if !m.re_flags.is_empty() {
                    src.push_str(&format!("(?{})", m.re_flags));
                }
                src.push_str(&text);
                let re = regex::RegexBuilder::new(&src)
                    .size_limit(1 << 24)
                    .build()
                    .map_err(|e| {
                        format!(
                            "invalid regular expression {text:?}: {}",
                            first_line(&e.to_string())
                        )
                    })?;
                vec![mk(Pattern::Regex(re))]
            }
            Op::Cidr => vec![mk(Pattern::Cidr(
                Cidr::parse(&text).ok_or_else(|| format!("invalid CIDR {text:?}"))?,
            ))],
            Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
                let n = match rv {
                    RawValue::Num(_, n) => *n,
                    _ => parse_num(&text).ok_or_else(|| format!("{text:?} is not a number"))?,
                };
                vec![mk(Pattern::Num(m.op, n))]
            }
            Op::Exists => return Err("exists handled by caller".into()),
            Op::FieldRef(op) => {
                let ids = fieldref_ids(&text);
                vec![ValuePattern {
                    pat: Pattern::FieldRef(op, ids),
                    cased: m.cased,
                    neq: m.neq,
                    time_part: None,
                }]
            }
            Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith => {
                if m.time_part.is_some() {
                    vec![mk(Pattern::Exact(
                        text.trim().trim_start_matches('0').to_string().into(),
                    ))]
                    .into_iter()
                    .map(|mut p| {
                        if let Pattern::Exact(s) = &p.pat
                            && s.is_empty()
                        {
                            p.pat = Pattern::Exact("0".into());
                        }
                        p
                    })
                    .collect()
                } else {
                    let mut variants: Vec<Vec<u8>> = vec![text.into_bytes()];
                    // Wildcards stay wildcards only without encodings.
                    let mut encoded = false;
                    for t in &m.transforms {
                        let mut next = Vec::new();
                        for v in variants {
                            let s = String::from_utf8_lossy(&v).into_owned();
                            match t {
                                Transform::Expand => {
                                    for e in expand(&s, placeholders)? {
                                        next.push(e.into_bytes());
                                    }
                                }
                                Transform::Windash => {
                                    for w in windash(&s) {
                                        next.push(w.into_bytes());
                                    }
                                }
                                Transform::Utf16Le => next.push(utf16(&s, true, false)),
                                Transform::Utf16Be => next.push(utf16(&s, false, false)),
                                Transform::Utf16 => next.push(utf16(&s, true, true)),
                                Transform::Base64 => {
                                    encoded = true;
                                    next.push(b64(&v).into_bytes());
                                }
                                Transform::Base64Offset => {
                                    encoded = true;
                                    for o in b64_offsets(&v) {
                                        next.push(o.into_bytes());
                                    }
                                }
                            }
                        }
                        variants = next;
                    }
                    let mut out = Vec::new();
                    for v in variants {
                        let s = String::from_utf8_lossy(&v).into_owned();
                        let ps = if encoded {
                            s.chars().map(Piece::Lit).collect()
                        } else {
                            pieces(&s)
                        };
                        // Base64 text is case-sensitive.
                        let cased = m.cased || encoded;
                        let p = pieces_to_pattern(ps, m.op, cased)?;
                        out.push(ValuePattern {
                            pat: p,
                            cased,
                            neq: m.neq,
                            time_part: None,
                        });
                    }
                    out
                }
            }
        };
        groups.push(group);
    }
    Ok(groups)
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

/// Replace `%name%` placeholders with every value configured for them.
fn expand(s: &str, placeholders: &HashMap<String, Vec<String>>) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = s;
    while let Some(start) = rest.find('%') {
        let Some(len) = rest[start + 1..].find('%') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        let vals = placeholders
            .get(name)
            .ok_or_else(|| format!("placeholder %{name}% has no values (define it under 'placeholders' in the field map)"))?;
        let prefix = &rest[..start];
        let mut next = Vec::new();
        for o in &out {
            for v in vals {
                next.push(format!("{o}{prefix}{v}"));
            }
        }
        out = next;
        rest = &rest[start + 2 + len..];
    }
    Ok(out.into_iter().map(|o| o + rest).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        // "ping" at the three offsets within base64 text.
        let o = b64_offsets(b"ping");
        assert_eq!(o.len(), 3);
        assert!(b64(b"ping xx").starts_with(&o[0]));
        assert!(b64(b"a ping").contains(&o[1]) || b64(b" ping").contains(&o[1]));
        assert!(b64(b"ab ping").contains(&o[2]) || b64(b"  ping").contains(&o[2]));
    }

    #[test]
    fn windash_variants() {
        let v = windash("-enc -nop");
        assert_eq!(v.len(), 5);
        assert!(v.contains(&"/enc /nop".to_string()));
        assert!(v.contains(&"\u{2013}enc \u{2013}nop".to_string()));
        assert_eq!(windash("a-b"), vec!["a-b".to_string()]);
    }

    #[test]
    fn wildcard_pieces() {
        assert_eq!(
            pieces(r"a\*b"),
            vec![Piece::Lit('a'), Piece::Lit('*'), Piece::Lit('b')]
        );
        assert_eq!(
            pieces(r"C:\W"),
            vec![
                Piece::Lit('C'),
                Piece::Lit(':'),
                Piece::Lit('\\'),
                Piece::Lit('W')
            ]
        );
        assert_eq!(pieces(r"\\*"), vec![Piece::Lit('\\'), Piece::Star]);
    }
}

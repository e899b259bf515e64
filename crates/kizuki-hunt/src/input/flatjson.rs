//! A flat scanner over the JSON the `evtx` crate renders for a record: it walks the text
//! once and hands (name, value) leaves to an [`EventBuilder`], borrowing names and values
//! from the text (only strings with escapes are unescaped, into a reused buffer). It
//! produces exactly the leaves [`EventBuilder::push_json`] produces from the parsed
//! `serde_json::Value`, without building that tree.

use crate::event::EventBuilder;
use std::borrow::Cow;

/// Reusable scratch space.
#[derive(Debug, Default)]
pub struct Flattener {
    val: String,
}

/// A scalar JSON value as text.
enum Scalar<'a> {
    /// A string without escapes, borrowed from the input.
    Str(&'a str),
    /// A string that had escapes, unescaped into the scratch buffer.
    Escaped,
    /// A number, as the text `serde_json` would print for it.
    Num(Cow<'a, str>),
    Bool(bool),
    Null,
}

struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

type Res<T> = Result<T, String>;

impl<'a> Scan<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn err<T>(&self, what: &str) -> Res<T> {
        Err(format!("invalid JSON at byte {}: {what}", self.i))
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Res<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.err(&format!("expected '{}'", char::from(c)))
        }
    }

    /// A string at the cursor (after whitespace): borrowed when it has no escape, else
    /// unescaped into `out` (`None` returned).
    fn string(&mut self, out: &mut String) -> Res<Option<&'a str>> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = self.b.get(start..).unwrap_or(&[]);
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(n) if rest.get(n) == Some(&b'"') => {
                self.i = start + n + 1;
                return Ok(Some(self.s.get(start..start + n).unwrap_or("")));
            }
            Some(_) => {}
            None => return self.err("unterminated string"),
        }
        out.clear();
        loop {
            let rest = self.b.get(self.i..).unwrap_or(&[]);
            let Some(n) = memchr::memchr2(b'"', b'\\', rest) else {
                return self.err("unterminated string");
            };
            out.push_str(self.s.get(self.i..self.i + n).unwrap_or(""));
            self.i += n;
            if self.b.get(self.i) == Some(&b'"') {
                self.i += 1;
                return Ok(None);
            }
            // A backslash.
            let Some(&e) = self.b.get(self.i + 1) else {
                return self.err("unterminated escape");
            };
            self.i += 2;
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = self.hex4()?;
                    let c = if (0xD800..0xDC00).contains(&hi) {
                        if self.b.get(self.i) == Some(&b'\\')
                            && self.b.get(self.i + 1) == Some(&b'u')
                        {
                            self.i += 2;
                            let lo = self.hex4()?;
                            if !(0xDC00..0xE000).contains(&lo) {
                                return self.err("lone leading surrogate in hex escape");
                            }
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            return self.err("lone leading surrogate in hex escape");
                        }
                    } else if (0xDC00..0xE000).contains(&hi) {
                        return self.err("lone trailing surrogate in hex escape");
                    } else {
                        hi
                    };
                    match char::from_u32(c) {
                        Some(ch) => out.push(ch),
                        None => return self.err("invalid unicode escape"),
                    }
                }
                _ => return self.err("invalid escape"),
            }
        }
    }

    fn hex4(&mut self) -> Res<u32> {
        let Some(h) = self.s.get(self.i..self.i + 4) else {
            return self.err("short unicode escape");
        };
        self.i += 4;
        u32::from_str_radix(h, 16).or_else(|_| self.err("bad unicode escape"))
    }

    fn number(&mut self) -> Res<Cow<'a, str>> {
        let start = self.i;
        let mut plain = true;
        while let Some(c) = self.b.get(self.i) {
            match c {
                b'0'..=b'9' | b'-' => {}
                b'.' | b'e' | b'E' | b'+' => plain = false,
                _ => break,
            }
            self.i += 1;
        }
        let text = self.s.get(start..self.i).unwrap_or("");
        if text.is_empty() {
            return self.err("unexpected character");
        }
        let fits = plain && (text.parse::<u64>().is_ok() || text.parse::<i64>().is_ok());
        if fits && !(text.len() > 1 && (text.starts_with('0') || text.starts_with("-0"))) {
            return Ok(Cow::Borrowed(text));
        }
        // Floats and out-of-range integers: print them as serde_json does.
        match serde_json::from_str::<serde_json::Number>(text) {
            Ok(n) => Ok(Cow::Owned(n.to_string())),
            Err(e) => self.err(&e.to_string()),
        }
    }

    fn literal(&mut self, word: &str) -> Res<()> {
        if self.s.get(self.i..).is_some_and(|r| r.starts_with(word)) {
            self.i += word.len();
            Ok(())
        } else {
            self.err("unexpected character")
        }
    }

    /// A scalar at the cursor, or `None` (cursor unmoved) for an object or array.
    fn scalar(&mut self, out: &mut String) -> Res<Option<Scalar<'a>>> {
        Ok(Some(match self.peek() {
            Some(b'"') => match self.string(out)? {
                Some(s) => Scalar::Str(s),
                None => Scalar::Escaped,
            },
            Some(b'{') | Some(b'[') => return Ok(None),
            Some(b't') => {
                self.literal("true")?;
                Scalar::Bool(true)
            }
            Some(b'f') => {
                self.literal("false")?;
                Scalar::Bool(false)
            }
            Some(b'n') => {
                self.literal("null")?;
                Scalar::Null
            }
            Some(_) => Scalar::Num(self.number()?),
            None => return self.err("unexpected end"),
        }))
    }

    /// An object key.
    fn key(&mut self, out: &mut String) -> Res<Cow<'a, str>> {
        let k = match self.string(out)? {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(out.clone()),
        };
        self.eat(b':')?;
        Ok(k)
    }

    /// Skip any value.
    fn skip(&mut self, out: &mut String) -> Res<()> {
        match self.scalar(out)? {
            Some(_) => Ok(()),
            None => {
                let close = if self.peek() == Some(b'{') {
                    b'}'
                } else {
                    b']'
                };
                let obj = close == b'}';
                self.i += 1;
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    if obj {
                        self.key(out)?;
                    }
                    self.skip(out)?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return self.err("expected ',' or closing bracket"),
                    }
                }
            }
        }
    }
}

fn push_scalar(b: &mut EventBuilder<'_>, name: &str, v: &Scalar<'_>, esc: &str) {
    match v {
        Scalar::Str(s) => b.push(name, s),
        Scalar::Escaped => b.push(name, esc),
        Scalar::Num(n) => b.push(name, n),
        Scalar::Bool(t) => b.push(name, if *t { "true" } else { "false" }),
        Scalar::Null => {}
    }
}

fn push_scalar_joined(
    b: &mut EventBuilder<'_>,
    parent: &str,
    child: &str,
    v: &Scalar<'_>,
    esc: &str,
) {
    match v {
        Scalar::Str(s) => b.push_joined(parent, '_', child, s),
        Scalar::Escaped => b.push_joined(parent, '_', child, esc),
        Scalar::Num(n) => b.push_joined(parent, '_', child, n),
        Scalar::Bool(t) => b.push_joined(parent, '_', child, if *t { "true" } else { "false" }),
        Scalar::Null => {}
    }
}

impl Flattener {
    /// Add the leaves of one EVTX record's JSON (`{"Event": {...}}`) to `b`, named as
    /// [`EventBuilder::push_json`] names them without dotted paths.
    pub fn evtx_record(&mut self, json: &[u8], b: &mut EventBuilder<'_>) -> Res<()> {
        let s = std::str::from_utf8(json).map_err(|e| format!("invalid UTF-8: {e}"))?;
        let mut sc = Scan {
            s,
            b: s.as_bytes(),
            i: 0,
        };
        sc.eat(b'{')?;
        // The renderer always wraps the record in a single "Event" member; the fallback
        // flattens the whole object, as the Value-based path does.
        let save = sc.i;
        if sc.peek() == Some(b'"') {
            let k = sc.key(&mut self.val)?;
            if k == "Event" {
                return self.value(&mut sc, "", b);
            }
        }
        sc.i = save - 1;
        self.value(&mut sc, "", b)
    }

    fn value(&mut self, sc: &mut Scan<'_>, name: &str, b: &mut EventBuilder<'_>) -> Res<()> {
        if let Some(v) = sc.scalar(&mut self.val)? {
            push_scalar(b, name, &v, &self.val);
            return Ok(());
        }
        if sc.peek() == Some(b'[') {
            sc.i += 1;
            if sc.peek() == Some(b']') {
                sc.i += 1;
                return Ok(());
            }
            loop {
                self.value(sc, name, b)?;
                match sc.peek() {
                    Some(b',') => sc.i += 1,
                    Some(b']') => {
                        sc.i += 1;
                        return Ok(());
                    }
                    _ => return sc.err("expected ',' or ']'"),
                }
            }
        }
        // An object.
        sc.i += 1;
        if sc.peek() == Some(b'}') {
            sc.i += 1;
            return Ok(());
        }
        loop {
            let k = sc.key(&mut self.val)?;
            if k == "#text" {
                self.value(sc, name, b)?;
            } else if k == "#attributes" {
                if sc.peek() == Some(b'{') {
                    self.attributes(sc, name, b)?;
                } else {
                    sc.skip(&mut self.val)?;
                }
            } else {
                self.value(sc, &k, b)?;
            }
            match sc.peek() {
                Some(b',') => sc.i += 1,
                Some(b'}') => {
                    sc.i += 1;
                    return Ok(());
                }
                _ => return sc.err("expected ',' or '}'"),
            }
        }
    }

    fn attributes(&mut self, sc: &mut Scan<'_>, name: &str, b: &mut EventBuilder<'_>) -> Res<()> {
        sc.eat(b'{')?;
        if sc.peek() == Some(b'}') {
            sc.i += 1;
            return Ok(());
        }
        loop {
            let ak = sc.key(&mut self.val)?;
            if ak == "xmlns" {
                sc.skip(&mut self.val)?;
            } else if name.is_empty() {
                self.value(sc, &ak, b)?;
            } else if let Some(v) = sc.scalar(&mut self.val)? {
                push_scalar_joined(b, name, &ak, &v, &self.val);
            } else {
                let n = format!("{name}_{ak}");
                self.value(sc, &n, b)?;
            }
            match sc.peek() {
                Some(b',') => sc.i += 1,
                Some(b'}') => {
                    sc.i += 1;
                    return Ok(());
                }
                _ => return sc.err("expected ',' or '}'"),
            }
        }
    }
}

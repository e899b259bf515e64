//! A flat event: a list of (name, value) leaves with field ids resolved against the
//! names the loaded rules use, plus the few values every output line needs.

use std::sync::Arc;

/// Identifier of a field name the rules refer to. `NO_FIELD` when the rules never name it.
pub type FieldId = u32;
/// Marker for an event field whose name no rule uses.
pub const NO_FIELD: FieldId = u32::MAX;

/// Interned field names (compared ASCII-case-insensitively). Looked up once or twice per
/// event leaf, so it is an open-addressing table hashed on the lowercased bytes: no
/// lowercased copy of the name is made to look it up.
#[derive(Debug, Default, Clone)]
pub struct FieldRegistry {
    /// Slot -> index into `names` + 1 (0: empty). Length is a power of two, or zero.
    slots: Vec<u32>,
    names: Vec<String>,
}

#[inline]
fn ci_hash(s: &str) -> u64 {
    // FNV-1a over the ASCII-lowercased bytes.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl FieldRegistry {
    fn find(&self, name: &str) -> Option<FieldId> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = (ci_hash(name) as usize) & mask;
        loop {
            let e = *self.slots.get(i)?;
            if e == 0 {
                return None;
            }
            let id = e - 1;
            if self
                .names
                .get(id as usize)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    fn place(slots: &mut [u32], name: &str, id: FieldId) {
        let mask = slots.len() - 1;
        let mut i = (ci_hash(name) as usize) & mask;
        while let Some(s) = slots.get_mut(i) {
            if *s == 0 {
                *s = id + 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// The id for `name`, creating it when new.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.find(name) {
            return id;
        }
        let id = self.names.len() as FieldId;
        self.names.push(name.to_string());
        if self.names.len() * 2 > self.slots.len() {
            let mut slots = vec![0u32; (self.slots.len() * 2).max(64)];
            for (i, n) in self.names.iter().enumerate() {
                Self::place(&mut slots, n, i as FieldId);
            }
            self.slots = slots;
        } else {
            Self::place(&mut self.slots, name, id);
        }
        id
    }

    /// The id of `name` if any rule uses it (`buf` is unused; kept for compatibility).
    #[inline]
    pub fn lookup(&self, name: &str, _buf: &mut String) -> FieldId {
        self.find(name).unwrap_or(NO_FIELD)
    }

    /// The name of an id.
    pub fn name(&self, id: FieldId) -> &str {
        self.names
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// One leaf of an event, borrowed from the event's text buffer.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// Full name: the leaf name for EVTX (`CommandLine`, `Provider_Name`), the dotted path for JSON.
    pub name: &'a str,
    /// Id of the full name.
    pub id: FieldId,
    /// Id of the last segment of a dotted path (same as `id` when there is no dot).
    pub leaf_id: FieldId,
    /// The value as text.
    pub value: &'a str,
    /// The value lowercased (the same slice as `value` when lowercasing changes nothing).
    lower: &'a str,
}

impl<'a> Field<'a> {
    /// The lowercased value.
    #[inline]
    pub fn lower(&self) -> &'a str {
        self.lower
    }

    /// Whether this field answers to any of `ids`.
    #[inline]
    pub fn is(&self, ids: &[FieldId]) -> bool {
        ids.iter().any(|i| *i == self.id || *i == self.leaf_id)
    }
}

/// Where a field's parts are in [`Event`]'s text buffer.
#[derive(Debug, Clone, Copy)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
    lower: (u32, u32),
    id: FieldId,
    leaf_id: FieldId,
}

/// The kind of log an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Windows EVTX.
    Evtx,
    /// JSON lines (flattened or nested).
    Jsonl,
    /// Suricata EVE JSON.
    Eve,
}

/// A flat event. Names and values live in one text buffer, so building an event costs a
/// few appends instead of an allocation per field, and a builder can reuse it.
#[derive(Debug, Clone)]
pub struct Event {
    /// Names, values and lowercased values of every leaf.
    text: String,
    /// The leaves, in document order.
    spans: Vec<Span>,
    /// Timestamp text as found (ISO 8601 normally).
    pub time: Option<Box<str>>,
    /// Milliseconds since the Unix epoch, when the time could be parsed.
    pub time_ms: Option<i64>,
    /// Computer / host name.
    pub computer: Option<Box<str>>,
    /// Channel (EVTX) or log name.
    pub channel: Option<Box<str>>,
    /// Lowercased channel, for index look-ups.
    pub channel_lower: Option<Box<str>>,
    /// Numeric event id.
    pub event_id: Option<u32>,
    /// Record number in the file (EVTX) or line number (JSON lines).
    pub record: u64,
    /// File it came from.
    pub source: Arc<str>,
    /// Kind of log.
    pub kind: SourceKind,
}

impl Event {
    fn empty() -> Self {
        Event {
            text: String::with_capacity(2048),
            spans: Vec::with_capacity(48),
            time: None,
            time_ms: None,
            computer: None,
            channel: None,
            channel_lower: None,
            event_id: None,
            record: 0,
            source: Arc::from(""),
            kind: SourceKind::Evtx,
        }
    }

    #[inline]
    fn slice(&self, r: (u32, u32)) -> &str {
        self.text.get(r.0 as usize..r.1 as usize).unwrap_or("")
    }

    #[inline]
    fn field_at(&self, s: &Span) -> Field<'_> {
        Field {
            name: self.slice(s.name),
            id: s.id,
            leaf_id: s.leaf_id,
            value: self.slice(s.value),
            lower: self.slice(s.lower),
        }
    }

    /// All leaves, in document order.
    #[inline]
    pub fn fields(&self) -> impl Iterator<Item = Field<'_>> + '_ {
        self.spans.iter().map(|s| self.field_at(s))
    }

    /// The leaf at position `i`.
    pub fn field(&self, i: usize) -> Option<Field<'_>> {
        self.spans.get(i).map(|s| self.field_at(s))
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the event has no leaf.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Fields answering to any of `ids`.
    #[inline]
    pub fn get<'a>(&'a self, ids: &'a [FieldId]) -> impl Iterator<Item = Field<'a>> + 'a {
        self.spans
            .iter()
            .filter(move |s| ids.iter().any(|i| *i == s.id || *i == s.leaf_id))
            .map(|s| self.field_at(s))
    }

    /// First value of a field by exact (case-insensitive) name, for tests and output.
    pub fn value_of(&self, name: &str) -> Option<&str> {
        self.fields()
            .find(|f| {
                f.name.eq_ignore_ascii_case(name)
                    || f.name
                        .rsplit('.')
                        .next()
                        .is_some_and(|l| l.eq_ignore_ascii_case(name))
            })
            .map(|f| f.value)
    }

    fn first_by_priority(&self, ids: &[FieldId]) -> Option<Field<'_>> {
        for id in ids {
            if let Some(s) = self.spans.iter().find(|s| s.id == *id || s.leaf_id == *id) {
                return Some(self.field_at(s));
            }
        }
        None
    }
}

/// Which names feed an event's time, computer, channel and event id.
#[derive(Debug, Clone)]
pub struct MetaNames {
    /// Time fields, first found wins.
    pub time: Vec<String>,
    /// Computer fields.
    pub computer: Vec<String>,
    /// Channel fields.
    pub channel: Vec<String>,
    /// Event id fields.
    pub event_id: Vec<String>,
}

/// Resolved ids of the meta names.
#[derive(Debug, Clone, Default)]
pub struct MetaIds {
    time: Vec<FieldId>,
    computer: Vec<FieldId>,
    channel: Vec<FieldId>,
    event_id: Vec<FieldId>,
}

impl MetaIds {
    /// Intern the meta names.
    pub fn new(reg: &mut FieldRegistry, names: &MetaNames) -> Self {
        let mut ids = |v: &Vec<String>| v.iter().map(|n| reg.intern(n)).collect::<Vec<_>>();
        MetaIds {
            time: ids(&names.time),
            computer: ids(&names.computer),
            channel: ids(&names.channel),
            event_id: ids(&names.event_id),
        }
    }
}

/// Collects leaves and turns them into an [`Event`]. The builder keeps its event between
/// records ([`EventBuilder::reset`] + [`EventBuilder::finish_ref`]), so a reader allocates
/// nothing per record once its buffers have grown.
#[derive(Debug)]
pub struct EventBuilder<'r> {
    reg: &'r FieldRegistry,
    meta: &'r MetaIds,
    buf: String,
    ev: Event,
    /// When true, names are full dotted paths and the last segment is looked up too.
    dotted: bool,
}

#[inline]
fn span_of(start: usize, end: usize) -> (u32, u32) {
    (
        u32::try_from(start).unwrap_or(u32::MAX),
        u32::try_from(end).unwrap_or(u32::MAX),
    )
}

impl<'r> EventBuilder<'r> {
    /// A builder resolving names against `reg`.
    pub fn new(reg: &'r FieldRegistry, meta: &'r MetaIds, dotted: bool) -> Self {
        EventBuilder {
            reg,
            meta,
            buf: String::new(),
            ev: Event::empty(),
            dotted,
        }
    }

    /// Forget the leaves added so far (keeping the buffers).
    pub fn reset(&mut self) {
        self.ev.text.clear();
        self.ev.spans.clear();
    }

    /// Add one leaf.
    pub fn push(&mut self, name: &str, value: &str) {
        let ns = self.ev.text.len();
        self.ev.text.push_str(name);
        let ne = self.ev.text.len();
        self.push_named(ns, ne, value);
    }

    /// Add one leaf whose name is `parent` + `sep` + `child`.
    pub fn push_joined(&mut self, parent: &str, sep: char, child: &str, value: &str) {
        let ns = self.ev.text.len();
        self.ev.text.push_str(parent);
        self.ev.text.push(sep);
        self.ev.text.push_str(child);
        let ne = self.ev.text.len();
        self.push_named(ns, ne, value);
    }

    fn push_named(&mut self, ns: usize, ne: usize, value: &str) {
        let name = self.ev.text.get(ns..ne).unwrap_or("");
        let id = self.reg.lookup(name, &mut self.buf);
        let leaf_id = if self.dotted {
            match name.rfind('.') {
                Some(p) => self.reg.lookup(&name[p + 1..], &mut self.buf),
                None => id,
            }
        } else {
            id
        };
        let text = &mut self.ev.text;
        let vs = text.len();
        text.push_str(value);
        let ve = text.len();
        let lower = if value.is_ascii() {
            if value.bytes().any(|b| b.is_ascii_uppercase()) {
                text.extend(value.bytes().map(|b| char::from(b.to_ascii_lowercase())));
                span_of(ve, text.len())
            } else {
                span_of(vs, ve)
            }
        } else if value.chars().any(char::is_uppercase) {
            text.push_str(&value.to_lowercase());
            span_of(ve, text.len())
        } else {
            span_of(vs, ve)
        };
        self.ev.spans.push(Span {
            name: span_of(ns, ne),
            value: span_of(vs, ve),
            lower,
            id,
            leaf_id,
        });
    }

    /// Add every leaf of a JSON value. EVTX-style `#attributes` become `Parent_Attr` and
    /// `#text` becomes the parent's value. Without `dotted`, a leaf is named by its own key
    /// only (the EVTX convention: `EventData.Image` is `Image`).
    pub fn push_json(&mut self, name: &str, v: &serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Null => {}
            Value::Bool(b) => self.push(name, if *b { "true" } else { "false" }),
            Value::Number(n) => self.push(name, &n.to_string()),
            Value::String(s) => self.push(name, s),
            Value::Array(items) => {
                for item in items {
                    self.push_json(name, item);
                }
            }
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "#text" {
                        self.push_json(name, child);
                    } else if k == "#attributes" {
                        if let Value::Object(attrs) = child {
                            for (ak, av) in attrs {
                                if ak == "xmlns" {
                                    continue;
                                }
                                let n = if name.is_empty() {
                                    ak.clone()
                                } else {
                                    format!("{name}_{ak}")
                                };
                                self.push_json(&n, av);
                            }
                        }
                    } else if self.dotted && !name.is_empty() {
                        let n = format!("{name}.{k}");
                        self.push_json(&n, child);
                    } else {
                        self.push_json(k, child);
                    }
                }
            }
        }
    }

    fn fill_meta(&mut self, source: &Arc<str>, record: u64, kind: SourceKind) {
        let ev = &self.ev;
        let time = ev.first_by_priority(&self.meta.time).map(|f| f.value);
        let time_ms = time.and_then(crate::time::parse_ms);
        let time: Option<Box<str>> = time.map(Into::into);
        let computer = ev
            .first_by_priority(&self.meta.computer)
            .map(|f| f.value.into());
        let channel_f = ev.first_by_priority(&self.meta.channel);
        let channel: Option<Box<str>> = channel_f.map(|f| f.value.into());
        let channel_lower: Option<Box<str>> = channel_f.map(|f| f.lower().into());
        let event_id = ev
            .first_by_priority(&self.meta.event_id)
            .and_then(|f| f.value.trim().parse::<u32>().ok());
        let ev = &mut self.ev;
        ev.time = time;
        ev.time_ms = time_ms;
        ev.computer = computer;
        ev.channel = channel;
        ev.channel_lower = channel_lower;
        ev.event_id = event_id;
        ev.record = record;
        if !Arc::ptr_eq(&ev.source, source) {
            ev.source = source.clone();
        }
        ev.kind = kind;
    }

    /// Finish the event, handing it over (the next one starts empty).
    pub fn finish(&mut self, source: &Arc<str>, record: u64, kind: SourceKind) -> Event {
        self.fill_meta(source, record, kind);
        // A copy sized to fit; the builder keeps its grown buffers for the next event.
        let ev = self.ev.clone();
        self.reset();
        ev
    }

    /// Finish the event and lend it; call [`EventBuilder::reset`] before the next one.
    pub fn finish_ref(&mut self, source: &Arc<str>, record: u64, kind: SourceKind) -> &mut Event {
        self.fill_meta(source, record, kind);
        &mut self.ev
    }
}

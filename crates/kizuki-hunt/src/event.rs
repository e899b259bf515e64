//! A flat event: a list of (name, value) leaves with field ids resolved against the
//! names the loaded rules use, plus the few values every output line needs.

use std::collections::HashMap;
use std::sync::Arc;

/// Identifier of a field name the rules refer to. `NO_FIELD` when the rules never name it.
pub type FieldId = u32;
/// Marker for an event field whose name no rule uses.
pub const NO_FIELD: FieldId = u32::MAX;

/// Interned field names (compared case-insensitively).
#[derive(Debug, Default, Clone)]
pub struct FieldRegistry {
    ids: HashMap<String, FieldId>,
    names: Vec<String>,
}

impl FieldRegistry {
    /// The id for `name`, creating it when new.
    pub fn intern(&mut self, name: &str) -> FieldId {
        let key = name.to_ascii_lowercase();
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = self.names.len() as FieldId;
        self.names.push(name.to_string());
        self.ids.insert(key, id);
        id
    }

    /// The id of `name` if any rule uses it. `buf` is scratch space to avoid allocating.
    pub fn lookup(&self, name: &str, buf: &mut String) -> FieldId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        buf.clear();
        buf.push_str(name);
        buf.make_ascii_lowercase();
        self.ids.get(buf.as_str()).copied().unwrap_or(NO_FIELD)
    }

    /// The name of an id.
    pub fn name(&self, id: FieldId) -> &str {
        self.names
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// One leaf of an event.
#[derive(Debug, Clone)]
pub struct Field {
    /// Full name: the leaf name for EVTX (`CommandLine`, `Provider_Name`), the dotted path for JSON.
    pub name: Box<str>,
    /// Id of the full name.
    pub id: FieldId,
    /// Id of the last segment of a dotted path (same as `id` when there is no dot).
    pub leaf_id: FieldId,
    /// The value as text.
    pub value: Box<str>,
    /// The value lowercased, when that differs from `value`.
    lower: Option<Box<str>>,
}

impl Field {
    /// Build a field, lowercasing the value once.
    pub fn new(name: Box<str>, id: FieldId, leaf_id: FieldId, value: Box<str>) -> Self {
        let lower = if value.chars().any(char::is_uppercase) {
            Some(value.to_lowercase().into_boxed_str())
        } else {
            None
        };
        Field {
            name,
            id,
            leaf_id,
            value,
            lower,
        }
    }

    /// The lowercased value.
    pub fn lower(&self) -> &str {
        self.lower.as_deref().unwrap_or(&self.value)
    }

    /// Whether this field answers to any of `ids`.
    #[inline]
    pub fn is(&self, ids: &[FieldId]) -> bool {
        ids.iter().any(|i| *i == self.id || *i == self.leaf_id)
    }
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

/// A flat event.
#[derive(Debug, Clone)]
pub struct Event {
    /// All leaves, in document order.
    pub fields: Vec<Field>,
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
    /// Fields answering to any of `ids`.
    #[inline]
    pub fn get<'a>(&'a self, ids: &'a [FieldId]) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.is(ids))
    }

    /// First value of a field by exact (case-insensitive) name, for tests and output.
    pub fn value_of(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| {
                f.name.eq_ignore_ascii_case(name)
                    || f.name
                        .rsplit('.')
                        .next()
                        .is_some_and(|l| l.eq_ignore_ascii_case(name))
            })
            .map(|f| &*f.value)
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

fn first_by_priority<'a>(fields: &'a [Field], ids: &[FieldId]) -> Option<&'a Field> {
    for id in ids {
        if let Some(f) = fields.iter().find(|f| f.id == *id || f.leaf_id == *id) {
            return Some(f);
        }
    }
    None
}

/// Collects leaves and turns them into an [`Event`].
#[derive(Debug)]
pub struct EventBuilder<'r> {
    reg: &'r FieldRegistry,
    meta: &'r MetaIds,
    buf: String,
    fields: Vec<Field>,
    /// When true, names are full dotted paths and the last segment is looked up too.
    dotted: bool,
}

impl<'r> EventBuilder<'r> {
    /// A builder resolving names against `reg`.
    pub fn new(reg: &'r FieldRegistry, meta: &'r MetaIds, dotted: bool) -> Self {
        EventBuilder {
            reg,
            meta,
            buf: String::new(),
            fields: Vec::with_capacity(32),
            dotted,
        }
    }

    /// Add one leaf.
    pub fn push(&mut self, name: &str, value: Box<str>) {
        let id = self.reg.lookup(name, &mut self.buf);
        let leaf_id = if self.dotted {
            match name.rfind('.') {
                Some(p) => self.reg.lookup(&name[p + 1..], &mut self.buf),
                None => id,
            }
        } else {
            id
        };
        self.fields
            .push(Field::new(name.into(), id, leaf_id, value));
    }

    /// Add every leaf of a JSON value. EVTX-style `#attributes` become `Parent_Attr` and
    /// `#text` becomes the parent's value. Without `dotted`, a leaf is named by its own key
    /// only (the EVTX convention: `EventData.Image` is `Image`).
    pub fn push_json(&mut self, name: &str, v: &serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Null => {}
            Value::Bool(b) => self.push(name, if *b { "true".into() } else { "false".into() }),
            Value::Number(n) => self.push(name, n.to_string().into_boxed_str()),
            Value::String(s) => self.push(name, s.as_str().into()),
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

    /// Finish the event.
    pub fn finish(&mut self, source: &Arc<str>, record: u64, kind: SourceKind) -> Event {
        let fields = std::mem::take(&mut self.fields);
        let time = first_by_priority(&fields, &self.meta.time).map(|f| f.value.clone());
        let time_ms = time.as_deref().and_then(crate::time::parse_ms);
        let computer = first_by_priority(&fields, &self.meta.computer).map(|f| f.value.clone());
        let channel_f = first_by_priority(&fields, &self.meta.channel);
        let channel = channel_f.map(|f| f.value.clone());
        let channel_lower = channel_f.map(|f| f.lower().into());
        let event_id = first_by_priority(&fields, &self.meta.event_id)
            .and_then(|f| f.value.trim().parse::<u32>().ok());
        Event {
            fields,
            time,
            time_ms,
            computer,
            channel,
            channel_lower,
            event_id,
            record,
            source: source.clone(),
            kind,
        }
    }
}

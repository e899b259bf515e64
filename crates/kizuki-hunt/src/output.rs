//! Detections, timeline writers (CSV, JSON lines), the summary and the hunt outcome.

use crate::sigma::Level;
use serde::Serialize;
use serde::ser::SerializeMap;
use std::collections::BTreeMap;
use std::io::Write;

/// What produced a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HitKind {
    /// A Sigma rule.
    Sigma,
    /// A Sigma correlation rule.
    Correlation,
    /// An indicator sweep.
    Ioc,
}

/// Kind of an indicator.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// IP address.
    Ip,
    /// IP network.
    Cidr,
    /// Domain name.
    Domain,
    /// URL.
    Url,
    /// E-mail address.
    Email,
    /// File hash (MD5, SHA-1, SHA-256, SHA-512).
    Hash,
    /// Account name.
    Account,
    /// File name.
    FileName,
}

impl IndicatorKind {
    /// Name as in the outcome (`ip`, `cidr`, `domain`, `url`, `email`, `hash`, `account`, `file_name`).
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Email => "email",
            IndicatorKind::Hash => "hash",
            IndicatorKind::Account => "account",
            IndicatorKind::FileName => "file_name",
        }
    }

    /// Parse a kind name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "ip" | "ipv4" | "ipv6" => IndicatorKind::Ip,
            "cidr" | "net" | "network" => IndicatorKind::Cidr,
            "domain" | "fqdn" | "hostname" => IndicatorKind::Domain,
            "url" | "uri" => IndicatorKind::Url,
            "email" | "mail" => IndicatorKind::Email,
            "hash" | "md5" | "sha1" | "sha256" | "sha512" => IndicatorKind::Hash,
            "account" | "user" | "username" => IndicatorKind::Account,
            "file_name" | "filename" | "file" => IndicatorKind::FileName,
            _ => return None,
        })
    }
}

/// One matched indicator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MatchedIndicator {
    /// Kind.
    pub kind: IndicatorKind,
    /// The indicator as given.
    pub value: String,
}

/// Matched fields, serialized as a JSON object in order.
fn ser_fields<S: serde::Serializer>(v: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, val) in v {
        m.serialize_entry(k, val)?;
    }
    m.end()
}

/// One detection: a timeline line.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Event time as found in the log.
    pub timestamp: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(skip)]
    pub time_ms: Option<i64>,
    /// Computer.
    pub computer: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Event id.
    pub event_id: Option<u32>,
    /// Record number (EVTX) or line number.
    pub record: u64,
    /// What found it.
    pub kind: HitKind,
    /// Rule title (or indicator description).
    pub rule_title: String,
    /// Rule id.
    pub rule_id: String,
    /// Level.
    pub level: Level,
    /// Rule status.
    pub status: String,
    /// ATT&CK tags.
    pub tags: Vec<String>,
    /// Matching fields (name, value).
    #[serde(serialize_with = "ser_fields")]
    pub fields: Vec<(String, String)>,
    /// File the event came from.
    pub file: String,
    /// Indicators matched (indicator sweeps).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<MatchedIndicator>,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Writes hits as they come.
pub struct HitWriter {
    out: Box<dyn Write + Send>,
    format: Format,
    header_done: bool,
}

impl std::fmt::Debug for HitWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HitWriter")
            .field("format", &self.format)
            .finish()
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl HitWriter {
    /// A writer to `out`.
    pub fn new(out: Box<dyn Write + Send>, format: Format) -> Self {
        HitWriter {
            out,
            format,
            header_done: false,
        }
    }

    /// Write one hit.
    pub fn write(&mut self, h: &Hit) -> std::io::Result<()> {
        self.header()?;
        format_hit(self.format, h, &mut self.out)
    }

    /// The output format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Write a hit already formatted with [`format_hit`] in this writer's format.
    pub fn write_formatted(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.header()?;
        self.out.write_all(line)
    }

    fn header(&mut self) -> std::io::Result<()> {
        if self.format == Format::Csv && !self.header_done {
            self.header_done = true;
            writeln!(
                self.out,
                "timestamp,computer,channel,event_id,record,kind,rule_title,rule_id,level,status,tags,fields,file"
            )?;
        }
        Ok(())
    }

    /// Flush.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Write one hit as a line (JSON object or CSV record, with its line end) to `out`.
pub fn format_hit(format: Format, h: &Hit, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Jsonl => {
            serde_json::to_writer(&mut *out, h)?;
            out.write_all(b"\n")
        }
        Format::Csv => {
            let fields = h
                .fields
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(" ¦ ");
            let kind = match h.kind {
                HitKind::Sigma => "sigma",
                HitKind::Correlation => "correlation",
                HitKind::Ioc => "ioc",
            };
            let cells = [
                csv_cell(h.timestamp.as_deref().unwrap_or("")),
                csv_cell(h.computer.as_deref().unwrap_or("")),
                csv_cell(h.channel.as_deref().unwrap_or("")),
                h.event_id.map(|e| e.to_string()).unwrap_or_default(),
                h.record.to_string(),
                kind.to_string(),
                csv_cell(&h.rule_title),
                csv_cell(&h.rule_id),
                h.level.to_string(),
                csv_cell(&h.status),
                csv_cell(&h.tags.join(" ")),
                csv_cell(&fields),
                csv_cell(&h.file),
            ];
            writeln!(out, "{}", cells.join(","))
        }
    }
}

/// Per-rule totals.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCount {
    /// Title.
    pub title: String,
    /// Level.
    pub level: Level,
    /// Hits.
    pub hits: u64,
}

/// The first sighting of a rule.
#[derive(Debug, Clone, Serialize)]
pub struct FirstSighting {
    /// Event time text.
    pub time: Option<String>,
    /// Milliseconds since the epoch.
    pub time_ms: Option<i64>,
    /// Rule title.
    pub rule_title: String,
    /// Rule id.
    pub rule_id: String,
    /// Level.
    pub level: Level,
    /// Computer.
    pub computer: Option<String>,
    /// Event id.
    pub event_id: Option<u32>,
}

/// What a hunt found, for attaching to an incident.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HuntOutcome {
    /// One entry per rule (and per indicator sweep), its earliest hit, ordered by time.
    pub first_sightings: Vec<FirstSighting>,
    /// Indicators that matched at least once, as (kind, value), sorted and unique.
    pub matched_indicators: Vec<(IndicatorKind, String)>,
    /// Totals.
    pub summary: Summary,
}

/// Totals of a scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Files read (fully or partly).
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// Detections written.
    pub hits: u64,
    /// Detections by level.
    pub by_level: BTreeMap<Level, u64>,
    /// Detections by rule id.
    pub by_rule: BTreeMap<String, RuleCount>,
    /// Rules loaded.
    pub rules_loaded: usize,
    /// Rules that could not be loaded.
    pub rules_failed: usize,
    /// Rules left out by filters.
    pub rules_filtered: usize,
    /// Input problems (file, offset, reason).
    pub input_errors: Vec<crate::input::InputError>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl Summary {
    /// Write a readable summary.
    pub fn write_text(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            w,
            "Scanned {} events in {} files in {:.2} s ({:.0} events/s); {} rules loaded, {} not loaded, {} filtered out.",
            self.events,
            self.files,
            self.seconds,
            if self.seconds > 0.0 {
                self.events as f64 / self.seconds
            } else {
                0.0
            },
            self.rules_loaded,
            self.rules_failed,
            self.rules_filtered
        )?;
        writeln!(w, "Detections: {}", self.hits)?;
        for (l, n) in self.by_level.iter().rev() {
            writeln!(w, "  {l:<13} {n}")?;
        }
        let mut rules: Vec<_> = self.by_rule.iter().collect();
        rules.sort_by(|a, b| {
            b.1.level
                .cmp(&a.1.level)
                .then(b.1.hits.cmp(&a.1.hits))
                .then(a.0.cmp(b.0))
        });
        if !rules.is_empty() {
            writeln!(w, "By rule:")?;
        }
        for (id, rc) in rules {
            writeln!(
                w,
                "  {:>7}  {:<13} {} ({id})",
                rc.hits,
                rc.level.to_string(),
                rc.title
            )?;
        }
        if !self.input_errors.is_empty() {
            writeln!(w, "Could not read ({}):", self.input_errors.len())?;
            for e in &self.input_errors {
                writeln!(w, "  {e}")?;
            }
        }
        Ok(())
    }
}

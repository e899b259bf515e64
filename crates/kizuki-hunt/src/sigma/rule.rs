//! Reading Sigma rule files: documents, metadata and load errors.

use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Severity level of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// informational
    Informational,
    /// low
    Low,
    /// medium
    Medium,
    /// high
    High,
    /// critical
    Critical,
}

impl Level {
    /// Parse a level name (case-insensitive; `info` accepted).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" | "med" => Level::Medium,
            "high" => Level::High,
            "critical" | "crit" => Level::Critical,
            _ => return None,
        })
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule (or correlation) that could not be loaded.
#[derive(Debug, Clone, Serialize)]
pub struct LoadError {
    /// File.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Rule id or title, when known.
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(r) = &self.rule {
            write!(f, " [{r}]")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Metadata of a loaded rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleMeta {
    /// Title.
    pub title: String,
    /// Id (the file path when the rule has none).
    pub id: String,
    /// Name (for correlation references).
    pub name: Option<String>,
    /// Status (`stable`, `test`, `experimental`, …; empty when absent).
    pub status: String,
    /// Level.
    pub level: Level,
    /// All tags.
    pub tags: Vec<String>,
    /// Author.
    pub author: Option<String>,
    /// File.
    pub path: PathBuf,
    /// Logsource product.
    pub product: Option<String>,
    /// Logsource category.
    pub category: Option<String>,
    /// Logsource service.
    pub service: Option<String>,
}

impl RuleMeta {
    /// The ATT&CK tags (`attack.*`).
    pub fn attack_tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with("attack."))
    }
}

/// One YAML document of a rule file.
#[derive(Debug, Clone)]
pub struct RawDoc {
    /// File.
    pub path: PathBuf,
    /// Whole file text (for line look-ups).
    pub text: std::sync::Arc<str>,
    /// Parsed document.
    pub doc: Value,
}

/// 1-based line of the first occurrence of `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|p| text[..p].matches('\n').count() + 1)
}

pub fn line_from_error(msg: &str) -> Option<usize> {
    let lower = msg.to_ascii_lowercase();
    let p = lower.find("line")?;
    let digits: String = lower[p + 4..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Every rule file under the given paths (`.yml` / `.yaml`, folders searched recursively),
/// sorted for reproducible output.
pub fn rule_files(paths: &[PathBuf], errors: &mut Vec<LoadError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out, errors);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            errors.push(LoadError {
                path: p.clone(),
                line: None,
                rule: None,
                reason: "no such file or folder".into(),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(LoadError {
                path: dir.to_path_buf(),
                line: None,
                rule: None,
                reason: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    for entry in rd.flatten() {
        let p = entry.path();
        if p.is_dir() {
            walk(&p, out, errors);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
        {
            out.push(p);
        }
    }
}

/// Read the YAML documents of one file.
pub fn read_docs(path: &Path) -> Result<Vec<RawDoc>, LoadError> {
    let err = |line, reason| LoadError {
        path: path.to_path_buf(),
        line,
        rule: None,
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("").to_string();
        err(line_from_error(&msg), format!("YAML syntax error: {first}"))
    })?;
    let text: std::sync::Arc<str> = text.into();
    Ok(docs
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|doc| RawDoc {
            path: path.to_path_buf(),
            text: text.clone(),
            doc,
        })
        .collect())
}

fn str_field(doc: &Value, key: &str) -> Option<String> {
    match doc.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Metadata of a rule or correlation document.
pub fn meta_of(d: &RawDoc) -> Result<RuleMeta, LoadError> {
    let doc = &d.doc;
    let title = str_field(doc, "title").unwrap_or_default();
    let id = str_field(doc, "id");
    let err = |reason: String| LoadError {
        path: d.path.clone(),
        line: None,
        rule: id
            .clone()
            .or_else(|| (!title.is_empty()).then(|| title.clone())),
        reason,
    };
    if title.is_empty() {
        return Err(err("rule has no title".into()));
    }
    let level = match str_field(doc, "level") {
        None => Level::Medium,
        Some(l) => Level::parse(&l).ok_or_else(|| err(format!("unknown level '{l}'")))?,
    };
    let tags = match doc.get("tags") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let ls = doc.get("logsource");
    let lsf = |k: &str| ls.and_then(|l| str_field(l, k));
    let author = str_field(doc, "author");
    Ok(RuleMeta {
        id: id.clone().unwrap_or_else(|| d.path.display().to_string()),
        title,
        name: str_field(doc, "name"),
        status: str_field(doc, "status").unwrap_or_default(),
        level,
        tags,
        author,
        path: d.path.clone(),
        product: lsf("product"),
        category: lsf("category"),
        service: lsf("service"),
    })
}

//! Mapping of Sigma's generic logsources onto channels, event ids and field names.

use crate::event::MetaNames;
use serde::Deserialize;
use std::collections::HashMap;

/// The built-in mapping file.
pub const BUILTIN: &str = include_str!("../../data/fieldmap.yml");

/// One way a logsource appears in the logs.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Channels the events come from (any of them).
    #[serde(default)]
    pub channel: Vec<String>,
    /// Event ids (any of them); empty means any.
    #[serde(default)]
    pub event_ids: Vec<u32>,
    /// Renames of the rule's field names for these events.
    #[serde(default)]
    pub fields: HashMap<String, String>,
}

/// One logsource entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceMap {
    /// Product (matches any when absent).
    pub product: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// The variants.
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MetaFile {
    time: Option<Vec<String>>,
    computer: Option<Vec<String>>,
    channel: Option<Vec<String>>,
    event_id: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FieldMapFile {
    #[serde(default)]
    meta: MetaFile,
    #[serde(default)]
    aliases: HashMap<String, Vec<String>>,
    #[serde(default)]
    placeholders: HashMap<String, Vec<String>>,
    #[serde(default)]
    logsources: Vec<LogSourceMap>,
}

/// The effective field map.
#[derive(Debug, Clone)]
pub struct FieldMap {
    /// Where meta values are read.
    pub meta: MetaNames,
    /// Field aliases, keyed by lowercased rule field name.
    pub aliases: HashMap<String, Vec<String>>,
    /// Placeholder values for `expand`.
    pub placeholders: HashMap<String, Vec<String>>,
    /// Logsource entries, in priority order.
    pub logsources: Vec<LogSourceMap>,
}

fn parse_file(text: &str, what: &str) -> Result<FieldMapFile, String> {
    serde_saphyr::from_str::<FieldMapFile>(text).map_err(|e| format!("{what}: {e}"))
}

impl FieldMap {
    /// The built-in map.
    pub fn builtin() -> Result<FieldMap, String> {
        let f = parse_file(BUILTIN, "built-in field map")?;
        let m = f.meta;
        Ok(FieldMap {
            meta: MetaNames {
                time: m.time.unwrap_or_default(),
                computer: m.computer.unwrap_or_default(),
                channel: m.channel.unwrap_or_default(),
                event_id: m.event_id.unwrap_or_default(),
            },
            aliases: f
                .aliases
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            placeholders: f.placeholders,
            logsources: f.logsources,
        })
    }

    /// Merge a user file (YAML text) over this map.
    pub fn extend_with(&mut self, text: &str, what: &str) -> Result<(), String> {
        let f = parse_file(text, what)?;
        if let Some(v) = f.meta.time {
            self.meta.time = v;
        }
        if let Some(v) = f.meta.computer {
            self.meta.computer = v;
        }
        if let Some(v) = f.meta.channel {
            self.meta.channel = v;
        }
        if let Some(v) = f.meta.event_id {
            self.meta.event_id = v;
        }
        for (k, v) in f.aliases {
            self.aliases.insert(k.to_ascii_lowercase(), v);
        }
        self.placeholders.extend(f.placeholders);
        let mut ls = f.logsources;
        ls.append(&mut self.logsources);
        self.logsources = ls;
        Ok(())
    }

    /// The entry for a rule's logsource, if any.
    pub fn lookup(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Option<&LogSourceMap> {
        let eq = |a: Option<&String>, b: Option<&str>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        self.logsources.iter().find(|e| {
            let product_ok = match (&e.product, product) {
                (None, _) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (Some(_), None) => false,
            };
            product_ok && eq(e.category.as_ref(), category) && eq(e.service.as_ref(), service)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_loads() {
        let m = FieldMap::builtin().unwrap();
        let e = m
            .lookup(Some("windows"), Some("process_creation"), None)
            .unwrap();
        assert_eq!(e.variants.len(), 2);
        assert!(m.lookup(Some("windows"), None, Some("security")).is_some());
        assert!(
            m.lookup(Some("windows"), Some("nothing_like_this"), None)
                .is_none()
        );
    }
}

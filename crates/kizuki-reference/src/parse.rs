//! Strict, location-aware parsing of one reference case file.
//!
//! Follows `kizuki-playbook`: syntax and type errors come from serde-saphyr with their
//! position and (via `serde_path_to_error`) the field path; the parsed case is then checked,
//! and every semantic error points at the list item or field that needs fixing. Errors are
//! displayed as `file:line:col: path: message`.

use std::fmt;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use crate::model::{Case, Text, TimelineItem};

/// One problem in one reference file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    pub file: String,
    /// 1-based; absent when unknown.
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The field path, e.g. `timeline[3].time`; empty for the document as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReferenceError {}

/// Every problem found in a file (or in the library), one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct ReferenceErrors {
    pub errors: Vec<ReferenceError>,
}

impl fmt::Display for ReferenceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ReferenceError> for ReferenceErrors {
    fn from(e: ReferenceError) -> Self {
        Self { errors: vec![e] }
    }
}

/// Where the top-level fields and list items were written, for semantic errors.
#[derive(Deserialize, Default)]
struct Locations {
    #[serde(default)]
    id: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    number: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    attack_vectors: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    causes: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    damage_limiters: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    lessons: Vec<Spanned<IgnoredAny>>,
    #[serde(default)]
    challenges: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    timeline: Vec<Spanned<IgnoredAny>>,
    #[serde(default)]
    decisions: Vec<Spanned<IgnoredAny>>,
}

fn to_u32(n: u64) -> Option<u32> {
    u32::try_from(n).ok().filter(|n| *n > 0)
}

fn at<T>(s: Option<&Spanned<T>>) -> (Option<u32>, Option<u32>) {
    s.map(|s| (to_u32(s.referenced.line()), to_u32(s.referenced.column())))
        .unwrap_or((None, None))
}

/// Reads and checks one case file. `file` is used only in error messages.
pub fn parse_case(file: &str, text: &str) -> Result<Case, ReferenceErrors> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(ReferenceError {
            file: file.to_owned(),
            line: Some(1),
            column: Some(1),
            path: String::new(),
            message: "the file is empty".to_owned(),
        }
        .into());
    }
    let mut path = String::new();
    let result: Result<Case, serde_saphyr::Error> =
        serde_saphyr::with_deserializer_from_str(text, |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                path = clean_path(&e.path().to_string());
                e.into_inner()
            })
        });
    let case = result.map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (to_u32(l.line()), to_u32(l.column())))
            .unwrap_or((None, None));
        ReferenceError {
            file: file.to_owned(),
            line,
            column,
            path,
            message: clean_message(&e.without_snippet().to_string()),
        }
    })?;
    let locations: Locations = serde_saphyr::from_str(text).unwrap_or_default();
    let mut c = Checker {
        file,
        loc: &locations,
        errors: Vec::new(),
    };
    c.case(&case);
    if c.errors.is_empty() {
        Ok(case)
    } else {
        let mut errors = c.errors;
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ReferenceErrors { errors })
    }
}

fn clean_path(p: &str) -> String {
    if p == "?" || p == "." {
        return String::new();
    }
    p.replace(".?", "").trim_end_matches('?').to_owned()
}

fn clean_message(m: &str) -> String {
    let m = match m.rfind(" at line ") {
        Some(i) if m[i..].contains(", column ") => &m[..i],
        _ => m,
    };
    m.trim()
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
}

struct Checker<'a> {
    file: &'a str,
    loc: &'a Locations,
    errors: Vec<ReferenceError>,
}

impl Checker<'_> {
    fn push(&mut self, pos: (Option<u32>, Option<u32>), path: String, message: impl Into<String>) {
        self.errors.push(ReferenceError {
            file: self.file.to_owned(),
            line: pos.0,
            column: pos.1,
            path,
            message: message.into(),
        });
    }

    fn text(&mut self, pos: (Option<u32>, Option<u32>), path: &str, t: &Text) {
        if t.ja.trim().is_empty() {
            self.push(pos, format!("{path}.ja"), "must not be empty");
        } else if !t.ja.chars().any(is_japanese) {
            self.push(pos, format!("{path}.ja"), "contains no Japanese");
        }
        if t.en.trim().is_empty() {
            self.push(pos, format!("{path}.en"), "must not be empty");
        } else if t.en.chars().any(is_kana) {
            self.push(pos, format!("{path}.en"), "contains Japanese kana");
        }
    }

    fn case(&mut self, case: &Case) {
        let loc = self.loc;
        let id_at = at(loc.id.as_ref());
        let expected = format!("case-{:02}", case.number);
        if !(1..=10).contains(&case.number) {
            self.push(at(loc.number.as_ref()), "number".into(), "must be 1 to 10");
        } else if case.id != expected {
            self.push(
                id_at,
                "id".into(),
                format!("must be `{expected}` for case number {}", case.number),
            );
        }
        for (name, t) in [
            ("title", &case.title),
            ("overview", &case.overview),
            ("situation", &case.situation),
            ("background", &case.background),
            ("impact", &case.impact),
        ] {
            self.text(id_at, name, t);
        }
        if let Some(t) = &case.timeline_note {
            self.text(id_at, "timeline_note", t);
        }
        if case.attack_vectors.is_empty() {
            self.push(
                at(loc.attack_vectors.as_ref()),
                "attack_vectors".into(),
                "needs at least one vector",
            );
        }
        let causes_at = at(loc.causes.as_ref());
        if case.causes.is_empty() {
            self.push(causes_at, "causes".into(), "needs at least one cause");
        }
        for (i, c) in case.causes.iter().enumerate() {
            self.text(causes_at, &format!("causes[{i}].technical"), &c.technical);
            self.text(
                causes_at,
                &format!("causes[{i}].organisational"),
                &c.organisational,
            );
        }
        let dl_at = at(loc.damage_limiters.as_ref());
        for (i, t) in case.damage_limiters.iter().enumerate() {
            self.text(dl_at, &format!("damage_limiters[{i}]"), t);
        }
        let ch_at = at(loc.challenges.as_ref());
        for (i, t) in case.challenges.iter().enumerate() {
            self.text(ch_at, &format!("challenges[{i}]"), t);
        }
        if case.lessons.is_empty() {
            self.push(id_at, "lessons".into(), "needs at least one lesson");
        }
        for (i, l) in case.lessons.iter().enumerate() {
            let pos = at(loc.lessons.get(i));
            self.text(pos, &format!("lessons[{i}].text"), &l.text);
            if l.categories.is_empty() {
                self.push(
                    pos,
                    format!("lessons[{i}].categories"),
                    "needs at least one category",
                );
            }
            let mut seen = l.categories.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != l.categories.len() {
                self.push(
                    pos,
                    format!("lessons[{i}].categories"),
                    "lists a category twice",
                );
            }
        }
        self.timeline(&case.timeline);
        for (i, d) in case.decisions.iter().enumerate() {
            let pos = at(loc.decisions.get(i));
            let p = format!("decisions[{i}]");
            self.text(pos, &format!("{p}.question"), &d.question);
            if d.options.len() < 2 {
                self.push(pos, format!("{p}.options"), "needs at least two options");
            }
            let mut ids: Vec<&str> = d.options.iter().map(|o| o.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.len() != d.options.len() {
                self.push(pos, format!("{p}.options"), "option ids must be unique");
            }
            for (j, o) in d.options.iter().enumerate() {
                self.text(pos, &format!("{p}.options[{j}].label"), &o.label);
                if let Some(s) = &o.scenario {
                    self.text(pos, &format!("{p}.options[{j}].scenario"), s);
                }
            }
            if d.chosen_option().is_none() {
                self.push(
                    pos,
                    format!("{p}.chosen"),
                    format!("`{}` is not the id of an option", d.chosen),
                );
            }
            for (name, t) in [
                ("by", &d.by),
                ("rationale", &d.rationale),
                ("when", &d.when),
            ] {
                if let Some(t) = t {
                    self.text(pos, &format!("{p}.{name}"), t);
                }
            }
        }
    }

    fn timeline(&mut self, items: &[TimelineItem]) {
        let dated = items.iter().filter(|t| t.is_dated()).count();
        let all_undated = dated == 0;
        let mut last_key: Option<i64> = None;
        for (i, t) in items.iter().enumerate() {
            let pos = at(self.loc.timeline.get(i));
            let p = format!("timeline[{i}]");
            self.text(pos, &format!("{p}.text"), &t.text);
            self.text(pos, &format!("{p}.lane_label"), &t.lane_label);
            let given = [
                t.day.is_some(),
                t.day_before.is_some(),
                t.week.is_some(),
                t.month.is_some(),
                t.months_before_at_least.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given > 1 {
                self.push(
                    pos,
                    p.clone(),
                    "give only one of day, day_before, week, month, months_before_at_least",
                );
            }
            if given == 0 && !all_undated {
                self.push(pos, p.clone(), "needs a day, day_before, week, month or months_before_at_least (only a fully masked timeline may leave them out)");
            }
            if t.week_or_later && t.week.is_none() {
                self.push(pos, format!("{p}.week_or_later"), "needs week");
            }
            if (t.time.is_some() || t.day_part.is_some())
                && t.day.is_none()
                && t.day_before.is_none()
            {
                self.push(pos, p.clone(), "time and day_part need day or day_before");
            }
            if t.time.is_some() && t.day_part.is_some() {
                self.push(pos, p.clone(), "give time or day_part, not both");
            }
            if let Some(time) = &t.time
                && !valid_hhmm(time)
            {
                self.push(pos, format!("{p}.time"), format!("`{time}` is not HH:MM"));
            }
            if t.continued && i == 0 {
                self.push(
                    pos,
                    format!("{p}.continued"),
                    "the first entry cannot continue another",
                );
            }
            if let Some(key) = t.order_key() {
                if let Some(prev) = last_key
                    && key < prev
                {
                    self.push(
                        pos,
                        p.clone(),
                        "is earlier than the entry before it; keep the study's order",
                    );
                }
                last_key = Some(key);
            }
        }
    }
}

fn valid_hhmm(s: &str) -> bool {
    let Some((h, m)) = s.split_once(':') else {
        return false;
    };
    h.len() == 2
        && m.len() == 2
        && h.parse::<u8>().is_ok_and(|h| h < 24)
        && m.parse::<u8>().is_ok_and(|m| m < 60)
}

/// Hiragana, katakana or CJK ideographs.
pub fn is_japanese(c: char) -> bool {
    is_kana(c) || matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// Hiragana or katakana.
pub fn is_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' | '\u{FF66}'..='\u{FF9D}')
}

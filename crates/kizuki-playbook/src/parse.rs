//! Strict, location-aware parsing of one playbook file.
//!
//! The file is first read into "raw" structures whose every field remembers where it was
//! written (serde-saphyr's [`Spanned`]); syntax and type errors come from the deserialiser
//! with their position and the field path. The raw structures are then checked and turned
//! into a [`Playbook`], and every semantic error points at the offending value.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::Path;
use std::str::FromStr;

use kizuki_domain::incident::Category;
use kizuki_domain::timeline::Lane;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{PlaybookError, PlaybookErrors};
use crate::model::{Due, DueFrom, Phase, Playbook, PlaybookTask, Text, Why};
use crate::offset::parse_offset;

/// The case numbers of the NISC study (ケース1 … ケース10).
pub const CASE_RANGE: RangeInclusive<i64> = 1..=10;

type Sp<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    #[serde(default)]
    id: Option<Sp<String>>,
    #[serde(default)]
    version: Option<Sp<i64>>,
    #[serde(default)]
    category: Option<Sp<String>>,
    #[serde(default)]
    title: Option<Sp<RawText>>,
    #[serde(default)]
    summary: Option<Sp<RawText>>,
    #[serde(default)]
    phases: Option<Sp<Vec<Sp<RawPhase>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    #[serde(default)]
    ja: Option<Sp<String>>,
    #[serde(default)]
    en: Option<Sp<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    #[serde(default)]
    id: Option<Sp<String>>,
    #[serde(default)]
    title: Option<Sp<RawText>>,
    #[serde(default)]
    tasks: Option<Sp<Vec<Sp<RawTask>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    #[serde(default)]
    id: Option<Sp<String>>,
    #[serde(default)]
    title: Option<Sp<RawText>>,
    #[serde(default)]
    lane: Option<Sp<String>>,
    #[serde(default)]
    checklist: Option<Sp<Vec<Sp<RawText>>>>,
    #[serde(default)]
    due: Option<Sp<RawDue>>,
    #[serde(default)]
    why: Option<Sp<RawWhy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDue {
    #[serde(default)]
    after: Option<Sp<String>>,
    #[serde(default)]
    from: Option<Sp<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhy {
    #[serde(default)]
    case: Option<Sp<i64>>,
    #[serde(default)]
    cases: Option<Sp<Vec<Sp<i64>>>>,
    #[serde(default)]
    lesson: Option<Sp<RawText>>,
}

/// Reads and validates one playbook. `file_name` is only used in error messages.
///
/// Returns every problem found (syntax and type errors stop at the first one, as the rest of
/// the document cannot be trusted; semantic errors are all collected).
pub fn parse(file_name: &str, text: &str) -> Result<Playbook, PlaybookErrors> {
    let raw = deserialize(file_name, text)?;
    let mut v = Validator {
        file: file_name,
        errors: PlaybookErrors::default(),
    };
    let playbook = v.playbook(&raw);
    let mut errors = v.errors.into_vec();
    errors.sort_by_key(|e| (e.line, e.column));
    match playbook {
        Some(p) if errors.is_empty() => Ok(p),
        _ => Err(PlaybookErrors::new(errors)),
    }
}

/// Reads and validates the playbook file at `path` (what `kizuki playbook validate FILE` runs).
/// Errors name the path as given.
pub fn validate_file(path: &Path) -> Result<Playbook, PlaybookErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        PlaybookErrors::from(PlaybookError::new(
            &name,
            None,
            None,
            "",
            format!("cannot read file: {e}"),
        ))
    })?;
    parse(&name, &text)
}

fn deserialize(file: &str, text: &str) -> Result<Sp<RawPlaybook>, PlaybookErrors> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(PlaybookError::new(file, Some(1), Some(1), "", "the file is empty").into());
    }
    let mut path = String::new();
    let result: Result<Sp<RawPlaybook>, serde_saphyr::Error> =
        serde_saphyr::with_deserializer_from_str(text, |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                path = clean_path(&e.path().to_string());
                e.into_inner()
            })
        });
    result.map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (to_u32(l.line()), to_u32(l.column())))
            .unwrap_or((0, 0));
        let message = clean_message(&e.without_snippet().to_string());
        PlaybookError::new(file, Some(line), Some(column), path, message).into()
    })
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `phases.value[2].value.tasks` → `phases[2].tasks` (the `value` steps are the span wrappers).
fn clean_path(p: &str) -> String {
    if p == "?" || p == "." {
        return String::new();
    }
    let mut out = String::new();
    for seg in p.split('.') {
        let seg = seg.strip_prefix("value").unwrap_or(seg);
        if seg.is_empty() {
            continue;
        }
        if !out.is_empty() && !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(seg);
    }
    out.replace(".?", "").trim_end_matches('?').to_owned()
}

/// Drops the position the deserialiser appends (we print it in front) and words a few
/// messages for people who edit playbooks rather than for Rust developers.
fn clean_message(m: &str) -> String {
    let m = match m.rfind(" at line ") {
        Some(i) if m[i..].contains(", column ") => &m[..i],
        _ => m,
    };
    let m = m.trim();
    match m {
        "invalid i64" | "invalid u8" | "invalid u32" => "expected a whole number".to_owned(),
        "expected string scalar" => "expected a text value".to_owned(),
        _ => m
            .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
            .replace("i64", "whole number"),
    }
}

struct Validator<'a> {
    file: &'a str,
    errors: PlaybookErrors,
}

fn at<T>(s: &Sp<T>) -> (u32, u32) {
    (to_u32(s.referenced.line()), to_u32(s.referenced.column()))
}

fn is_valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

impl Validator<'_> {
    fn err(&mut self, (line, column): (u32, u32), path: &str, message: impl Into<String>) {
        self.errors.push(PlaybookError::new(
            self.file,
            Some(line),
            Some(column),
            path,
            message,
        ));
    }

    /// A required field; reports it missing at the mapping that should hold it.
    fn required<'v, T>(
        &mut self,
        v: &'v Option<Sp<T>>,
        parent: (u32, u32),
        parent_path: &str,
        field: &str,
    ) -> Option<&'v Sp<T>> {
        if v.is_none() {
            self.err(parent, parent_path, format!("missing field `{field}`"));
        }
        v.as_ref()
    }

    fn id(&mut self, v: &Option<Sp<String>>, parent: (u32, u32), path: &str) -> Option<String> {
        let s = self.required(v, parent, path, "id")?;
        let p = join(path, "id");
        if s.value.trim().is_empty() {
            self.err(at(s), &p, "must not be empty");
            return None;
        }
        if !is_valid_id(&s.value) {
            self.err(
                at(s),
                &p,
                format!(
                    "invalid id {:?}; use lower-case letters, digits, \"_\" and \"-\", starting with a letter or digit",
                    s.value
                ),
            );
            return None;
        }
        Some(s.value.clone())
    }

    fn text(
        &mut self,
        v: &Option<Sp<RawText>>,
        parent: (u32, u32),
        parent_path: &str,
        field: &str,
    ) -> Option<Text> {
        let t = self.required(v, parent, parent_path, field)?;
        self.text_value(t, &join(parent_path, field))
    }

    fn text_value(&mut self, t: &Sp<RawText>, path: &str) -> Option<Text> {
        let ja = self.lang(&t.value.ja, at(t), path, "ja");
        let en = self.lang(&t.value.en, at(t), path, "en");
        Some(Text { ja: ja?, en: en? })
    }

    fn lang(
        &mut self,
        v: &Option<Sp<String>>,
        parent: (u32, u32),
        path: &str,
        lang: &str,
    ) -> Option<String> {
        let s = self.required(v, parent, path, lang)?;
        if s.value.trim().is_empty() {
            let name = if lang == "ja" { "Japanese" } else { "English" };
            self.err(
                at(s),
                &join(path, lang),
                format!("the {name} text must not be empty"),
            );
            return None;
        }
        Some(s.value.trim().to_owned())
    }

    fn playbook(&mut self, raw: &Sp<RawPlaybook>) -> Option<Playbook> {
        let here = at(raw);
        let r = &raw.value;
        let id = self.id(&r.id, here, "");
        let version = self
            .required(&r.version, here, "", "version")
            .and_then(|v| match u32::try_from(v.value) {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    self.err(
                        at(v),
                        "version",
                        format!(
                            "version must be a whole number of at least 1, found {}",
                            v.value
                        ),
                    );
                    None
                }
            });
        let category = self
            .required(&r.category, here, "", "category")
            .and_then(|c| match Category::from_str(c.value.trim()) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.err(
                        at(c),
                        "category",
                        format!(
                            "unknown category {:?}; expected one of {}",
                            e.value, e.expected
                        ),
                    );
                    None
                }
            });
        let title = self.text(&r.title, here, "", "title");
        let summary = self.text(&r.summary, here, "", "summary");

        let mut phases = Vec::new();
        let mut ok = true;
        if let Some(ps) = self.required(&r.phases, here, "", "phases") {
            if ps.value.is_empty() {
                self.err(at(ps), "phases", "a playbook needs at least one phase");
                ok = false;
            }
            let mut phase_ids: HashMap<String, u32> = HashMap::new();
            let mut task_ids: HashMap<String, u32> = HashMap::new();
            for (i, p) in ps.value.iter().enumerate() {
                match self.phase(p, &format!("phases[{i}]"), &mut phase_ids, &mut task_ids) {
                    Some(p) => phases.push(p),
                    None => ok = false,
                }
            }
        }
        Some(Playbook {
            id: id?,
            version: version?,
            category: category?,
            title: title?,
            summary: summary?,
            phases: if ok { phases } else { return None },
        })
    }

    fn phase(
        &mut self,
        raw: &Sp<RawPhase>,
        path: &str,
        phase_ids: &mut HashMap<String, u32>,
        task_ids: &mut HashMap<String, u32>,
    ) -> Option<Phase> {
        let here = at(raw);
        let r = &raw.value;
        let mut id = self.id(&r.id, here, path);
        if let (Some(i), Some(s)) = (&id, &r.id) {
            if let Some(first) = phase_ids.get(i) {
                self.err(
                    at(s),
                    &join(path, "id"),
                    format!("duplicate phase id {i:?}; first used on line {first}"),
                );
                id = None;
            } else {
                phase_ids.insert(i.clone(), at(s).0);
            }
        }
        let title = self.text(&r.title, here, path, "title");
        let mut tasks = Vec::new();
        let mut ok = true;
        if let Some(ts) = self.required(&r.tasks, here, path, "tasks") {
            if ts.value.is_empty() {
                self.err(
                    at(ts),
                    &join(path, "tasks"),
                    "a phase needs at least one task",
                );
                ok = false;
            }
            for (i, t) in ts.value.iter().enumerate() {
                match self.task(t, &format!("{path}.tasks[{i}]"), task_ids) {
                    Some(t) => tasks.push(t),
                    None => ok = false,
                }
            }
        } else {
            ok = false;
        }
        let (id, title) = (id?, title?);
        ok.then_some(Phase { id, title, tasks })
    }

    fn task(
        &mut self,
        raw: &Sp<RawTask>,
        path: &str,
        task_ids: &mut HashMap<String, u32>,
    ) -> Option<PlaybookTask> {
        let here = at(raw);
        let r = &raw.value;
        let mut id = self.id(&r.id, here, path);
        if let (Some(i), Some(s)) = (&id, &r.id) {
            if let Some(first) = task_ids.get(i) {
                self.err(
                    at(s),
                    &join(path, "id"),
                    format!(
                        "duplicate task id {i:?}; first used on line {first} (task ids must be unique in the playbook)"
                    ),
                );
                id = None;
            } else {
                task_ids.insert(i.clone(), at(s).0);
            }
        }
        let title = self.text(&r.title, here, path, "title");
        let lane = self.required(&r.lane, here, path, "lane").and_then(|l| {
            match Lane::from_str(l.value.trim()) {
                Ok(l) => Some(l),
                Err(e) => {
                    self.err(
                        at(l),
                        &join(path, "lane"),
                        format!("unknown lane {:?}; expected one of {}", e.value, e.expected),
                    );
                    None
                }
            }
        });
        let mut checklist = Some(Vec::new());
        if let Some(items) = &r.checklist {
            for (i, item) in items.value.iter().enumerate() {
                let t = self.text_value(item, &format!("{path}.checklist[{i}]"));
                match (t, checklist.as_mut()) {
                    (Some(t), Some(list)) => list.push(t),
                    _ => checklist = None,
                }
            }
        }
        let due = match &r.due {
            None => Some(None),
            Some(d) => self.due(d, &join(path, "due")).map(Some),
        };
        let why = self
            .required(&r.why, here, path, "why")
            .and_then(|w| self.why(w, &join(path, "why")));
        Some(PlaybookTask {
            id: id?,
            title: title?,
            lane: lane?,
            checklist: checklist?,
            due: due?,
            why: why?,
        })
    }

    fn due(&mut self, raw: &Sp<RawDue>, path: &str) -> Option<Due> {
        let here = at(raw);
        let after = self
            .required(&raw.value.after, here, path, "after")
            .and_then(|a| match parse_offset(&a.value) {
                Ok(d) => Some(d),
                Err(m) => {
                    self.err(at(a), &join(path, "after"), m);
                    None
                }
            });
        let from = self
            .required(&raw.value.from, here, path, "from")
            .and_then(
                |f| match DueFrom::ALL.iter().find(|d| d.as_str() == f.value.trim()) {
                    Some(d) => Some(*d),
                    None => {
                        self.err(
                            at(f),
                            &join(path, "from"),
                            format!(
                                "unknown due reference {:?}; expected one of start, applied",
                                f.value
                            ),
                        );
                        None
                    }
                },
            );
        Some(Due {
            after: after?,
            from: from?,
        })
    }

    fn why(&mut self, raw: &Sp<RawWhy>, path: &str) -> Option<Why> {
        let here = at(raw);
        let r = &raw.value;
        let numbers: Option<Vec<(&Sp<i64>, String)>> = match (&r.case, &r.cases) {
            (Some(c), None) => Some(vec![(c, join(path, "case"))]),
            (None, Some(cs)) => {
                if cs.value.is_empty() {
                    self.err(
                        at(cs),
                        &join(path, "cases"),
                        "name at least one case of the study (1 to 10)",
                    );
                    None
                } else {
                    Some(
                        cs.value
                            .iter()
                            .enumerate()
                            .map(|(i, c)| (c, format!("{path}.cases[{i}]")))
                            .collect(),
                    )
                }
            }
            (Some(c), Some(_)) => {
                self.err(
                    at(c),
                    &join(path, "case"),
                    "give either `case` or `cases`, not both",
                );
                None
            }
            (None, None) => {
                self.err(
                    here,
                    path,
                    "missing field `case` (or `cases`): which case(s) of the study motivate this task",
                );
                None
            }
        };
        let mut cases = Vec::new();
        let mut ok = numbers.is_some();
        for (n, p) in numbers.unwrap_or_default() {
            if CASE_RANGE.contains(&n.value) {
                let c = u8::try_from(n.value).unwrap_or(0);
                if !cases.contains(&c) {
                    cases.push(c);
                }
            } else {
                self.err(
                    at(n),
                    &p,
                    format!(
                        "case {} is outside the study; cases are numbered 1 to 10",
                        n.value
                    ),
                );
                ok = false;
            }
        }
        let lesson = self.text(&r.lesson, here, path, "lesson");
        let lesson = lesson?;
        ok.then_some(Why { cases, lesson })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_span_wrappers_out_of_paths() {
        assert_eq!(
            clean_path("phases.value[2].value.tasks.value[0].value.lane.value"),
            "phases[2].tasks[0].lane"
        );
        assert_eq!(clean_path("?"), "");
        assert_eq!(clean_path("title.value.ja"), "title.ja");
    }

    #[test]
    fn cleans_messages() {
        assert_eq!(
            clean_message("invalid i64 at line 1, column 10"),
            "expected a whole number"
        );
        assert_eq!(
            clean_message("unknown field `titel`, expected one of id, lane at line 5, column 5"),
            "unknown field `titel`, expected one of id, lane"
        );
    }

    #[test]
    fn ids() {
        assert!(is_valid_id("ransomware"));
        assert!(is_valid_id("isolate-hosts_2"));
        assert!(!is_valid_id("Isolate"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id("a b"));
    }
}

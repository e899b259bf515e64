//! Compiling a rule's detection section into matchers.

use super::condition::{self, Cond};
use super::modifier::{self, Modifiers, Op, Pattern, RawValue, ValuePattern};
use crate::event::{Event, FieldId, FieldRegistry};
use aho_corasick::AhoCorasick;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Resolves a rule field name to the ids it may appear under.
pub struct FieldResolver<'a> {
    /// Interner.
    pub reg: &'a mut FieldRegistry,
    /// Aliases (lowercased key).
    pub aliases: &'a HashMap<String, Vec<String>>,
    /// Renames of the current variant.
    pub renames: &'a HashMap<String, String>,
    /// Placeholder values.
    pub placeholders: &'a HashMap<String, Vec<String>>,
}

impl FieldResolver<'_> {
    /// The event-side name and ids of a rule field.
    pub fn resolve(&mut self, name: &str) -> (String, Vec<FieldId>) {
        let renamed = self
            .renames
            .get(name)
            .or_else(|| {
                self.renames
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .cloned()
            .unwrap_or_else(|| name.to_string());
        let mut ids = vec![self.reg.intern(&renamed)];
        for key in [renamed.to_ascii_lowercase(), name.to_ascii_lowercase()] {
            if let Some(al) = self.aliases.get(&key) {
                for a in al {
                    let id = self.reg.intern(a);
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        (renamed, ids)
    }
}

/// How a field's values are checked.
#[derive(Debug)]
enum MatchKind {
    Exists(bool),
    Values {
        groups: Vec<Vec<ValuePattern>>,
        all: bool,
        null: bool,
        /// Case-insensitive substrings, checked in one pass (any-of only).
        ac: Option<AhoCorasick>,
        /// Case-insensitive whole values (any-of only).
        exact: Option<HashSet<Box<str>>>,
    },
}

/// One `field|modifiers: values` entry (or a keyword list when `ids` is `None`).
#[derive(Debug)]
pub struct FieldMatch {
    /// Event-side name (for output).
    pub name: String,
    /// Ids; `None` for keywords (any field).
    pub ids: Option<Vec<FieldId>>,
    kind: MatchKind,
    /// The field must be equal to one of these event ids (index hint).
    eid_values: Option<Vec<u32>>,
    /// The needles of `ac`, lowercase.
    ac_needles: Vec<String>,
}

/// A prefilter requirement: one of these (field ids or any field, lowercase literal) must
/// occur in the event for the rule to possibly match.
pub type Requirement = Vec<(Option<Vec<FieldId>>, String)>;

fn pattern_literal(p: &ValuePattern) -> Option<String> {
    if p.neq || p.time_part.is_some() {
        return None;
    }
    let s: &str = match &p.pat {
        Pattern::Exact(s) | Pattern::Prefix(s) | Pattern::Suffix(s) => s,
        Pattern::Contains(f) => std::str::from_utf8(f.needle()).ok()?,
        _ => return None,
    };
    Some(s.to_lowercase())
}

fn score(r: &Requirement) -> (usize, std::cmp::Reverse<usize>) {
    (
        r.iter().map(|(_, n)| n.chars().count()).min().unwrap_or(0),
        std::cmp::Reverse(r.len()),
    )
}

fn best(cands: impl Iterator<Item = Requirement>) -> Option<Requirement> {
    cands.filter(|r| score(r).0 >= 3).max_by_key(score)
}

impl FieldMatch {
    fn requirement(&self) -> Option<Requirement> {
        let MatchKind::Values {
            groups,
            all,
            null,
            ac,
            exact,
        } = &self.kind
        else {
            return None;
        };
        if *null {
            return None;
        }
        let group_lits = |g: &Vec<ValuePattern>| -> Option<Vec<String>> {
            g.iter().map(pattern_literal).collect()
        };
        let wrap = |lits: Vec<String>| -> Requirement {
            lits.into_iter().map(|l| (self.ids.clone(), l)).collect()
        };
        if *all {
            return best(groups.iter().filter_map(|g| group_lits(g).map(wrap)));
        }
        let mut lits = Vec::new();
        for g in groups {
            lits.extend(group_lits(g)?);
        }
        if let Some(ac) = ac {
            let _ = ac;
            lits.extend(self.ac_needles.iter().cloned());
        }
        if let Some(ex) = exact {
            lits.extend(ex.iter().map(|s| s.to_string()));
        }
        if lits.is_empty() {
            return None;
        }
        Some(wrap(lits))
    }

    fn matches(&self, ev: &Event) -> bool {
        match &self.kind {
            MatchKind::Exists(want) => {
                let ids = self.ids.as_deref().unwrap_or(&[]);
                ev.get(ids).any(|f| !f.value.is_empty()) == *want
            }
            MatchKind::Values {
                groups,
                all,
                null,
                ac,
                exact,
            } => {
                let mut by_id;
                let mut every;
                let fields: &mut dyn Iterator<Item = crate::event::Field<'_>> = match &self.ids {
                    Some(ids) => {
                        by_id = ev.get(ids);
                        &mut by_id
                    }
                    None => {
                        every = ev.fields();
                        &mut every
                    }
                };
                let mut seen = false;
                if *all {
                    let fs: Vec<_> = fields.collect();
                    if fs.is_empty() {
                        return *null;
                    }
                    return groups
                        .iter()
                        .all(|g| g.iter().any(|p| fs.iter().any(|f| p.matches(f, ev))));
                }
                for f in fields {
                    seen = true;
                    if *null && f.value.is_empty() {
                        return true;
                    }
                    if let Some(ac) = ac
                        && ac.is_match(f.lower())
                    {
                        return true;
                    }
                    if let Some(ex) = exact
                        && ex.contains(f.lower())
                    {
                        return true;
                    }
                    for g in groups {
                        for p in g {
                            if p.matches(&f, ev) {
                                return true;
                            }
                        }
                    }
                }
                !seen && *null
            }
        }
    }
}

/// A selection: alternatives (OR) of conjunctions (AND) of field matches.
#[derive(Debug)]
pub struct Selection {
    /// Name in the rule.
    pub name: String,
    alts: Vec<Vec<FieldMatch>>,
}

impl Selection {
    fn matches(&self, ev: &Event) -> bool {
        self.alts.iter().any(|a| a.iter().all(|m| m.matches(ev)))
    }

    fn requirement(&self) -> Option<Requirement> {
        let mut out = Vec::new();
        for alt in &self.alts {
            out.extend(best(alt.iter().filter_map(FieldMatch::requirement))?);
        }
        Some(out)
    }

    /// Event ids this selection requires, if it requires any.
    fn eids(&self) -> Option<Vec<u32>> {
        let mut out: Vec<u32> = Vec::new();
        for alt in &self.alts {
            let e = alt.iter().find_map(|m| m.eid_values.clone())?;
            out.extend(e);
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

/// A compiled detection.
#[derive(Debug)]
pub struct Detection {
    /// Selections, by index.
    pub sels: Vec<Selection>,
    /// Condition.
    pub cond: Cond,
}

impl Detection {
    /// Evaluate on an event.
    pub fn matches(&self, ev: &Event) -> bool {
        self.eval(&self.cond, ev)
    }

    fn eval(&self, c: &Cond, ev: &Event) -> bool {
        match c {
            Cond::Sel(i) => self.sels.get(*i).is_some_and(|s| s.matches(ev)),
            Cond::And(v) => v.iter().all(|c| self.eval(c, ev)),
            Cond::Or(v) => v.iter().any(|c| self.eval(c, ev)),
            Cond::AtLeast(n, v) => v.iter().filter(|c| self.eval(c, ev)).count() >= *n,
            Cond::Not(c) => !self.eval(c, ev),
        }
    }

    /// Literals one of which must occur in the event for the detection to match.
    pub fn requirement(&self) -> Option<Requirement> {
        self.cond_req(&self.cond)
    }

    fn cond_req(&self, c: &Cond) -> Option<Requirement> {
        match c {
            Cond::Sel(i) => self.sels.get(*i)?.requirement(),
            Cond::And(v) => best(v.iter().filter_map(|c| self.cond_req(c))),
            Cond::Or(v) | Cond::AtLeast(_, v) => {
                let mut out = Vec::new();
                for c in v {
                    out.extend(self.cond_req(c)?);
                }
                Some(out)
            }
            Cond::Not(_) => None,
        }
    }

    /// Event ids the whole condition requires, if it can be told.
    pub fn required_eids(&self) -> Option<Vec<u32>> {
        self.cond_eids(&self.cond)
    }

    fn cond_eids(&self, c: &Cond) -> Option<Vec<u32>> {
        match c {
            Cond::Sel(i) => self.sels.get(*i)?.eids(),
            Cond::And(v) => {
                let mut best: Option<Vec<u32>> = None;
                for c in v {
                    if let Some(e) = self.cond_eids(c) {
                        best = Some(match best {
                            None => e,
                            Some(b) => b.into_iter().filter(|x| e.contains(x)).collect(),
                        });
                    }
                }
                best
            }
            Cond::Or(v) | Cond::AtLeast(_, v) => {
                let mut out = Vec::new();
                for c in v {
                    out.extend(self.cond_eids(c)?);
                }
                out.sort_unstable();
                out.dedup();
                Some(out)
            }
            Cond::Not(_) => None,
        }
    }

    /// Every (event-side name, ids) a rule reads, for output.
    pub fn fields(&self) -> Vec<(String, Vec<FieldId>)> {
        let mut out: Vec<(String, Vec<FieldId>)> = Vec::new();
        for s in &self.sels {
            for a in &s.alts {
                for m in a {
                    if let Some(ids) = &m.ids
                        && !out.iter().any(|(n, _)| *n == m.name)
                    {
                        out.push((m.name.clone(), ids.clone()));
                    }
                }
            }
        }
        out
    }
}

/// A detection error with the text to find its line by.
#[derive(Debug)]
pub struct CompileError {
    /// Text to search for in the file to find the line.
    pub near: Option<String>,
    /// Reason.
    pub reason: String,
}

fn cerr(near: Option<&str>, reason: impl Into<String>) -> CompileError {
    CompileError {
        near: near.map(str::to_string),
        reason: reason.into(),
    }
}

fn raw_values(v: &Value, key: &str) -> Result<Vec<RawValue>, CompileError> {
    let one = |v: &Value| -> Result<RawValue, CompileError> {
        Ok(match v {
            Value::Null => RawValue::Null,
            Value::String(s) => RawValue::Str(s.clone()),
            Value::Number(n) => RawValue::Num(n.to_string(), n.as_f64().unwrap_or(0.0)),
            Value::Bool(b) => RawValue::Str(b.to_string()),
            _ => {
                return Err(cerr(
                    Some(key),
                    format!("'{key}': nested lists or maps are not valid values"),
                ));
            }
        })
    };
    match v {
        Value::Array(a) => {
            if a.is_empty() {
                return Err(cerr(Some(key), format!("'{key}': empty value list")));
            }
            a.iter().map(one).collect()
        }
        other => Ok(vec![one(other)?]),
    }
}

fn compile_field(
    key: &str,
    v: &Value,
    res: &mut FieldResolver<'_>,
) -> Result<FieldMatch, CompileError> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").trim();
    let mods: Vec<&str> = parts.collect();
    let m: Modifiers =
        modifier::parse_modifiers(&mods).map_err(|e| cerr(Some(key), format!("'{key}': {e}")))?;
    let raw = raw_values(v, key)?;
    let (name, ids) = if field.is_empty() {
        (String::new(), None)
    } else {
        let (n, ids) = res.resolve(field);
        (n, Some(ids))
    };
    if m.op == Op::Exists {
        if ids.is_none() {
            return Err(cerr(Some(key), "'exists' needs a field name"));
        }
        let want = match raw.as_slice() {
            [RawValue::Str(s)] if s.eq_ignore_ascii_case("true") => true,
            [RawValue::Str(s)] if s.eq_ignore_ascii_case("false") => false,
            _ => {
                return Err(cerr(
                    Some(key),
                    format!("'{key}': exists takes true or false"),
                ));
            }
        };
        return Ok(FieldMatch {
            name,
            ids,
            kind: MatchKind::Exists(want),
            eid_values: None,
            ac_needles: Vec::new(),
        });
    }
    let null = raw.contains(&RawValue::Null);
    let non_null: Vec<RawValue> = raw
        .iter()
        .filter(|r| **r != RawValue::Null)
        .cloned()
        .collect();
    // Keywords without a modifier are substring searches over the whole event.
    let mut m2 = m.clone();
    if ids.is_none() && m2.op == Op::Eq {
        m2.op = Op::Contains;
    }
    let ph = res.placeholders;
    let mut fieldref_ids = |n: &str| res.resolve(n).1;
    let mut groups = modifier::compile_values(&non_null, &m2, ph, &mut fieldref_ids)
        .map_err(|e| cerr(Some(key), format!("'{key}': {e}")))?;
    let eid_values = if field.eq_ignore_ascii_case("EventID")
        && m.op == Op::Eq
        && !m.all
        && !m.neq
        && !null
        && m.transforms.is_empty()
    {
        non_null
            .iter()
            .map(|r| match r {
                RawValue::Num(s, _) | RawValue::Str(s) => s.trim().parse::<u32>().ok(),
                RawValue::Null => None,
            })
            .collect::<Option<Vec<u32>>>()
    } else {
        None
    };
    let mut ac = None;
    let mut exact = None;
    let mut ac_needles = Vec::new();
    if !m.all {
        let flat: Vec<ValuePattern> = groups.drain(..).flatten().collect();
        let simple = |p: &ValuePattern| !p.cased && !p.neq && p.time_part.is_none();
        let n_contains = flat
            .iter()
            .filter(|p| simple(p) && matches!(p.pat, Pattern::Contains(_)))
            .count();
        let n_exact = flat
            .iter()
            .filter(|p| simple(p) && matches!(p.pat, Pattern::Exact(_)))
            .count();
        let mut rest = Vec::new();
        let mut needles: Vec<Vec<u8>> = Vec::new();
        let mut exacts: HashSet<Box<str>> = HashSet::new();
        for p in flat {
            match &p.pat {
                Pattern::Contains(f) if simple(&p) && n_contains >= 3 => {
                    needles.push(f.needle().to_vec())
                }
                Pattern::Exact(s) if simple(&p) && n_exact >= 3 => {
                    exacts.insert(s.clone());
                }
                _ => rest.push(p),
            }
        }
        ac_needles = needles
            .iter()
            .map(|n| String::from_utf8_lossy(n).to_lowercase())
            .collect();
        if !needles.is_empty() {
            ac = Some(AhoCorasick::new(&needles).map_err(|e| cerr(Some(key), e.to_string()))?);
        }
        if !exacts.is_empty() {
            exact = Some(exacts);
        }
        groups = rest.into_iter().map(|p| vec![p]).collect();
    }
    Ok(FieldMatch {
        name,
        ids,
        kind: MatchKind::Values {
            groups,
            all: m.all,
            null,
            ac,
            exact,
        },
        eid_values,
        ac_needles,
    })
}

fn compile_selection(
    name: &str,
    v: &Value,
    res: &mut FieldResolver<'_>,
) -> Result<Selection, CompileError> {
    let map_alt = |m: &serde_json::Map<String, Value>,
                   res: &mut FieldResolver<'_>|
     -> Result<Vec<FieldMatch>, CompileError> {
        if m.is_empty() {
            return Err(cerr(Some(name), format!("selection '{name}' is empty")));
        }
        m.iter().map(|(k, v)| compile_field(k, v, res)).collect()
    };
    let alts = match v {
        Value::Object(m) => vec![map_alt(m, res)?],
        Value::Array(items) => {
            if items.is_empty() {
                return Err(cerr(
                    Some(name),
                    format!("selection '{name}' is an empty list"),
                ));
            }
            let mut alts = Vec::new();
            let mut keywords = Vec::new();
            for it in items {
                match it {
                    Value::Object(m) => alts.push(map_alt(m, res)?),
                    Value::Null => {
                        return Err(cerr(
                            Some(name),
                            format!("selection '{name}' has a null item"),
                        ));
                    }
                    Value::Array(_) => {
                        return Err(cerr(
                            Some(name),
                            format!("selection '{name}' has a nested list"),
                        ));
                    }
                    other => keywords.push(other.clone()),
                }
            }
            if !keywords.is_empty() {
                alts.push(vec![compile_field("", &Value::Array(keywords), res)?]);
            }
            alts
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            vec![vec![compile_field("", v, res)?]]
        }
        Value::Null => return Err(cerr(Some(name), format!("selection '{name}' is empty"))),
    };
    Ok(Selection {
        name: name.to_string(),
        alts,
    })
}

/// Compile a `detection:` map.
pub fn compile_detection(
    det: &Value,
    res: &mut FieldResolver<'_>,
) -> Result<Detection, CompileError> {
    let Value::Object(map) = det else {
        return Err(cerr(Some("detection"), "'detection' must be a map"));
    };
    let mut sels = Vec::new();
    let mut names = Vec::new();
    for (k, v) in map {
        if k == "condition" || k == "timeframe" {
            continue;
        }
        sels.push(compile_selection(k, v, res)?);
        names.push(k.clone());
    }
    let conds: Vec<String> = match map.get("condition") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect(),
        _ => return Err(cerr(Some("detection"), "detection has no condition")),
    };
    if conds.is_empty() {
        return Err(cerr(Some("condition"), "empty condition list"));
    }
    let mut parsed = Vec::new();
    for c in &conds {
        parsed.push(
            condition::parse(c, &names)
                .map_err(|e| cerr(Some("condition:"), format!("condition {c:?}: {e}")))?,
        );
    }
    let cond = if parsed.len() == 1 {
        parsed.remove(0)
    } else {
        Cond::Or(parsed)
    };
    Ok(Detection { sels, cond })
}

//! Sigma correlation rules: event_count, value_count, temporal and temporal_ordered, with
//! group-by and timespan. Matches of the referenced rules are collected during the scan
//! (only the few values needed) and evaluated once the scan is over.

use super::rule::{self, LoadError, RawDoc, RuleMeta};
use crate::event::{Event, FieldId, FieldRegistry};
use crate::output::{Hit, HitKind};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Correlation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrKind {
    /// Number of matching events.
    EventCount,
    /// Number of distinct values of a field.
    ValueCount,
    /// All (or N) referenced rules match within the timespan, in any order.
    Temporal,
    /// The referenced rules match in the given order within the timespan.
    TemporalOrdered,
}

/// Comparison in a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CmpOp {
    /// >
    Gt,
    /// >=
    Gte,
    /// <
    Lt,
    /// <=
    Lte,
    /// ==
    Eq,
    /// !=
    Neq,
}

/// Per referenced rule: ids of each group-by field, and of the value_count field.
type RuleFieldIds = (Vec<Vec<FieldId>>, Option<Vec<FieldId>>);

/// A loaded correlation rule.
#[derive(Debug)]
pub struct Correlation {
    /// Metadata.
    pub meta: Arc<RuleMeta>,
    /// Type.
    pub kind: CorrKind,
    /// Referenced rules (indices into the rule set's metas), in order.
    pub rules: Vec<usize>,
    /// Group-by field names.
    pub group_by: Vec<String>,
    /// Window length.
    pub timespan_ms: i64,
    /// Condition terms (all must hold).
    pub cond: Vec<(CmpOp, f64)>,
    /// Field counted by value_count.
    pub value_field: Option<String>,
    /// alias name -> (rule index -> field name).
    pub aliases: HashMap<String, HashMap<usize, String>>,
    /// Whether the referenced rules also report their own matches.
    pub generate: bool,
    /// Per rule position: ids of each group-by field, then of the value field.
    ids: Vec<RuleFieldIds>,
}

/// What the scan keeps of a referenced rule's match.
#[derive(Debug, Clone)]
pub struct CorrEvent {
    /// Correlation index.
    pub corr: usize,
    /// Position of the rule in the correlation's list.
    pub pos: usize,
    /// Event time.
    pub time_ms: i64,
    /// Group key (values joined).
    pub group: Box<str>,
    /// Value of the value_count field.
    pub value: Option<Box<str>>,
    /// Computer of the event.
    pub computer: Option<Box<str>>,
    /// Channel.
    pub channel: Option<Box<str>>,
    /// Event id.
    pub event_id: Option<u32>,
    /// Time text.
    pub time: Option<Box<str>>,
}

fn err(d: &RawDoc, id: Option<String>, near: Option<&str>, reason: String) -> LoadError {
    LoadError {
        path: d.path.clone(),
        line: near.and_then(|n| rule::line_of(&d.text, n)),
        rule: id,
        reason,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Parse a correlation document against the loaded rules.
pub fn parse(d: &RawDoc, metas: &[Arc<RuleMeta>]) -> Result<Correlation, LoadError> {
    let meta = rule::meta_of(d)?;
    let id = Some(meta.id.clone());
    let Some(c) = d.doc.get("correlation") else {
        return Err(err(d, id, None, "no correlation section".into()));
    };
    let kind = match c.get("type").and_then(Value::as_str) {
        Some("event_count") => CorrKind::EventCount,
        Some("value_count") => CorrKind::ValueCount,
        Some("temporal") => CorrKind::Temporal,
        Some("temporal_ordered") => CorrKind::TemporalOrdered,
        other => {
            return Err(err(
                d,
                id,
                Some("type"),
                format!("unknown correlation type {other:?}"),
            ));
        }
    };
    let refs = strings(c.get("rules"));
    if refs.is_empty() {
        return Err(err(
            d,
            id,
            Some("rules"),
            "correlation names no rules".into(),
        ));
    }
    let mut rules = Vec::new();
    for r in &refs {
        match metas
            .iter()
            .position(|m| m.id == *r || m.name.as_deref() == Some(r.as_str()))
        {
            Some(i) => rules.push(i),
            None => {
                return Err(err(
                    d,
                    id,
                    Some(r),
                    format!(
                        "correlation refers to rule '{r}', which is not loaded (chained correlations are not supported)"
                    ),
                ));
            }
        }
    }
    let group_by = strings(c.get("group-by"));
    let timespan_ms = match c
        .get("timespan")
        .or_else(|| c.get("timeframe"))
        .and_then(Value::as_str)
    {
        Some(t) => crate::time::parse_timespan(t).ok_or_else(|| {
            err(
                d,
                id.clone(),
                Some("timespan"),
                format!("invalid timespan '{t}'"),
            )
        })?,
        None => {
            return Err(err(
                d,
                id,
                Some("correlation"),
                "correlation has no timespan".into(),
            ));
        }
    };
    let mut cond = Vec::new();
    let mut value_field = None;
    if let Some(Value::Object(m)) = c.get("condition") {
        for (k, v) in m {
            let op = match k.as_str() {
                "gt" => CmpOp::Gt,
                "gte" => CmpOp::Gte,
                "lt" => CmpOp::Lt,
                "lte" => CmpOp::Lte,
                "eq" => CmpOp::Eq,
                "neq" => CmpOp::Neq,
                "field" => {
                    value_field = v.as_str().map(str::to_string);
                    continue;
                }
                other => {
                    return Err(err(
                        d,
                        id,
                        Some("condition"),
                        format!("unknown correlation condition '{other}'"),
                    ));
                }
            };
            let n = v.as_f64().ok_or_else(|| {
                err(
                    d,
                    id.clone(),
                    Some("condition"),
                    format!("'{k}' needs a number"),
                )
            })?;
            cond.push((op, n));
        }
    }
    match kind {
        CorrKind::EventCount | CorrKind::ValueCount if cond.is_empty() => {
            return Err(err(
                d,
                id,
                Some("condition"),
                "event_count / value_count need a condition".into(),
            ));
        }
        CorrKind::ValueCount if value_field.is_none() => {
            return Err(err(
                d,
                id,
                Some("condition"),
                "value_count needs 'field' in its condition".into(),
            ));
        }
        _ => {}
    }
    let mut aliases: HashMap<String, HashMap<usize, String>> = HashMap::new();
    if let Some(Value::Object(al)) = c.get("aliases") {
        for (alias, map) in al {
            let Value::Object(map) = map else {
                return Err(err(
                    d,
                    id,
                    Some(alias),
                    format!("alias '{alias}' must map rules to fields"),
                ));
            };
            let mut per = HashMap::new();
            for (r, f) in map {
                let Some(i) = metas
                    .iter()
                    .position(|m| m.id == *r || m.name.as_deref() == Some(r.as_str()))
                else {
                    return Err(err(
                        d,
                        id,
                        Some(r),
                        format!("alias '{alias}' refers to unknown rule '{r}'"),
                    ));
                };
                per.insert(i, f.as_str().unwrap_or_default().to_string());
            }
            aliases.insert(alias.clone(), per);
        }
    }
    let generate = c
        .get("generate")
        .or_else(|| d.doc.get("generate"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Correlation {
        meta: Arc::new(meta),
        kind,
        rules,
        group_by,
        timespan_ms,
        cond,
        value_field,
        aliases,
        generate,
        ids: Vec::new(),
    })
}

impl Correlation {
    fn field_for(&self, name: &str, rule: usize) -> String {
        self.aliases
            .get(name)
            .and_then(|m| m.get(&rule))
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// Intern the fields the correlation reads.
    pub fn resolve_fields(&mut self, reg: &mut FieldRegistry) {
        let mut ids = Vec::new();
        for r in &self.rules {
            let g = self
                .group_by
                .iter()
                .map(|n| vec![reg.intern(&self.field_for(n, *r))])
                .collect();
            let v = self
                .value_field
                .as_ref()
                .map(|n| vec![reg.intern(&self.field_for(n, *r))]);
            ids.push((g, v));
        }
        self.ids = ids;
    }

    /// What to keep of a match of the rule at `pos`.
    pub fn capture(&self, corr: usize, pos: usize, ev: &Event) -> Option<CorrEvent> {
        let time_ms = ev.time_ms?;
        let (g, v) = self.ids.get(pos)?;
        let mut group = String::new();
        for (i, ids) in g.iter().enumerate() {
            if i > 0 {
                group.push('\u{1f}');
            }
            if let Some(f) = ev.get(ids).next() {
                group.push_str(f.lower());
            }
        }
        let value = match v {
            Some(ids) => Some(ev.get(ids).next()?.value.into()),
            None => None,
        };
        Some(CorrEvent {
            corr,
            pos,
            time_ms,
            group: group.into(),
            value,
            computer: ev.computer.clone(),
            channel: ev.channel.clone(),
            event_id: ev.event_id,
            time: ev.time.clone(),
        })
    }

    fn holds(&self, n: f64) -> bool {
        self.cond.iter().all(|(op, v)| match op {
            CmpOp::Gt => n > *v,
            CmpOp::Gte => n >= *v,
            CmpOp::Lt => n < *v,
            CmpOp::Lte => n <= *v,
            CmpOp::Eq => (n - v).abs() < f64::EPSILON,
            CmpOp::Neq => (n - v).abs() >= f64::EPSILON,
        })
    }

    fn upper_bound_only(&self) -> bool {
        !self.cond.is_empty()
            && self
                .cond
                .iter()
                .all(|(op, _)| matches!(op, CmpOp::Lt | CmpOp::Lte))
    }

    fn hit(&self, last: &CorrEvent, group: &str, count: usize) -> Hit {
        let mut fields: Vec<(String, String)> = self
            .group_by
            .iter()
            .zip(group.split('\u{1f}'))
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        fields.push(("count".into(), count.to_string()));
        Hit {
            kind: HitKind::Correlation,
            timestamp: last.time.as_deref().map(str::to_string),
            time_ms: Some(last.time_ms),
            computer: last.computer.as_deref().map(str::to_string),
            channel: last.channel.as_deref().map(str::to_string),
            event_id: last.event_id,
            record: 0,
            rule_title: self.meta.title.clone(),
            rule_id: self.meta.id.clone(),
            level: self.meta.level,
            status: self.meta.status.clone(),
            tags: self.meta.attack_tags().map(str::to_string).collect(),
            fields,
            file: String::new(),
            indicators: Vec::new(),
        }
    }

    /// Evaluate over the captured events of this correlation.
    pub fn evaluate(&self, mut evs: Vec<CorrEvent>) -> Vec<Hit> {
        evs.sort_by(|a, b| a.group.cmp(&b.group).then(a.time_ms.cmp(&b.time_ms)));
        let mut out = Vec::new();
        let mut start = 0;
        while start < evs.len() {
            let mut end = start;
            while end < evs.len() && evs[end].group == evs[start].group {
                end += 1;
            }
            self.eval_group(&evs[start..end], &mut out);
            start = end;
        }
        out
    }

    fn eval_group(&self, g: &[CorrEvent], out: &mut Vec<Hit>) {
        let span = self.timespan_ms;
        let Some(first) = g.first() else { return };
        match self.kind {
            CorrKind::EventCount | CorrKind::ValueCount if self.upper_bound_only() => {
                // Fixed windows from the group's first event.
                let t0 = first.time_ms;
                let mut i = 0;
                while i < g.len() {
                    let w = (g[i].time_ms - t0) / span.max(1);
                    let mut j = i;
                    let mut vals: HashMap<&str, usize> = HashMap::new();
                    while j < g.len() && (g[j].time_ms - t0) / span.max(1) == w {
                        if let Some(v) = &g[j].value {
                            *vals.entry(v).or_default() += 1;
                        }
                        j += 1;
                    }
                    let n = if self.kind == CorrKind::EventCount {
                        j - i
                    } else {
                        vals.len()
                    };
                    if self.holds(n as f64) {
                        out.push(self.hit(&g[j - 1], &first.group, n));
                    }
                    i = j;
                }
            }
            CorrKind::EventCount | CorrKind::ValueCount => {
                let mut win: VecDeque<&CorrEvent> = VecDeque::new();
                let mut vals: HashMap<&str, usize> = HashMap::new();
                for e in g {
                    win.push_back(e);
                    if let Some(v) = &e.value {
                        *vals.entry(v).or_default() += 1;
                    }
                    while let Some(f) = win.front() {
                        if e.time_ms - f.time_ms > span {
                            if let Some(v) = &f.value
                                && let Some(c) = vals.get_mut(&**v)
                            {
                                *c -= 1;
                                if *c == 0 {
                                    vals.remove(&**v);
                                }
                            }
                            win.pop_front();
                        } else {
                            break;
                        }
                    }
                    let n = if self.kind == CorrKind::EventCount {
                        win.len()
                    } else {
                        vals.len()
                    };
                    if self.holds(n as f64) {
                        out.push(self.hit(e, &e.group, n));
                        win.clear();
                        vals.clear();
                    }
                }
            }
            CorrKind::Temporal => {
                let need = self.rules.len();
                let mut last_seen: Vec<Option<i64>> = vec![None; need];
                for e in g {
                    if let Some(s) = last_seen.get_mut(e.pos) {
                        *s = Some(e.time_ms);
                    }
                    let n = last_seen
                        .iter()
                        .filter(|t| t.is_some_and(|t| e.time_ms - t <= span))
                        .count();
                    let ok = if self.cond.is_empty() {
                        n == need
                    } else {
                        self.holds(n as f64)
                    };
                    if ok {
                        out.push(self.hit(e, &e.group, n));
                        last_seen.iter_mut().for_each(|t| *t = None);
                    }
                }
            }
            CorrKind::TemporalOrdered => {
                let need = self.rules.len();
                // best[p]: latest start time of an in-order chain through position p.
                let mut best: Vec<Option<i64>> = vec![None; need];
                for e in g {
                    let p = e.pos;
                    if p == 0 {
                        best[0] = Some(e.time_ms);
                    } else if let Some(s) = best[p - 1]
                        && e.time_ms - s <= span
                    {
                        best[p] = Some(best[p].map_or(s, |b| b.max(s)));
                    }
                    if need > 0 && best[need - 1].is_some_and(|s| e.time_ms - s <= span) {
                        out.push(self.hit(e, &e.group, need));
                        best.iter_mut().for_each(|t| *t = None);
                    }
                }
            }
        }
    }
}

//! Sigma: loading, compiling, indexing and evaluating rules.

pub mod compile;
pub mod condition;
pub mod correlation;
pub mod fieldmap;
pub mod modifier;
pub mod rule;

use crate::event::{Event, FieldId, FieldRegistry, MetaIds};
use compile::{Detection, FieldResolver};
use correlation::Correlation;
use fieldmap::{FieldMap, Variant};
use rayon::prelude::*;
pub use rule::{Level, LoadError, RuleMeta};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Which rules to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Skip rules below this level.
    pub min_level: Option<Level>,
    /// Keep only rules with one of these statuses (lowercase). `None`: every status but
    /// `deprecated` and `unsupported`.
    pub statuses: Option<Vec<String>>,
    /// Field map.
    pub fieldmap: FieldMap,
}

impl LoadOptions {
    /// Defaults with the built-in field map.
    pub fn new() -> Result<Self, String> {
        Ok(LoadOptions {
            min_level: None,
            statuses: None,
            fieldmap: FieldMap::builtin()?,
        })
    }
}

/// One rule compiled for one logsource variant.
#[derive(Debug)]
pub struct CompiledRule {
    /// Index into [`RuleSet::metas`].
    pub meta_idx: usize,
    /// The detection.
    pub det: Detection,
    /// Fields the rule reads (event-side name, ids), for output.
    pub fields: Vec<(String, Vec<FieldId>)>,
}

#[derive(Debug, Default)]
struct Bucket {
    by_eid: HashMap<u32, Vec<u32>>,
    any: Vec<u32>,
}

impl Bucket {
    fn add(&mut self, eids: &[u32], r: u32) {
        if eids.is_empty() {
            self.any.push(r);
        } else {
            for e in eids {
                self.by_eid.entry(*e).or_default().push(r);
            }
        }
    }
}

/// Rules indexed by channel and event id.
#[derive(Debug, Default)]
struct Index {
    channels: HashMap<Box<str>, Bucket>,
    nochan: Bucket,
}

/// Literal prefilter: a rule whose detection needs one of a few literals is only evaluated
/// on events where one of them occurs (in the right field). Needles tied to fields are
/// searched only in the fields some rule names; needles of keyword searches (any field)
/// have an automaton of their own, run over every field.
#[derive(Debug, Default)]
struct Prefilter {
    /// Needles that must occur in given fields.
    ac_fields: Option<aho_corasick::AhoCorasick>,
    /// Needle -> (compiled rule, field ids).
    field_rules: Vec<Vec<(u32, Vec<FieldId>)>>,
    /// Field id -> whether some needle of `ac_fields` is tied to it.
    watched: Vec<bool>,
    /// Needles that may occur in any field.
    ac_any: Option<aho_corasick::AhoCorasick>,
    /// Needle -> compiled rules.
    any_rules: Vec<Vec<u32>>,
    /// Compiled rule -> whether it has a requirement.
    has_req: Vec<bool>,
}

fn build_ac(needles: &[String]) -> Result<Option<aho_corasick::AhoCorasick>, ()> {
    if needles.is_empty() {
        return Ok(None);
    }
    aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
        .build(needles)
        .map(Some)
        .map_err(|_| ())
}

impl Prefilter {
    fn build(compiled: &[CompiledRule]) -> Prefilter {
        let mut f_ids: HashMap<String, usize> = HashMap::new();
        let mut f_needles: Vec<String> = Vec::new();
        let mut field_rules: Vec<Vec<(u32, Vec<FieldId>)>> = Vec::new();
        let mut a_ids: HashMap<String, usize> = HashMap::new();
        let mut a_needles: Vec<String> = Vec::new();
        let mut any_rules: Vec<Vec<u32>> = Vec::new();
        let mut watched: Vec<bool> = Vec::new();
        let mut has_req = vec![false; compiled.len()];
        for (r, cr) in compiled.iter().enumerate() {
            let Some(req) = cr.det.requirement() else {
                continue;
            };
            if req.iter().any(|(_, n)| n.is_empty()) {
                continue;
            }
            if let Some(h) = has_req.get_mut(r) {
                *h = true;
            }
            for (fids, n) in req {
                match fids {
                    Some(fids) => {
                        for f in &fids {
                            let i = *f as usize;
                            if i >= watched.len() {
                                watched.resize(i + 1, false);
                            }
                            if let Some(w) = watched.get_mut(i) {
                                *w = true;
                            }
                        }
                        let i = *f_ids.entry(n.clone()).or_insert_with(|| {
                            f_needles.push(n);
                            field_rules.push(Vec::new());
                            f_needles.len() - 1
                        });
                        if let Some(list) = field_rules.get_mut(i) {
                            list.push((r as u32, fids));
                        }
                    }
                    None => {
                        let i = *a_ids.entry(n.clone()).or_insert_with(|| {
                            a_needles.push(n);
                            any_rules.push(Vec::new());
                            a_needles.len() - 1
                        });
                        if let Some(list) = any_rules.get_mut(i) {
                            list.push(r as u32);
                        }
                    }
                }
            }
        }
        match (build_ac(&f_needles), build_ac(&a_needles)) {
            (Ok(ac_fields), Ok(ac_any)) => Prefilter {
                ac_fields,
                field_rules,
                watched,
                ac_any,
                any_rules,
                has_req,
            },
            // Without an automaton every rule is evaluated: slower, same results.
            _ => Prefilter {
                has_req: vec![false; compiled.len()],
                ..Prefilter::default()
            },
        }
    }

    #[inline]
    fn watches(&self, id: FieldId) -> bool {
        self.watched.get(id as usize).copied().unwrap_or(false)
    }
}

thread_local! {
    static STAMPS: std::cell::RefCell<(u32, Vec<u32>)> = const { std::cell::RefCell::new((0, Vec::new())) };
}

/// A loaded, compiled and indexed rule set.
#[derive(Debug)]
pub struct RuleSet {
    /// Metadata of every loaded rule (and correlation), by index.
    pub metas: Vec<Arc<RuleMeta>>,
    /// Compiled variants.
    pub compiled: Vec<CompiledRule>,
    /// Field interner.
    pub registry: FieldRegistry,
    /// Meta field ids.
    pub meta_ids: MetaIds,
    index: Index,
    prefilter: Prefilter,
    /// Rules that could not be loaded.
    pub errors: Vec<LoadError>,
    /// Rules left out by the level / status filters.
    pub filtered: usize,
    /// Correlation rules.
    pub correlations: Vec<Correlation>,
    /// For each meta index: the correlations that use it (index, position in its rule list).
    pub corr_refs: Vec<Vec<(usize, usize)>>,
    /// For each meta index: whether its own matches are reported.
    pub reported: Vec<bool>,
}

impl RuleSet {
    /// Load every rule under `paths`.
    pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
        let mut errors = Vec::new();
        let files = rule::rule_files(paths, &mut errors);
        let parsed: Vec<Result<Vec<rule::RawDoc>, LoadError>> =
            files.par_iter().map(|f| rule::read_docs(f)).collect();
        let mut docs = Vec::new();
        for p in parsed {
            match p {
                Ok(d) => docs.extend(d),
                Err(e) => errors.push(e),
            }
        }
        Self::from_docs(docs, errors, opts)
    }

    /// Load rules from YAML text (for tests and embedding).
    pub fn from_yaml(text: &str, name: &str, opts: &LoadOptions) -> RuleSet {
        let path = PathBuf::from(name);
        let mut errors = Vec::new();
        let docs = match serde_saphyr::from_multiple::<serde_json::Value>(text) {
            Ok(d) => {
                let t: Arc<str> = text.into();
                d.into_iter()
                    .filter(|d| !d.is_null())
                    .map(|doc| rule::RawDoc {
                        path: path.clone(),
                        text: t.clone(),
                        doc,
                    })
                    .collect()
            }
            Err(e) => {
                let msg = e.to_string();
                errors.push(LoadError {
                    path: path.clone(),
                    line: rule::line_from_error(&msg),
                    rule: None,
                    reason: format!("YAML syntax error: {}", msg.lines().next().unwrap_or("")),
                });
                Vec::new()
            }
        };
        Self::from_docs(docs, errors, opts)
    }

    fn from_docs(
        docs: Vec<rule::RawDoc>,
        mut errors: Vec<LoadError>,
        opts: &LoadOptions,
    ) -> RuleSet {
        let fm = &opts.fieldmap;
        let mut registry = FieldRegistry::default();
        let meta_ids = MetaIds::new(&mut registry, &fm.meta);
        let mut metas: Vec<Arc<RuleMeta>> = Vec::new();
        let mut compiled = Vec::new();
        let mut index = Index::default();
        let mut filtered = 0;
        let mut corr_docs = Vec::new();
        let no_renames = HashMap::new();
        for d in docs {
            if d.doc.get("correlation").is_some() {
                corr_docs.push(d);
                continue;
            }
            let meta = match rule::meta_of(&d) {
                Ok(m) => m,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let fail = |errors: &mut Vec<LoadError>, near: Option<&str>, reason: String| {
                errors.push(LoadError {
                    path: d.path.clone(),
                    line: near.and_then(|n| rule::line_of(&d.text, n)),
                    rule: Some(meta.id.clone()),
                    reason,
                });
            };
            let Some(det) = d.doc.get("detection") else {
                if d.doc.get("action").is_some() {
                    fail(
                        &mut errors,
                        Some("action"),
                        "rule collections ('action: global/repeat') are not supported".into(),
                    );
                } else {
                    fail(&mut errors, None, "rule has no 'detection' section".into());
                }
                continue;
            };
            if !keep(&meta, opts) {
                filtered += 1;
                continue;
            }
            // Which events the rule applies to.
            let variants: Vec<Variant> = match fm.lookup(
                meta.product.as_deref(),
                meta.category.as_deref(),
                meta.service.as_deref(),
            ) {
                Some(e) => e.variants.clone(),
                None if meta.category.is_none() && meta.service.is_none() => {
                    vec![Variant::default()]
                }
                None => {
                    fail(
                        &mut errors,
                        Some("logsource"),
                        format!(
                            "no field mapping for logsource (product: {}, category: {}, service: {}); add one to a --fieldmap file",
                            meta.product.as_deref().unwrap_or("-"),
                            meta.category.as_deref().unwrap_or("-"),
                            meta.service.as_deref().unwrap_or("-")
                        ),
                    );
                    continue;
                }
            };
            let meta_idx = metas.len();
            let mut ok = Vec::new();
            let mut failed = None;
            for v in &variants {
                let mut res = FieldResolver {
                    reg: &mut registry,
                    aliases: &fm.aliases,
                    renames: if v.fields.is_empty() {
                        &no_renames
                    } else {
                        &v.fields
                    },
                    placeholders: &fm.placeholders,
                };
                match compile::compile_detection(det, &mut res) {
                    Ok(det) => ok.push((v, det)),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                fail(&mut errors, e.near.as_deref(), e.reason);
                continue;
            }
            let mut placed = false;
            for (v, det) in ok {
                let req = det.required_eids();
                let eids: Vec<u32> = match (&req, v.event_ids.is_empty()) {
                    (Some(r), true) => r.clone(),
                    (Some(r), false) => v
                        .event_ids
                        .iter()
                        .copied()
                        .filter(|e| r.contains(e))
                        .collect(),
                    (None, _) => v.event_ids.clone(),
                };
                if !v.event_ids.is_empty() && eids.is_empty() {
                    // This variant's events can never satisfy the rule's EventID selection.
                    continue;
                }
                let r = compiled.len() as u32;
                let fields = det.fields();
                compiled.push(CompiledRule {
                    meta_idx,
                    det,
                    fields,
                });
                if v.channel.is_empty() {
                    index.nochan.add(&eids, r);
                } else {
                    for ch in &v.channel {
                        index
                            .channels
                            .entry(ch.to_lowercase().into_boxed_str())
                            .or_default()
                            .add(&eids, r);
                    }
                }
                placed = true;
            }
            if !placed {
                fail(
                    &mut errors,
                    Some("EventID"),
                    "the rule's EventID values never occur in the events of its logsource".into(),
                );
                continue;
            }
            metas.push(Arc::new(meta));
        }
        let mut reported = vec![true; metas.len()];
        let mut corr_refs = vec![Vec::new(); metas.len()];
        let mut correlations = Vec::new();
        for d in corr_docs {
            match correlation::parse(&d, &metas) {
                Ok(mut c) => {
                    if !keep(&c.meta, opts) {
                        filtered += 1;
                        continue;
                    }
                    let ci = correlations.len();
                    for (pos, r) in c.rules.iter().enumerate() {
                        corr_refs[*r].push((ci, pos));
                        if !c.generate {
                            reported[*r] = false;
                        }
                    }
                    c.resolve_fields(&mut registry);
                    correlations.push(c);
                }
                Err(e) => errors.push(e),
            }
        }
        let prefilter = Prefilter::build(&compiled);
        RuleSet {
            metas,
            compiled,
            registry,
            meta_ids,
            index,
            prefilter,
            errors,
            filtered,
            correlations,
            corr_refs,
            reported,
        }
    }

    /// Number of rules loaded (not counting correlations).
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// Whether no rule loaded.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// Call `f` with each compiled rule that matches the event (once per rule).
    pub fn matches(&self, ev: &Event, f: impl FnMut(&CompiledRule)) {
        STAMPS.with(|st| match st.try_borrow_mut() {
            Ok(mut st) => {
                let (gen_, stamps) = &mut *st;
                self.matches_with(ev, gen_, stamps, f)
            }
            Err(_) => {
                let mut g = 0;
                self.matches_with(ev, &mut g, &mut Vec::new(), f)
            }
        })
    }

    fn matches_with(
        &self,
        ev: &Event,
        gen_: &mut u32,
        stamps: &mut Vec<u32>,
        mut f: impl FnMut(&CompiledRule),
    ) {
        let pf = &self.prefilter;
        if stamps.len() != self.compiled.len() {
            stamps.clear();
            stamps.resize(self.compiled.len(), 0);
            *gen_ = 0;
        }
        *gen_ = gen_.wrapping_add(1);
        if *gen_ == 0 {
            stamps.iter_mut().for_each(|s| *s = u32::MAX);
            *gen_ = 1;
        }
        let g = *gen_;
        let mut lists: [&[u32]; 4] = [&[], &[], &[], &[]];
        if let Some(ch) = ev.channel_lower.as_deref()
            && let Some(b) = self.index.channels.get(ch)
        {
            lists[0] = &b.any;
            if let Some(e) = ev.event_id
                && let Some(l) = b.by_eid.get(&e)
            {
                lists[1] = l;
            }
        }
        lists[2] = &self.index.nochan.any;
        if let Some(e) = ev.event_id
            && let Some(l) = self.index.nochan.by_eid.get(&e)
        {
            lists[3] = l;
        }
        // The literal prefilter, only when a candidate rule depends on it.
        let needs_pf = lists.iter().any(|l| {
            l.iter()
                .any(|r| pf.has_req.get(*r as usize).copied().unwrap_or(false))
        });
        if needs_pf {
            for fld in ev.fields() {
                if let Some(ac) = &pf.ac_fields
                    && (pf.watches(fld.id) || pf.watches(fld.leaf_id))
                {
                    for m in ac.find_overlapping_iter(fld.lower()) {
                        if let Some(list) = pf.field_rules.get(m.pattern().as_usize()) {
                            for (r, ids) in list {
                                if fld.is(ids)
                                    && let Some(s) = stamps.get_mut(*r as usize)
                                {
                                    *s = g;
                                }
                            }
                        }
                    }
                }
                if let Some(ac) = &pf.ac_any {
                    for m in ac.find_overlapping_iter(fld.lower()) {
                        if let Some(list) = pf.any_rules.get(m.pattern().as_usize()) {
                            for r in list {
                                if let Some(s) = stamps.get_mut(*r as usize) {
                                    *s = g;
                                }
                            }
                        }
                    }
                }
            }
        }
        let mut seen: [usize; 8] = [usize::MAX; 8];
        let mut n_seen = 0;
        for l in lists {
            for r in l {
                let Some(cr) = self.compiled.get(*r as usize) else {
                    continue;
                };
                if pf.has_req.get(*r as usize).copied().unwrap_or(false)
                    && stamps.get(*r as usize).copied() != Some(g)
                {
                    continue;
                }
                if seen[..n_seen.min(8)].contains(&cr.meta_idx) {
                    continue;
                }
                if cr.det.matches(ev) {
                    if n_seen < 8 {
                        seen[n_seen] = cr.meta_idx;
                    }
                    n_seen += 1;
                    f(cr);
                }
            }
        }
    }
}

fn keep(meta: &RuleMeta, opts: &LoadOptions) -> bool {
    if let Some(min) = opts.min_level
        && meta.level < min
    {
        return false;
    }
    let st = meta.status.to_ascii_lowercase();
    match &opts.statuses {
        Some(list) => list.iter().any(|s| s.eq_ignore_ascii_case(&st)),
        None => st != "deprecated" && st != "unsupported",
    }
}

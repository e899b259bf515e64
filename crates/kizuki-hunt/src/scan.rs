//! The parallel driver: files in parallel, chunks of large EVTX files in parallel, rules
//! looked up by channel and event id, indicators swept in the same pass.

use crate::event::Event;
use crate::input::{self, InputError, ReadCtx};
use crate::ioc::IocSet;
use crate::output::{
    FirstSighting, Hit, HitKind, HitWriter, HuntOutcome, MatchedIndicator, RuleCount, Summary,
};
use crate::sigma::correlation::CorrEvent;
use crate::sigma::{Level, RuleSet};
use crate::timeline::TimelineSorter;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// Scan settings.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Worker threads (default: every core). Sets rayon's global pool on first use.
    pub threads: Option<usize>,
    /// Only events at or after this time (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Only events at or before this time.
    pub to_ms: Option<i64>,
    /// Show a progress bar on stderr when it is a terminal.
    pub progress: bool,
    /// Level given to indicator matches (default high).
    pub ioc_level: Option<Level>,
    /// Write detections in time order (see [`crate::timeline`]) instead of as they are
    /// found. Memory stays bounded: past `sort_budget` bytes, sorted runs go to temp files.
    pub sort: bool,
    /// In-memory budget for time ordering, in bytes (default [`crate::timeline::DEFAULT_BUDGET`]).
    pub sort_budget: Option<usize>,
}

/// Rules plus indicators: what a hunt looks for.
#[derive(Debug)]
pub struct Hunter {
    /// Sigma rules.
    pub rules: RuleSet,
    /// Indicators.
    pub iocs: Option<IocSet>,
}

struct Shared<'w> {
    writer: Option<&'w mut HitWriter>,
    summary: Summary,
    first: HashMap<String, FirstSighting>,
    indicators: BTreeSet<MatchedIndicator>,
    corr: Vec<CorrEvent>,
    write_error: Option<std::io::Error>,
    kept: Option<Vec<Hit>>,
    sorter: Option<TimelineSorter>,
}

impl Shared<'_> {
    fn take(&mut self, hits: Vec<Hit>) {
        for h in hits {
            self.summary.hits += 1;
            *self.summary.by_level.entry(h.level).or_default() += 1;
            self.summary
                .by_rule
                .entry(h.rule_id.clone())
                .or_insert_with(|| RuleCount {
                    title: h.rule_title.clone(),
                    level: h.level,
                    hits: 0,
                })
                .hits += 1;
            for i in &h.indicators {
                self.indicators.insert(i.clone());
            }
            let fs = FirstSighting {
                time: h.timestamp.clone(),
                time_ms: h.time_ms,
                rule_title: h.rule_title.clone(),
                rule_id: h.rule_id.clone(),
                level: h.level,
                computer: h.computer.clone(),
                event_id: h.event_id,
            };
            match self.first.get_mut(&h.rule_id) {
                Some(old) => {
                    let earlier = match (fs.time_ms, old.time_ms) {
                        (Some(a), Some(b)) => a < b,
                        (Some(_), None) => true,
                        _ => false,
                    };
                    if earlier {
                        *old = fs;
                    }
                }
                None => {
                    self.first.insert(h.rule_id.clone(), fs);
                }
            }
            if self.write_error.is_none() {
                let r = match (&mut self.sorter, self.writer.as_deref_mut()) {
                    (Some(s), _) => s.push(&h),
                    (None, Some(w)) => w.write(&h),
                    (None, None) => Ok(()),
                };
                if let Err(e) = r {
                    self.write_error = Some(e);
                }
            }
            if let Some(k) = &mut self.kept {
                k.push(h);
            }
        }
    }
}

/// The result of a scan.
#[derive(Debug)]
pub struct ScanResult {
    /// For incidents: first sightings and matched indicators (with the summary).
    pub outcome: HuntOutcome,
    /// Every hit, when asked for with [`Hunter::scan_collect`].
    pub hits: Vec<Hit>,
}

impl Hunter {
    fn event_hits(
        &self,
        ev: &Event,
        opts: &ScanOptions,
        hits: &mut Vec<Hit>,
        corr: &mut Vec<CorrEvent>,
    ) {
        if opts.from_ms.is_some() || opts.to_ms.is_some() {
            let Some(t) = ev.time_ms else { return };
            if opts.from_ms.is_some_and(|f| t < f) || opts.to_ms.is_some_and(|to| t > to) {
                return;
            }
        }
        let rs = &self.rules;
        rs.matches(ev, |cr| {
            let Some(meta) = rs.metas.get(cr.meta_idx) else {
                return;
            };
            if let Some(refs) = rs.corr_refs.get(cr.meta_idx) {
                for (ci, pos) in refs {
                    if let Some(c) = rs.correlations.get(*ci)
                        && let Some(ce) = c.capture(*ci, *pos, ev)
                    {
                        corr.push(ce);
                    }
                }
            }
            if !rs.reported.get(cr.meta_idx).copied().unwrap_or(true) {
                return;
            }
            let mut fields = Vec::new();
            for (name, ids) in &cr.fields {
                if let Some(f) = ev.get(ids).next() {
                    fields.push((name.clone(), f.value.to_string()));
                }
            }
            hits.push(Hit {
                timestamp: ev.time.as_deref().map(str::to_string),
                time_ms: ev.time_ms,
                computer: ev.computer.as_deref().map(str::to_string),
                channel: ev.channel.as_deref().map(str::to_string),
                event_id: ev.event_id,
                record: ev.record,
                kind: HitKind::Sigma,
                rule_title: meta.title.clone(),
                rule_id: meta.id.clone(),
                level: meta.level,
                status: meta.status.clone(),
                tags: meta.attack_tags().map(str::to_string).collect(),
                fields,
                file: ev.source.to_string(),
                indicators: Vec::new(),
            });
        });
        if let Some(iocs) = &self.iocs {
            for (ii, fi) in iocs.sweep(ev) {
                let (Some(ind), Some(f)) = (iocs.indicators.get(ii), ev.field(fi)) else {
                    continue;
                };
                hits.push(Hit {
                    timestamp: ev.time.as_deref().map(str::to_string),
                    time_ms: ev.time_ms,
                    computer: ev.computer.as_deref().map(str::to_string),
                    channel: ev.channel.as_deref().map(str::to_string),
                    event_id: ev.event_id,
                    record: ev.record,
                    kind: HitKind::Ioc,
                    rule_title: format!("Indicator match: {} {}", ind.kind.as_str(), ind.value),
                    rule_id: format!("ioc:{}:{}", ind.kind.as_str(), ind.value),
                    level: opts.ioc_level.unwrap_or(Level::High),
                    status: String::new(),
                    tags: Vec::new(),
                    fields: vec![(f.name.to_string(), f.value.to_string())],
                    file: ev.source.to_string(),
                    indicators: vec![MatchedIndicator {
                        kind: ind.kind,
                        value: ind.value.clone(),
                    }],
                });
            }
        }
    }

    /// Scan `inputs`, writing hits to `writer` as they are found.
    pub fn scan(
        &self,
        inputs: &[PathBuf],
        opts: &ScanOptions,
        writer: Option<&mut HitWriter>,
    ) -> std::io::Result<ScanResult> {
        self.run(inputs, opts, writer, false)
    }

    /// Scan and also return every hit (tests, small inputs).
    pub fn scan_collect(
        &self,
        inputs: &[PathBuf],
        opts: &ScanOptions,
    ) -> std::io::Result<ScanResult> {
        self.run(inputs, opts, None, true)
    }

    /// Match already-built events (used by tests and by callers with their own readers).
    pub fn match_events(&self, events: &[Event], opts: &ScanOptions) -> Vec<Hit> {
        let mut hits = Vec::new();
        let mut corr = Vec::new();
        for ev in events {
            self.event_hits(ev, opts, &mut hits, &mut corr);
        }
        hits.extend(self.correlate(corr));
        hits
    }

    fn correlate(&self, corr: Vec<CorrEvent>) -> Vec<Hit> {
        let mut by: Vec<Vec<CorrEvent>> = (0..self.rules.correlations.len())
            .map(|_| Vec::new())
            .collect();
        for c in corr {
            if let Some(v) = by.get_mut(c.corr) {
                v.push(c);
            }
        }
        let mut out = Vec::new();
        for (c, evs) in self.rules.correlations.iter().zip(by) {
            out.extend(c.evaluate(evs));
        }
        out
    }

    fn run(
        &self,
        inputs: &[PathBuf],
        opts: &ScanOptions,
        writer: Option<&mut HitWriter>,
        keep: bool,
    ) -> std::io::Result<ScanResult> {
        let started = Instant::now();
        if let Some(n) = opts.threads {
            // Fails harmlessly when the global pool already exists.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build_global();
        }
        let mut errors = Vec::new();
        let files = input::input_files(inputs, &mut errors);
        let sizes: Vec<u64> = files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .collect();
        let total: u64 = sizes.iter().sum();
        let bar = progress_bar(opts.progress, total);
        let sorter = match (&writer, opts.sort) {
            (Some(w), true) => Some(TimelineSorter::new(
                w.format(),
                opts.sort_budget.unwrap_or(crate::timeline::DEFAULT_BUDGET),
            )),
            _ => None,
        };
        let shared = Mutex::new(Shared {
            sorter,
            writer,
            summary: Summary::default(),
            first: HashMap::new(),
            indicators: BTreeSet::new(),
            corr: Vec::new(),
            write_error: None,
            kept: keep.then(Vec::new),
        });
        let errors = Mutex::new(errors);
        let ctx = ReadCtx {
            reg: &self.rules.registry,
            meta: &self.rules.meta_ids,
        };
        let events = std::sync::atomic::AtomicU64::new(0);
        let flush = |hits: Vec<Hit>, corr: Vec<CorrEvent>| {
            if hits.is_empty() && corr.is_empty() {
                return;
            }
            if let Ok(mut s) = shared.lock() {
                s.corr.extend(corr);
                s.take(hits);
            }
        };
        // Largest files first, handed out one at a time to one loop per worker: the run ends
        // on small files, and a worker that runs out of files steals chunks of the EVTX files
        // still being read, so both cores stay busy to the end.
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by(|a, b| sizes.get(*b).cmp(&sizes.get(*a)));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let worker = || {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&fi) = order.get(i) else { break };
                let (Some(path), Some(size)) = (files.get(fi), sizes.get(fi)) else {
                    break;
                };
                let mut errs = Vec::new();
                match input::sniff(path) {
                    Ok(input::InputFormat::Evtx) => input::evtx::scan_parallel(
                        path,
                        ctx,
                        &|| (Vec::new(), Vec::new()),
                        &|(h, c): &mut (Vec<Hit>, Vec<CorrEvent>), ev| {
                            self.event_hits(ev, opts, h, c)
                        },
                        &|(h, c), n| {
                            events.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                            flush(h, c);
                        },
                        &mut errs,
                    ),
                    Ok(input::InputFormat::Jsonl) => input::jsonl::read(
                        path,
                        ctx,
                        &mut |batch| {
                            events.fetch_add(
                                batch.len() as u64,
                                std::sync::atomic::Ordering::Relaxed,
                            );
                            let mut hits = Vec::new();
                            let mut corr = Vec::new();
                            for ev in &batch {
                                self.event_hits(ev, opts, &mut hits, &mut corr);
                            }
                            flush(hits, corr);
                        },
                        &mut errs,
                    ),
                    Err(reason) => errs.push(InputError {
                        path: path.to_path_buf(),
                        offset: Some(0),
                        reason,
                    }),
                }
                if !errs.is_empty()
                    && let Ok(mut e) = errors.lock()
                {
                    e.extend(errs);
                }
                if let Some(b) = &bar {
                    b.inc(*size);
                }
            }
        };
        rayon::scope(|s| {
            for _ in 0..rayon::current_num_threads() {
                s.spawn(|_| worker());
            }
        });
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        let mut s = shared
            .into_inner()
            .map_err(|_| std::io::Error::other("scan worker panicked"))?;
        let corr = std::mem::take(&mut s.corr);
        let corr_hits = self.correlate(corr);
        s.take(corr_hits);
        if let Some(sorter) = s.sorter.take()
            && let Some(w) = s.writer.as_deref_mut()
            && s.write_error.is_none()
            && let Err(e) = sorter.finish(w)
        {
            s.write_error = Some(e);
        }
        if let Some(w) = s.writer.as_deref_mut() {
            w.flush()?;
        }
        if let Some(e) = s.write_error.take() {
            return Err(e);
        }
        let mut summary = s.summary;
        summary.files = files.len() as u64;
        summary.events = events.into_inner();
        summary.rules_loaded = self.rules.len() + self.rules.correlations.len();
        summary.rules_failed = self.rules.errors.len();
        summary.rules_filtered = self.rules.filtered;
        let mut input_errors = errors.into_inner().unwrap_or_default();
        input_errors.sort_by(|a: &InputError, b| a.path.cmp(&b.path).then(a.offset.cmp(&b.offset)));
        summary.input_errors = input_errors;
        summary.seconds = started.elapsed().as_secs_f64();
        let mut first: Vec<FirstSighting> = s.first.into_values().collect();
        // By time; sightings without a time last.
        first.sort_by(|a, b| {
            let t = |f: &FirstSighting| f.time_ms.unwrap_or(i64::MAX);
            t(a).cmp(&t(b)).then(a.rule_id.cmp(&b.rule_id))
        });
        let mut kept = s.kept.unwrap_or_default();
        if opts.sort {
            crate::timeline::sort_hits(&mut kept);
        }
        Ok(ScanResult {
            outcome: HuntOutcome {
                first_sightings: first,
                matched_indicators: s
                    .indicators
                    .into_iter()
                    .map(|i| (i.kind, i.value))
                    .collect(),
                summary,
            },
            hits: kept,
        })
    }
}

fn progress_bar(wanted: bool, total: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    ) {
        b.set_style(style);
    }
    Some(b)
}

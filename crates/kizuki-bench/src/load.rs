//! The HTTP load phases: N concurrent clients for a fixed duration, latencies in µs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;

use crate::data::{self, Rng};
use crate::fill::Dataset;
use crate::server::{Mem, read_mem};

/// Hard cap on requests per client per phase, so no loop is unbounded even if the clock is.
const MAX_ITERATIONS: u64 = 50_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    Append,
    Read,
    List,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Append => "append",
            Workload::Read => "read",
            Workload::List => "list",
        }
    }
}

/// The list/search mix; every client cycles through it starting at a random point.
pub fn list_queries(with_scan: bool) -> Vec<(&'static str, String)> {
    let mut q = vec![
        ("phase", "phase=triage&limit=50".to_owned()),
        ("category", "category=ransomware&limit=50".to_owned()),
        (
            "phase+category",
            "phase=containment&category=data_leak&limit=50".to_owned(),
        ),
        (
            "multi phase+category",
            "phase=triage,containment&category=insider,supply_chain&limit=50".to_owned(),
        ),
        (
            "open+severity",
            "open=true&min_severity=3&limit=50".to_owned(),
        ),
        ("q rare (1%)", format!("q={}&limit=50", data::RARE_WORD)),
        (
            "q common (10%)",
            format!("q={}&limit=50", data::COMMON_WORD),
        ),
        (
            "category+q common",
            format!("category=cloud_exposure&q={}&limit=50", data::COMMON_WORD),
        ),
    ];
    if with_scan {
        q.push((
            "q miss (scan)",
            format!("q={}&limit=50", data::MISSING_WORD),
        ));
    }
    q
}

#[derive(Debug)]
pub struct Ctx {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub data: Dataset,
    pub queries: Vec<(&'static str, String)>,
    pub template: Histogram<u64>,
}

/// An empty latency histogram: 1 µs … 120 s, 3 significant digits.
pub fn empty_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 120_000_000, 3)
        .map_err(|e| anyhow::anyhow!("creating a histogram: {e:?}"))
}

#[derive(Debug)]
struct WorkerResult {
    template: Histogram<u64>,
    hists: BTreeMap<String, Histogram<u64>>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

impl WorkerResult {
    fn new(template: &Histogram<u64>) -> Self {
        WorkerResult {
            template: template.clone(),
            hists: BTreeMap::new(),
            ok: 0,
            errors: 0,
            first_error: None,
        }
    }

    fn hist(&mut self, label: &str) -> &mut Histogram<u64> {
        let template = &self.template;
        self.hists
            .entry(label.to_owned())
            .or_insert_with(|| template.clone())
    }

    fn record(&mut self, label: &str, took: Duration, outcome: &Result<(), String>, count: bool) {
        if !count {
            return;
        }
        match outcome {
            Ok(()) => {
                self.ok += 1;
                let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
                self.hist(label).saturating_record(us);
            }
            Err(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{label}: {e}"));
                }
            }
        }
    }
}

async fn send(req: reqwest::RequestBuilder) -> Result<(), String> {
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ))
    }
}

async fn worker(
    ctx: Arc<Ctx>,
    workload: Workload,
    client: u64,
    record_from: Instant,
    deadline: Instant,
) -> WorkerResult {
    let mut rng = Rng::new(0xB5EC_u64 ^ (client << 20) ^ (workload as u64));
    let mut res = WorkerResult::new(&ctx.template);
    let auth = format!("Bearer {}", ctx.token);
    let span = u64::try_from(ctx.data.max_id - ctx.data.min_id + 1).unwrap_or(1);
    let mut q = usize::try_from(rng.below(ctx.queries.len() as u64)).unwrap_or(0);
    for _ in 0..MAX_ITERATIONS {
        let start = Instant::now();
        if start >= deadline {
            break;
        }
        let count = start >= record_from;
        match workload {
            Workload::Append => {
                let id = ctx.data.min_id + i64::try_from(rng.below(span)).unwrap_or(0);
                let body = data::append_body(&mut rng);
                let r = send(
                    ctx.http
                        .post(format!("{}/api/v1/incidents/{id}/timeline", ctx.base))
                        .header("authorization", &auth)
                        .json(&body),
                )
                .await;
                res.record("append", start.elapsed(), &r, count);
            }
            Workload::Read => {
                let id = ctx.data.big_id;
                let r1 = send(
                    ctx.http
                        .get(format!("{}/api/v1/incidents/{id}", ctx.base))
                        .header("authorization", &auth),
                )
                .await;
                let mid = Instant::now();
                res.record("get incident", mid - start, &r1, count);
                let r2 = send(
                    ctx.http
                        .get(format!("{}/api/v1/incidents/{id}/timeline", ctx.base))
                        .header("authorization", &auth),
                )
                .await;
                let end = Instant::now();
                res.record("get timeline (500)", end - mid, &r2, count);
                if r1.is_ok() && r2.is_ok() && count {
                    let us = u64::try_from((end - start).as_micros()).unwrap_or(u64::MAX);
                    res.hist("pair").saturating_record(us.max(1));
                }
            }
            Workload::List => {
                let (label, query) = &ctx.queries[q % ctx.queries.len()];
                q += 1;
                let r = send(
                    ctx.http
                        .get(format!("{}/api/v1/incidents?{query}", ctx.base))
                        .header("authorization", &auth),
                )
                .await;
                let took = start.elapsed();
                res.record("list (all)", took, &r, count);
                if count && r.is_ok() {
                    let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
                    res.hist(&format!("list: {label}")).saturating_record(us);
                }
            }
        }
    }
    res
}

/// Latency summary of one operation, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpStats {
    pub op: String,
    pub count: u64,
    pub per_sec: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PhaseResult {
    pub workload: Workload,
    pub clients: usize,
    pub measured_secs: f64,
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub ops: Vec<OpStats>,
    /// Highest VmRSS sampled (every 250 ms) during the phase.
    pub peak_rss_kib: u64,
    /// VmHWM at the end of the phase.
    pub hwm_kib: u64,
    /// Highest RssAnon / RssFile sampled during the phase.
    pub peak_anon_kib: u64,
    pub peak_file_kib: u64,
}

impl PhaseResult {
    pub fn op(&self, name: &str) -> Option<&OpStats> {
        self.ops.iter().find(|o| o.op == name)
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Runs one phase: `warmup` unrecorded, then `duration` recorded.
pub async fn run_phase(
    ctx: Arc<Ctx>,
    workload: Workload,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    server_pid: u32,
) -> Result<PhaseResult> {
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        let max_samples = (warmup + duration).as_millis() / 250 + 200;
        tokio::spawn(async move {
            let mut peak = Mem::default();
            for _ in 0..max_samples {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(m) = read_mem(server_pid) {
                    peak.rss_kib = peak.rss_kib.max(m.rss_kib);
                    peak.hwm_kib = peak.hwm_kib.max(m.hwm_kib);
                    peak.anon_kib = peak.anon_kib.max(m.anon_kib);
                    peak.file_kib = peak.file_kib.max(m.file_kib);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            peak
        })
    };

    let now = Instant::now();
    let record_from = now + warmup;
    let deadline = record_from + duration;
    let handles: Vec<_> = (0..clients as u64)
        .map(|c| tokio::spawn(worker(Arc::clone(&ctx), workload, c, record_from, deadline)))
        .collect();
    let mut total = WorkerResult::new(&ctx.template);
    for h in handles {
        let r = h.await?;
        total.ok += r.ok;
        total.errors += r.errors;
        if total.first_error.is_none() {
            total.first_error = r.first_error;
        }
        for (k, v) in r.hists {
            total
                .hist(&k)
                .add(&v)
                .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
        }
    }
    // Clients finish their last request after the deadline; measure to the actual end.
    let measured = Instant::now()
        .saturating_duration_since(record_from)
        .as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.await?;
    let end_mem = read_mem(server_pid).unwrap_or_default();

    let ops = total
        .hists
        .iter()
        .map(|(op, h)| OpStats {
            op: op.clone(),
            count: h.len(),
            per_sec: h.len() as f64 / measured.max(0.001),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        })
        .collect();
    Ok(PhaseResult {
        workload,
        clients,
        measured_secs: measured,
        ok: total.ok,
        errors: total.errors,
        first_error: total.first_error,
        ops,
        peak_rss_kib: peak.rss_kib.max(end_mem.rss_kib),
        hwm_kib: peak.hwm_kib.max(end_mem.hwm_kib),
        peak_anon_kib: peak.anon_kib.max(end_mem.anon_kib),
        peak_file_kib: peak.file_kib.max(end_mem.file_kib),
    })
}

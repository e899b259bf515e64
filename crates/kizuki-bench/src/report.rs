//! The results, as JSON and as a Markdown table.

use std::fmt::Write as _;

use crate::fill::Dataset;
use crate::load::{PhaseResult, Workload};
use crate::server::Mem;

#[derive(Debug, serde::Serialize)]
pub struct Results {
    pub backend: &'static str,
    pub database: String,
    pub clients: usize,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub cpus: usize,
    pub dataset: Dataset,
    /// SQLite: main file + WAL; PostgreSQL: not measured here.
    pub db_bytes: Option<u64>,
    pub startup_secs: f64,
    pub idle: Mem,
    pub end: Mem,
    pub phases: Vec<PhaseResult>,
}

/// Size of a SQLite database file and its WAL; `None` for other backends.
pub fn database_bytes(url: &str) -> Option<u64> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    let main = std::fs::metadata(path).ok()?.len();
    let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
    Some(main + wal)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let phase = |w: Workload| r.phases.iter().find(|p| p.workload == w);
    let _ = writeln!(
        s,
        "### {} — {} incidents; entries filled: {}{}",
        r.backend,
        r.dataset.incidents,
        if r.dataset.reused {
            "(reused)".to_owned()
        } else {
            r.dataset.filled_entries.to_string()
        },
        if r.dataset.reused {
            " (database reused)".to_owned()
        } else {
            format!(" in {:.0} s", r.dataset.fill_secs)
        }
    );
    let _ = writeln!(
        s,
        "\n{} clients, {} s warm-up + {} s per phase, {} CPUs; server start-up to healthy {:.2} s{}.\n",
        r.clients,
        r.warmup_secs,
        r.duration_secs,
        r.cpus,
        r.startup_secs,
        r.db_bytes
            .map(|b| format!("; database file {:.0} MiB", b as f64 / 1_048_576.0))
            .unwrap_or_default()
    );

    let _ = writeln!(s, "| Measure | Result | Target | |");
    let _ = writeln!(s, "|---|---|---|---|");
    let _ = writeln!(
        s,
        "| Idle RSS (VmRSS / VmHWM) | {:.1} / {:.1} MiB (anon {:.1}) | < 50 MB | {} |",
        mib(r.idle.rss_kib),
        mib(r.idle.hwm_kib),
        mib(r.idle.anon_kib),
        verdict(r.idle.rss_kib as f64 * 1024.0 < 50e6)
    );
    if let Some(p) = phase(Workload::Append)
        && let Some(o) = p.op("append")
    {
        let _ = writeln!(
            s,
            "| Appends/s (POST timeline) | {:.0}/s | ≥ 3,000/s (SQLite) | {} |",
            o.per_sec,
            verdict(o.per_sec >= 3000.0)
        );
        let _ = writeln!(
            s,
            "| Append latency p50 / p99 | {:.1} / {:.1} ms | | |",
            o.p50_ms, o.p99_ms
        );
    }
    if let Some(p) = phase(Workload::Read) {
        for (op, target) in [
            ("pair", true),
            ("get incident", false),
            ("get timeline (500)", false),
        ] {
            if let Some(o) = p.op(op) {
                let _ = writeln!(
                    s,
                    "| Read {op} p50 / p99 | {:.1} / {:.1} ms ({:.0}/s) | {} | {} |",
                    o.p50_ms,
                    o.p99_ms,
                    o.per_sec,
                    if target { "p99 < 25 ms" } else { "" },
                    if target { verdict(o.p99_ms < 25.0) } else { "" }
                );
            }
        }
    }
    if let Some(p) = phase(Workload::List)
        && let Some(o) = p.op("list (all)")
    {
        let _ = writeln!(
            s,
            "| List/search p50 / p95 / p99 | {:.1} / {:.1} / {:.1} ms ({:.0}/s) | p95 < 50 ms | {} |",
            o.p50_ms,
            o.p95_ms,
            o.p99_ms,
            o.per_sec,
            verdict(o.p95_ms < 50.0)
        );
    }
    let peak_rss = r.phases.iter().map(|p| p.peak_rss_kib).max().unwrap_or(0);
    let peak_anon = r.phases.iter().map(|p| p.peak_anon_kib).max().unwrap_or(0);
    let peak_file = r.phases.iter().map(|p| p.peak_file_kib).max().unwrap_or(0);
    let _ = writeln!(
        s,
        "| RSS under load (peak VmRSS / VmHWM) | {:.1} / {:.1} MiB (peak anon {:.1}, file-backed {:.1}) | | |",
        mib(peak_rss),
        mib(r.end.hwm_kib),
        mib(peak_anon),
        mib(peak_file)
    );
    let errors: u64 = r.phases.iter().map(|p| p.errors).sum();
    let _ = writeln!(
        s,
        "| Failed requests | {errors} | 0 | {} |",
        verdict(errors == 0)
    );

    let _ = writeln!(s, "\nPer operation:\n");
    let _ = writeln!(
        s,
        "| Phase | Operation | Count | /s | mean | p50 | p95 | p99 | max (ms) | peak RSS (anon) MiB |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for p in &r.phases {
        for o in &p.ops {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} ({:.1}) |",
                p.workload.name(),
                o.op,
                o.count,
                o.per_sec,
                o.mean_ms,
                o.p50_ms,
                o.p95_ms,
                o.p99_ms,
                o.max_ms,
                mib(p.peak_rss_kib),
                mib(p.peak_anon_kib)
            );
        }
    }
    for p in &r.phases {
        if let Some(e) = &p.first_error {
            let _ = writeln!(
                s,
                "\n{} phase: {} errors, first: `{e}`",
                p.workload.name(),
                p.errors
            );
        }
    }
    s
}

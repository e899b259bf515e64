//! Benchmark: the EVTX corpus read ten times, all SigmaHQ Windows rules, end to end; then
//! parse-only with the `evtx` crate to JSON on the same inputs.
//!
//! cargo run --release -p kizuki-hunt --example hunt_bench [-- RULES_DIR EVTX_DIR COPIES]

use kizuki_hunt::{Format, HitWriter, Hunter, LoadOptions, RuleSet, ScanOptions};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

fn cpu_seconds() -> f64 {
    // utime + stime, fields 14 and 15 of /proc/self/stat, in clock ticks (100 per second).
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn vm_hwm_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");
    let args: Vec<String> = std::env::args().collect();
    let rules_dir = args
        .get(1)
        .cloned()
        .unwrap_or(format!("{base}/sigma/rules/windows"));
    let evtx_dir = args.get(2).cloned().unwrap_or(format!("{base}/evtx"));
    let copies: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(10);

    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let t0 = Instant::now();
    let c0 = cpu_seconds();
    let opts = LoadOptions::new()?;
    let rules = RuleSet::load(&[PathBuf::from(&rules_dir)], &opts);
    let load_s = t0.elapsed().as_secs_f64();
    let n_rules = rules.len();
    let failed = rules.errors.len();
    let hunter = Hunter { rules, iocs: None };
    let inputs: Vec<PathBuf> = (0..copies).map(|_| PathBuf::from(&evtx_dir)).collect();
    let mut w = HitWriter::new(Box::new(std::io::sink()), Format::Jsonl);
    let t1 = Instant::now();
    let c1 = cpu_seconds();
    // As `kizuki hunt` writes by default: in time order (bounded memory, see timeline.rs).
    let scan_opts = ScanOptions {
        sort: true,
        ..ScanOptions::default()
    };
    let res = hunter.scan(&inputs, &scan_opts, Some(&mut w))?;
    let scan_s = t1.elapsed().as_secs_f64();
    let scan_cpu = cpu_seconds() - c1;
    let total_s = t0.elapsed().as_secs_f64();
    let total_cpu = cpu_seconds() - c0;
    let hwm = vm_hwm_mb();
    let s = &res.outcome.summary;
    println!("threads: {}", rayon::current_num_threads());
    println!("rules: {n_rules} loaded, {failed} not loaded, load {load_s:.2} s");
    println!(
        "input: {} files, {} events ({copies} copies), {} detections",
        s.files, s.events, s.hits
    );
    println!(
        "hunt, end to end (load + scan): {:.2} s wall, {:.2} s CPU, {:.0} events/s",
        total_s,
        total_cpu,
        s.events as f64 / total_s
    );
    println!(
        "hunt, scan only: {:.2} s wall, {:.2} s CPU, {:.0} events/s",
        scan_s,
        scan_cpu,
        s.events as f64 / scan_s
    );
    println!("peak memory (VmHWM) after hunt: {hwm:.1} MB");

    // Parse only: every record to a JSON string with the evtx crate, files in parallel.
    let mut files = Vec::new();
    let mut errs = Vec::new();
    for f in kizuki_hunt::input::input_files(&inputs, &mut errs) {
        files.push(f);
    }
    let t2 = Instant::now();
    let c2 = cpu_seconds();
    let n: usize = files
        .par_iter()
        .map(|f| {
            let Ok(p) = evtx::EvtxParser::from_path(f) else {
                return 0;
            };
            let mut p = p.with_configuration(evtx::ParserSettings::new().num_threads(1));
            p.records_json().filter(Result::is_ok).count()
        })
        .sum();
    let parse_s = t2.elapsed().as_secs_f64();
    println!(
        "parse only (evtx crate to JSON): {n} events, {:.2} s wall, {:.2} s CPU, {:.0} events/s",
        parse_s,
        cpu_seconds() - c2,
        n as f64 / parse_s
    );
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    Ok(())
}

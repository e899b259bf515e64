//! `kizuki hunt`: Sigma rules and indicator sweeps over event logs.

use anyhow::{Context, bail};
use kizuki_hunt::{
    FieldMap, Format, HitWriter, HuntOutcome, Hunter, Level, LoadOptions, RuleSet, ScanOptions,
};
use std::io::Write;
use std::path::PathBuf;

/// Output format of the detections.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuntFormat {
    /// CSV with a header line.
    Csv,
    /// One JSON object per detection.
    Jsonl,
}

/// Hunt through event logs with Sigma rules and indicators.
#[derive(clap::Args, Debug)]
pub struct HuntArgs {
    /// Sigma rule file or folder (searched recursively); repeatable.
    #[arg(long = "rules", value_name = "PATH", required = true)]
    pub rules: Vec<PathBuf>,
    /// Indicator file: one indicator a line (`kind:value` optional) or a STIX 2.1 bundle.
    #[arg(long, value_name = "FILE")]
    pub ioc: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: HuntFormat,
    /// Write detections here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Attach the hits to this incident: a timeline entry per rule's first sighting and the
    /// matched indicators as observables.
    #[arg(long, value_name = "ID")]
    pub incident: Option<i64>,
    /// Only rules of this level or above (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<String>,
    /// Only events at or after this time (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only events at or before this time (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Only rules with these statuses (comma-separated or repeated; default: all but deprecated and unsupported).
    #[arg(long = "status", value_name = "STATUS", value_delimiter = ',')]
    pub status: Vec<String>,
    /// Extra field / logsource mapping merged over the built-in one.
    #[arg(long, value_name = "FILE")]
    pub fieldmap: Option<PathBuf>,
    /// Do not show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Write detections as they are found (scan order) instead of sorting them by time.
    /// Sorting keeps memory bounded: past a budget, sorted runs go to temp files.
    #[arg(long)]
    pub unsorted: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// EVTX, JSON-lines or Suricata EVE files or folders (searched recursively).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

fn parse_time(s: &str, what: &str) -> anyhow::Result<i64> {
    kizuki_hunt::time::parse_ms(s).with_context(|| {
        format!("{what}: cannot read {s:?} as a time (use RFC 3339, e.g. 2024-05-01T00:00:00Z)")
    })
}

/// Run the hunt: load rules and indicators, scan, write detections (to --output or stdout)
/// and the summary (stderr), and return what was found for `--incident`.
pub fn run(args: &HuntArgs) -> anyhow::Result<HuntOutcome> {
    let mut fieldmap = FieldMap::builtin().map_err(anyhow::Error::msg)?;
    if let Some(p) = &args.fieldmap {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        fieldmap
            .extend_with(&text, &p.display().to_string())
            .map_err(anyhow::Error::msg)?;
    }
    let min_level = match &args.min_level {
        Some(l) => Some(Level::parse(l).with_context(|| format!("unknown level {l:?}"))?),
        None => None,
    };
    let opts = LoadOptions {
        min_level,
        statuses: (!args.status.is_empty())
            .then(|| args.status.iter().map(|s| s.to_ascii_lowercase()).collect()),
        fieldmap,
    };
    let scan_opts = ScanOptions {
        threads: args.threads,
        from_ms: args
            .from
            .as_deref()
            .map(|s| parse_time(s, "--from"))
            .transpose()?,
        to_ms: args
            .to
            .as_deref()
            .map(|s| parse_time(s, "--to"))
            .transpose()?,
        progress: !args.no_progress,
        ioc_level: None,
        sort: !args.unsorted,
        sort_budget: None,
    };
    if let Some(n) = args.threads {
        // Size the pool before rules are compiled in parallel.
        let _ = rayon_pool(n);
    }
    let rules = RuleSet::load(&args.rules, &opts);
    let mut err = std::io::stderr().lock();
    for e in &rules.errors {
        writeln!(err, "rule not loaded: {e}")?;
    }
    let iocs = match &args.ioc {
        Some(p) => {
            let set = kizuki_hunt::ioc::load(p).map_err(anyhow::Error::msg)?;
            for r in &set.rejected {
                writeln!(err, "indicator not understood, skipped: {r}")?;
            }
            Some(set)
        }
        None => None,
    };
    drop(err);
    if rules.is_empty() && iocs.as_ref().is_none_or(|i| i.is_empty()) {
        bail!("no rule loaded and no indicator given: nothing to hunt for");
    }
    let out: Box<dyn Write + Send> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let format = match args.format {
        HuntFormat::Csv => Format::Csv,
        HuntFormat::Jsonl => Format::Jsonl,
    };
    let mut writer = HitWriter::new(out, format);
    let hunter = Hunter { rules, iocs };
    let res = hunter
        .scan(&args.paths, &scan_opts, Some(&mut writer))
        .context("writing detections")?;
    let mut err = std::io::stderr().lock();
    res.outcome.summary.write_text(&mut err)?;
    Ok(res.outcome)
}

fn rayon_pool(n: usize) -> anyhow::Result<()> {
    // The engine sets rayon's global pool from ScanOptions::threads; nothing else to do here.
    let _ = n;
    Ok(())
}

//! `kizuki-bench`: fills a database through the store crates, then measures the release
//! `kizuki` server over HTTP (appends, reads of a long timeline, filtered lists/searches)
//! and its memory, and prints a Markdown report.
//!
//! ```text
//! cargo build --release -p kizuki -p kizuki-bench
//! target/release/kizuki-bench --database sqlite:///tmp/kizuki-bench.db
//! target/release/kizuki-bench --database "$KIZUKI_TEST_POSTGRES_URL" --json-out pg.json
//! ```

mod data;
mod fill;
mod load;
mod report;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::load::{Ctx, Workload};
use crate::server::Server;

#[derive(Debug, Parser)]
#[command(
    name = "kizuki-bench",
    about = "Benchmarks the Kizuki HTTP API (incident core)"
)]
pub struct Opts {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long)]
    database: String,
    /// The release server binary.
    #[arg(long, default_value = "target/release/kizuki")]
    kizuki: PathBuf,
    /// Ordinary incidents to fill (the 500-entry incident comes on top).
    #[arg(long, default_value_t = 100_000)]
    incidents: u64,
    #[arg(long, default_value_t = 20)]
    entries_per_incident: usize,
    /// Entries of the one long-timeline incident.
    #[arg(long, default_value_t = 500)]
    big_entries: usize,
    /// Concurrent writers during the fill.
    #[arg(long, default_value_t = 16)]
    fill_workers: usize,
    /// Recorded seconds per load phase.
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// Unrecorded warm-up seconds before each phase.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Seconds the server idles before the idle memory reading.
    #[arg(long, default_value_t = 5)]
    idle_secs: u64,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Leave the search that matches nothing (a full scan) out of the list mix.
    #[arg(long)]
    no_scan_query: bool,
    /// Only run these phases (comma-separated: append, read, list).
    #[arg(long, value_delimiter = ',', default_value = "append,read,list")]
    phases: Vec<String>,
    /// Use the data already in the database (topping it up to --incidents if short).
    #[arg(long)]
    reuse: bool,
    /// Stop after the fill.
    #[arg(long)]
    fill_only: bool,
    /// Write the results as JSON here too.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Where the server's log goes.
    #[arg(long, default_value = "/tmp/kizuki-bench-server.log")]
    server_log: PathBuf,
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = Opts::parse();
    if opts.clients == 0 || opts.duration_secs == 0 {
        bail!("--clients and --duration-secs must be at least 1");
    }
    if !opts.fill_only && !opts.kizuki.is_file() {
        bail!(
            "{} not found; build it with `cargo build --release -p kizuki`",
            opts.kizuki.display()
        );
    }

    // 1. Fill (or reuse) through the store crates.
    let store = fill::open_store(&opts.database).await?;
    let backend = store.backend();
    let dataset = fill::fill(
        Arc::clone(&store),
        opts.incidents,
        opts.entries_per_incident,
        opts.big_entries,
        opts.fill_workers,
        opts.reuse,
    )
    .await?;
    drop(store);
    eprintln!(
        "dataset: {} incidents (ids {}..={}), big incident {} with {} entries; fill {:.1} s{}",
        dataset.incidents,
        dataset.min_id,
        dataset.max_id,
        dataset.big_id,
        dataset.big_entries,
        dataset.fill_secs,
        if dataset.reused { " (reused)" } else { "" }
    );
    if opts.fill_only {
        return Ok(());
    }
    let db_bytes = report::database_bytes(&opts.database);

    // 2. Token, server, health.
    let token = server::create_user_and_token(&opts.kizuki, &opts.database).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.clients * 2)
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .context("building the HTTP client")?;
    let started = Instant::now();
    let mut srv = Server::start(&opts.kizuki, &opts.database, opts.server_log.clone()).await?;
    let result = run(
        &opts, &http, &mut srv, token, dataset, started, backend, db_bytes,
    )
    .await;
    srv.stop().await?;
    let results = result?;

    // 8. Report.
    let md = report::markdown(&results);
    println!("{md}");
    if let Some(path) = &opts.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run(
    opts: &Opts,
    http: &reqwest::Client,
    srv: &mut Server,
    token: String,
    dataset: fill::Dataset,
    started: Instant,
    backend: &'static str,
    db_bytes: Option<u64>,
) -> Result<report::Results> {
    let startup = srv.wait_healthy(http, Duration::from_secs(60)).await?;
    eprintln!(
        "server pid {} healthy at {} after {:.2} s",
        srv.pid,
        srv.base,
        started.elapsed().as_secs_f64()
    );

    // 3. Idle memory.
    tokio::time::sleep(Duration::from_secs(opts.idle_secs)).await;
    let idle = server::read_mem(srv.pid)?;
    eprintln!(
        "idle: VmRSS {} KiB, VmHWM {} KiB",
        idle.rss_kib, idle.hwm_kib
    );

    let ctx = Arc::new(Ctx {
        http: http.clone(),
        base: srv.base.clone(),
        token,
        data: dataset.clone(),
        queries: load::list_queries(!opts.no_scan_query),
        template: load::empty_histogram()?,
    });
    preflight(&ctx).await?;

    // 4–6. Load phases.
    let warmup = Duration::from_secs(opts.warmup_secs);
    let duration = Duration::from_secs(opts.duration_secs);
    let mut phases = Vec::new();
    for w in [Workload::Append, Workload::Read, Workload::List] {
        if !opts.phases.iter().any(|p| p == w.name()) {
            continue;
        }
        eprintln!(
            "phase {}: {} clients, {} s warm-up + {} s…",
            w.name(),
            opts.clients,
            opts.warmup_secs,
            opts.duration_secs
        );
        let r =
            load::run_phase(Arc::clone(&ctx), w, opts.clients, warmup, duration, srv.pid).await?;
        eprintln!(
            "  ok {} errors {}{}",
            r.ok,
            r.errors,
            r.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        phases.push(r);
    }
    let end = server::read_mem(srv.pid)?;

    Ok(report::Results {
        backend,
        database: redact(&opts.database),
        clients: opts.clients,
        duration_secs: opts.duration_secs,
        warmup_secs: opts.warmup_secs,
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        dataset,
        db_bytes,
        startup_secs: startup.as_secs_f64(),
        idle,
        end,
        phases,
    })
}

/// Checks that the endpoints answer as expected before any timing.
async fn preflight(ctx: &Ctx) -> Result<()> {
    let auth = format!("Bearer {}", ctx.token);
    let tl: serde_json::Value = ctx
        .http
        .get(format!(
            "{}/api/v1/incidents/{}/timeline",
            ctx.base, ctx.data.big_id
        ))
        .header("authorization", &auth)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let n = tl.as_array().map_or(0, Vec::len);
    if n < ctx.data.big_entries {
        bail!(
            "the big incident's timeline has {n} entries over HTTP, expected {}",
            ctx.data.big_entries
        );
    }
    for (label, q) in &ctx.queries {
        let page: serde_json::Value = ctx
            .http
            .get(format!("{}/api/v1/incidents?{q}", ctx.base))
            .header("authorization", &auth)
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("list query {label}"))?
            .json()
            .await?;
        let items = page["items"].as_array().map_or(0, Vec::len);
        eprintln!("  preflight {label:<22} → {items} items");
    }
    Ok(())
}

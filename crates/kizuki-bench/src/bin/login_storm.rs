//! `login-storm`: the load check of the login defences. Starts the release `kizuki` server on a
//! fresh SQLite database, then fires wrong-password logins at one account from many loopback
//! source addresses (127.0.0.2, 127.0.0.3, …) while a bystander keeps using the API with a
//! token, and reports: how many attempts succeeded (must be none), how they were refused
//! (401 failed/locked, 429 rate-limited), and the bystander's latency before and during.
//!
//! ```text
//! cargo build --release -p kizuki -p kizuki-bench
//! target/release/login-storm --attempts 10000 --addresses 20
//! ```

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use hdrhistogram::Histogram;

#[derive(Debug, Parser)]
#[command(
    name = "login-storm",
    about = "Wrong-password storm against one account"
)]
struct Opts {
    /// The release server binary.
    #[arg(long, default_value = "target/release/kizuki")]
    kizuki: PathBuf,
    /// Wrong-password attempts in all.
    #[arg(long, default_value_t = 10_000)]
    attempts: u64,
    /// Loopback source addresses the attempts come from (at most 250).
    #[arg(long, default_value_t = 20)]
    addresses: u8,
    /// Concurrent attacking connections.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of bystander traffic measured before the storm.
    #[arg(long, default_value_t = 5)]
    baseline_secs: u64,
}

const VICTIM: &str = "victim@example.jp";
const BYSTANDER: &str = "bystander@example.jp";
const PASSWORD: &str = "violet-harbour-lantern-1987-quietly";

struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kizuki(bin: &Path, db: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut child = Command::new(bin)
        .arg("--database")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.unwrap_or("").as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "kizuki {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn bystander(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    until: Instant,
) -> Result<(Histogram<u64>, u64)> {
    let mut hist = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    while Instant::now() < until {
        let start = Instant::now();
        let res = client
            .get(format!("{base}/api/v1/incidents?limit=20"))
            .bearer_auth(token)
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes().await;
                hist.record(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX))?;
            }
            _ => errors += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((hist, errors))
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = Opts::parse();
    let dir = std::env::temp_dir().join(format!("kizuki-login-storm-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}", dir.join("storm.db").display());
    let bin = &opts.kizuki;
    kizuki(
        bin,
        &db,
        &["user", "create", "--email", VICTIM, "--role", "responder"],
        Some(&format!("{PASSWORD}\n")),
    )?;
    kizuki(
        bin,
        &db,
        &[
            "user",
            "create",
            "--email",
            BYSTANDER,
            "--role",
            "responder",
        ],
        Some(&format!("{PASSWORD}x\n")),
    )?;
    let token = kizuki(bin, &db, &["token", "create", "--user", BYSTANDER], None)?
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("server.log"))?;
    let _server = ServerGuard(
        Command::new(bin)
            .arg("--database")
            .arg(&db)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?,
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let ready = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        if ready.elapsed() > Duration::from_secs(20) {
            bail!(
                "server did not start; see {}",
                dir.join("server.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (baseline, _) = bystander(
        &client,
        &base,
        &token,
        Instant::now() + Duration::from_secs(opts.baseline_secs),
    )
    .await?;

    let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default()); // ok, 401, 429, other
    let next = Arc::new(AtomicU64::new(0));
    let storm_start = Instant::now();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let client = client.clone();
        let base = base.clone();
        let token = token.clone();
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).ok();
            let mut errors = 0u64;
            while !done.load(Ordering::Relaxed) {
                if let Ok((h, e)) = bystander(
                    &client,
                    &base,
                    &token,
                    Instant::now() + Duration::from_millis(500),
                )
                .await
                {
                    if let Some(all) = hist.as_mut() {
                        let _ = all.add(&h);
                    }
                    errors += e;
                }
            }
            (hist, errors)
        })
    };
    // One client per source address; attempt n comes from address n mod addresses.
    let sources: Arc<Vec<reqwest::Client>> = Arc::new(
        (0..opts.addresses.clamp(1, 250))
            .map(|i| {
                reqwest::Client::builder()
                    .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)))
                    .timeout(Duration::from_secs(60))
                    .build()
            })
            .collect::<Result<_, _>>()?,
    );
    let mut workers = Vec::new();
    for _ in 0..opts.concurrency {
        let (sources, base, counts, next, total) = (
            Arc::clone(&sources),
            base.clone(),
            Arc::clone(&counts),
            Arc::clone(&next),
            opts.attempts,
        );
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let body = serde_json::json!({"email": VICTIM, "password": format!("guess-{n}-{PASSWORD}")});
                let client = &sources[(n % sources.len() as u64) as usize];
                let slot = match client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => 0,
                    Ok(r) if r.status().as_u16() == 401 => 1,
                    Ok(r) if r.status().as_u16() == 429 => 2,
                    _ => 3,
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let storm = storm_start.elapsed();
    done.store(true, Ordering::Relaxed);
    let (during, bystander_errors) = watcher.await?;
    let during = during.context("histogram")?;

    // The real owner, after the storm: locked out for now (the price of lock-out), which
    // the report states rather than hides.
    let owner = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": VICTIM, "password": PASSWORD}))
        .send()
        .await?
        .status();

    let c: Vec<u64> = counts.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| wrong-password attempts | {} from {} addresses, {} connections |",
        opts.attempts, opts.addresses, opts.concurrency
    );
    println!("| successful logins | **{}** |", c[0]);
    println!("| refused 401 (failed or locked) | {} |", c[1]);
    println!("| refused 429 (per-address limit) | {} |", c[2]);
    println!("| other outcomes | {} |", c[3]);
    println!(
        "| storm duration | {:.1} s ({:.0} attempts/s) |",
        storm.as_secs_f64(),
        opts.attempts as f64 / storm.as_secs_f64()
    );
    println!(
        "| bystander GET /incidents before: p50 / p99 | {:.2} / {:.2} ms ({} requests) |",
        ms(&baseline, 0.5),
        ms(&baseline, 0.99),
        baseline.len()
    );
    println!(
        "| bystander during the storm: p50 / p99 | {:.2} / {:.2} ms ({} requests, {} errors) |",
        ms(&during, 0.5),
        ms(&during, 0.99),
        during.len(),
        bystander_errors
    );
    println!("| owner's right password right after | {owner} |");
    let _ = std::fs::remove_dir_all(&dir);
    if c[0] != 0 {
        bail!("{} wrong-password logins succeeded", c[0]);
    }
    Ok(())
}

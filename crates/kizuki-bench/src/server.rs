//! Running the `kizuki` binary: CLI calls, `serve`, health check, memory readings.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// A running `kizuki serve`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    pub log: PathBuf,
}

async fn run_cli(kizuki: &Path, database: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(kizuki)
        .arg("--database")
        .arg(database)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {}", kizuki.display()))?;
    if !out.status.success() {
        bail!(
            "`kizuki {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates a fresh responder and returns a token for it.
pub async fn create_user_and_token(kizuki: &Path, database: &str) -> Result<String> {
    let email = format!(
        "bench-{}-{}@example.invalid",
        std::process::id(),
        kizuki_domain::clock::Clock::now(&kizuki_domain::clock::SystemClock).as_millisecond()
    );
    run_cli(
        kizuki,
        database,
        &[
            "user",
            "create",
            "--email",
            &email,
            "--role",
            "responder",
            "--enrolment-link",
        ],
    )
    .await?;
    let out = run_cli(
        kizuki,
        database,
        &["token", "create", "--user", &email, "--name", "bench"],
    )
    .await?;
    let token = out
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .context("`token create` printed nothing")?;
    Ok(token.to_owned())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

impl Server {
    pub async fn start(kizuki: &Path, database: &str, log: PathBuf) -> Result<Server> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(kizuki)
            .arg("--database")
            .arg(database)
            .args(["serve", "--listen", &listen])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", kizuki.display()))?;
        let pid = child.id().context("the server exited at once")?;
        Ok(Server {
            child,
            pid,
            base: format!("http://{listen}"),
            log,
        })
    }

    /// Polls `/healthz` until it answers 200 (at most `within`).
    pub async fn wait_healthy(
        &mut self,
        http: &reqwest::Client,
        within: Duration,
    ) -> Result<Duration> {
        let started = Instant::now();
        let url = format!("{}/healthz", self.base);
        for _ in 0..10_000 {
            if started.elapsed() > within {
                break;
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "kizuki serve exited with {status}; see {}",
                    self.log.display()
                );
            }
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "kizuki did not become healthy within {within:?}; see {}",
            self.log.display()
        )
    }

    /// Asks the server to stop (SIGTERM, graceful) and waits; kills it after 10 s.
    pub async fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await.ok();
        }
        Ok(())
    }
}

/// VmRSS and VmHWM of a process, in KiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Mem {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// Anonymous (heap) part of VmRSS.
    pub anon_kib: u64,
    /// File-backed part of VmRSS (e.g. SQLite's mmap of the database, counted once per
    /// connection that maps it).
    pub file_kib: u64,
}

pub fn read_mem(pid: u32) -> Result<Mem> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(Mem {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        anon_kib: field("RssAnon:"),
        file_kib: field("RssFile:"),
    })
}

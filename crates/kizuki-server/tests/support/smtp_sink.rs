//! A real SMTP server for the tests: `tests/fixtures/smtp_sink.py` (Python's aiosmtpd), which
//! stores each message it accepts as `NNNN.json` (envelope and decoded parts) and `NNNN.eml`
//! (the raw bytes). Shared by the kizuki-server tests and the process-level tests of the
//! `kizuki` binary (included there by path).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A Python that can import aiosmtpd, or `None` (the SMTP tests then say so and pass)
/// unless `KIZUKI_REQUIRE_SMTP=1`, as `.ci/run` sets, which turns the absence into a failure.
pub fn python_with_aiosmtpd() -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("KIZUKI_SMTP_PYTHON") {
        candidates.push(p);
    }
    candidates.extend(["python3".to_owned(), "/usr/bin/python3".to_owned()]);
    let found = candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("KIZUKI_REQUIRE_SMTP").as_deref() != Ok("1"),
            "KIZUKI_REQUIRE_SMTP=1 but no Python here can import aiosmtpd (set KIZUKI_SMTP_PYTHON)"
        );
        eprintln!("SMTP tests skipped: no Python with aiosmtpd (pip install aiosmtpd)");
    }
    found
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running aiosmtpd sink; killed when dropped.
pub struct Sink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    pub fn start(python: &str) -> Sink {
        Sink::start_on(python, free_port(), None)
    }

    /// On a chosen port (to bring a server back where a sender expects it), optionally
    /// demanding AUTH with `(user, password)`.
    pub fn start_on(python: &str, port: u16, auth: Option<(&str, &str)>) -> Sink {
        let mut args: Vec<String> = Vec::new();
        if let Some((user, password)) = auth {
            args.extend([
                "--user".into(),
                user.into(),
                "--password".into(),
                password.into(),
            ]);
        }
        Sink::start_with(python, port, &args)
    }

    /// With any further arguments of the script (`--tls-cert`, `--implicit-tls`, …).
    pub fn start_with(python: &str, port: u16, args: &[String]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kizuki-server/tests/fixtures/smtp_sink.py");
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .args(args);
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Sink { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages stored so far, in order: what Python decoded, and the raw bytes.
    pub fn messages(&self) -> Vec<(Value, Vec<u8>)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let json: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                let raw = std::fs::read(p.with_extension("eml")).unwrap_or_default();
                (json, raw)
            })
            .collect()
    }

    /// Every recipient so far, sorted.
    pub fn to(&self) -> Vec<String> {
        let mut to: Vec<String> = self
            .messages()
            .iter()
            .map(|(m, _)| m["rcpt_tos"][0].as_str().unwrap().to_owned())
            .collect();
        to.sort();
        to
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

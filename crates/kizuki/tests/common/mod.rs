//! Running the `kizuki` binary from the process-level tests, and reading what it answered.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

/// Runs the binary against `db` with a clean environment (no configuration file or
/// database URL leaking in from the developer's shell).
pub fn kizuki(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kizuki"))
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("KIZUKI_CONFIG")
        .env_remove("KIZUKI_DATABASE_URL")
        .output()
        .unwrap()
}

/// Standard output of a run that must have succeeded; otherwise fails with everything it said.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Standard error of a run that must have failed.
pub fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr.clone()).unwrap()
}

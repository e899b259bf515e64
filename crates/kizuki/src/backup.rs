//! `kizuki backup`: generational backups that can be checked and restored.
//!
//! The organisation in the study that survived ransomware restored from *generations* of
//! backups, not from a real-time copy (which faithfully copied the encryption). So a backup
//! here is a self-contained folder, `kizuki-<UTC YYYYmmddTHHMMSSZ>[-N]/`, holding:
//!
//! * a consistent snapshot of the database, taken while the server may be writing:
//!   SQLite's `VACUUM INTO` on a separate read-only connection (WAL lets it read one
//!   committed state while writers go on), or PostgreSQL's `pg_dump --format=custom`;
//! * the stored files (`files/` in the data directory) and the audit key (`audit.key`);
//! * `manifest.json`: format version, Kizuki version, backend, creation time and, for every
//!   other file, its relative path, size and SHA-256.
//!
//! A backup is written under a hidden temporary name and renamed when complete, so an
//! interrupted run never leaves a folder that looks like a backup. Retention keeps the newest
//! backup of each of the last N days, ISO weeks and months ([`retention_plan`], a pure function
//! of the backup times and `now`).
//!
//! Architecture invariant: restore never deletes what it replaces; it moves it aside as
//! `<name>.before-restore-<timestamp>` (for PostgreSQL, a pg_dump of the replaced database).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use kizuki_domain::clock::{Clock, SystemClock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{ConnectOptions, Connection};

use crate::config::redact_url;

/// The manifest's file name, at the top of a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// The manifest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const SQLITE_SNAPSHOT: &str = "database.sqlite";
const PG_SNAPSHOT: &str = "database.pgdump";
const FILES_DIR: &str = "files";
const AUDIT_KEY: &str = "audit.key";
const NAME_PREFIX: &str = "kizuki-";
const INCOMPLETE_SUFFIX: &str = ".incomplete";
const STAMP_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// `YYYYmmddTHHMMSSZ`.
const STAMP_LEN: usize = 16;
/// How long the snapshot connection waits for a lock held by the server.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

// --- command line ----------------------------------------------------------------------------

/// Generational backups: create, verify, restore, prune.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a consistent backup while the server keeps running, then apply retention.
    ///
    /// SQLite is copied with `VACUUM INTO` on a separate read-only connection; PostgreSQL with
    /// `pg_dump --format=custom` (the password, if any, is passed in PGPASSWORD). The stored
    /// files (`files/`) and the audit key (`audit.key`) of the data directory are copied too.
    /// The backup becomes `DIR/kizuki-<UTC timestamp>/` with a `manifest.json` of SHA-256
    /// checksums. Afterwards the newest backup of each of the last --keep-daily days,
    /// --keep-weekly ISO weeks and --keep-monthly months is kept and older ones are deleted
    /// (never the one just made).
    Create {
        /// Folder that holds the backups (created if missing).
        #[arg(long, value_name = "DIR", default_value = "backups")]
        to: PathBuf,
        /// Data directory with `files/` and `audit.key` (default: the SQLite file's folder;
        /// for PostgreSQL `data`). A configured `audit_key_file` is used wherever it is.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Check a backup: every checksum, and that the database snapshot can be read.
    ///
    /// Reports files that are missing, extra or changed, by name; runs SQLite's
    /// `PRAGMA integrity_check` on a SQLite snapshot, or `pg_restore --list` on a pg_dump
    /// archive. Exits non-zero on any problem.
    Verify {
        /// The backup folder (`…/kizuki-<timestamp>`).
        path: PathBuf,
    },
    /// Restore a backup into the configured database. Stop `kizuki serve` first.
    ///
    /// STOP EVERY `kizuki serve` USING THE DATABASE BEFORE RESTORING, and start it again
    /// afterwards: a running server would keep its old database open (SQLite) or write into
    /// the restore (PostgreSQL).
    ///
    /// The backup is verified first; nothing changes if a check fails. SQLite: the snapshot
    /// becomes the configured database file. PostgreSQL: `pg_restore --clean --if-exists
    /// --no-owner` into the configured database. `files/` and `audit.key` from the backup
    /// replace those in the data directory.
    ///
    /// Existing data is replaced only with --force, and never deleted: the SQLite file (with
    /// its -wal), `files/` and `audit.key` are moved aside as `<name>.before-restore-<timestamp>`;
    /// a PostgreSQL database that has tables is first saved with pg_dump to
    /// `<data-dir>/kizuki-before-restore-<timestamp>.pgdump`.
    Restore {
        /// The backup folder (`…/kizuki-<timestamp>`).
        path: PathBuf,
        /// Replace an existing database, `files/` and `audit.key` (they are kept aside).
        #[arg(long)]
        force: bool,
        /// Data directory to restore `files/` and `audit.key` into (default: the SQLite
        /// file's folder; for PostgreSQL `data`). A configured `audit_key_file` is restored
        /// to where it is configured.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Apply retention to a folder of backups without making a new one.
    Prune {
        /// Folder that holds the backups.
        #[arg(
            long = "dir",
            visible_alias = "to",
            value_name = "DIR",
            default_value = "backups"
        )]
        dir: PathBuf,
        #[command(flatten)]
        retention: RetentionArgs,
        /// Show what would be kept and deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// How many generations to keep. The newest backup is always kept.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct RetentionArgs {
    /// Keep the newest backup of each of the last N days (UTC).
    #[arg(long, value_name = "N", default_value_t = 7)]
    keep_daily: u32,
    /// Keep the newest backup of each of the last N ISO weeks.
    #[arg(long, value_name = "N", default_value_t = 4)]
    keep_weekly: u32,
    /// Keep the newest backup of each of the last N months.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_monthly: u32,
}

impl From<RetentionArgs> for Retention {
    fn from(a: RetentionArgs) -> Self {
        Retention {
            daily: a.keep_daily,
            weekly: a.keep_weekly,
            monthly: a.keep_monthly,
        }
    }
}

/// Runs a `kizuki backup` command against the database `database` names. `audit_key` is
/// the configured audit key file (`audit_key_file`); by default `<data dir>/audit.key`.
pub async fn run(
    database: &str,
    audit_key: Option<&Path>,
    json: bool,
    command: BackupCommand,
) -> anyhow::Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        BackupCommand::Create {
            to,
            data_dir,
            retention,
        } => {
            let target = Target::from_url(database)?;
            let data = DataDir::new(
                data_dir.unwrap_or_else(|| target.default_data_dir()),
                audit_key,
            );
            let made = create(&target, &data, &to, now).await?;
            let pruned = apply_retention(&to, retention.into(), now, Some(&made.name), false)?;
            print_created(json, &made, &pruned)?;
            Ok(exit_code(pruned.failed.is_empty()))
        }
        BackupCommand::Verify { path } => {
            let report = verify(&path).await?;
            print_verified(json, &report)?;
            Ok(exit_code(report.ok))
        }
        BackupCommand::Restore {
            path,
            force,
            data_dir,
        } => {
            let target = Target::from_url(database)?;
            let data = DataDir::new(
                data_dir.unwrap_or_else(|| target.default_data_dir()),
                audit_key,
            );
            let report = restore(&target, &path, &data, force, now).await?;
            print_restored(json, database, &report)?;
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Prune {
            dir,
            retention,
            dry_run,
        } => {
            if !dir.is_dir() {
                bail!("{}: no such folder of backups", dir.display());
            }
            let report = apply_retention(&dir, retention.into(), now, None, dry_run)?;
            print_pruned(json, &report, dry_run)?;
            Ok(exit_code(report.failed.is_empty()))
        }
    }
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// --- the database being backed up ------------------------------------------------------------

/// What the configured database URL points at.
#[derive(Debug, Clone)]
enum Target {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

impl Target {
    fn from_url(url: &str) -> anyhow::Result<Target> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres {
                url: url.to_owned(),
            });
        }
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                bail!("an in-memory SQLite database cannot be backed up or restored");
            }
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .map_err(|e| anyhow::anyhow!("invalid SQLite URL {url}: {e}"))?;
            return Ok(Target::Sqlite {
                path: options.get_filename().to_path_buf(),
            });
        }
        bail!(
            "database URL must start with sqlite:// or postgres:// (got `{}`)",
            redact_url(url)
        )
    }

    fn kind(&self) -> BackendKind {
        match self {
            Target::Sqlite { .. } => BackendKind::Sqlite,
            Target::Postgres { .. } => BackendKind::Postgres,
        }
    }

    fn default_data_dir(&self) -> PathBuf {
        match self {
            Target::Sqlite { path } => match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            },
            Target::Postgres { .. } => PathBuf::from("data"),
        }
    }
}

/// Where the stored files and the audit key live.
#[derive(Debug, Clone)]
struct DataDir {
    dir: PathBuf,
    /// The audit key file: the configured one, else `audit.key` in `dir`.
    audit_key: PathBuf,
}

impl DataDir {
    fn new(dir: PathBuf, configured_key: Option<&Path>) -> DataDir {
        let audit_key = configured_key.map_or_else(|| dir.join(AUDIT_KEY), Path::to_path_buf);
        DataDir { dir, audit_key }
    }

    fn files(&self) -> PathBuf {
        self.dir.join(FILES_DIR)
    }
}

// --- manifest --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        })
    }
}

/// `manifest.json`: what a backup holds, with a checksum for every file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub kizuki_version: String,
    pub backend: BackendKind,
    pub created_at: Timestamp,
    /// The database snapshot, one of `files`.
    pub database: String,
    /// Every file of the backup but the manifest, sorted by path.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the backup folder, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// What is actually in a backup folder, by relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    File {
        size: u64,
        sha256: String,
    },
    /// A symbolic link, socket, … (never written by `create`).
    Other(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Missing,
    Extra,
    Changed,
    NotAFile,
    UnsafePath,
    Database,
}

/// One thing wrong with a backup, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub kind: ProblemKind,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.detail)
    }
}

fn problem(file: &str, kind: ProblemKind, detail: impl Into<String>) -> Problem {
    Problem {
        file: file.to_owned(),
        kind,
        detail: detail.into(),
    }
}

/// A manifest path is relative, `/`-separated, with no empty, `.` or `..` part, so that
/// restoring it can never write outside the target folder.
pub fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Compares the manifest's list with what was found on disk. Pure; the order of the result
/// is the order of the paths.
pub fn compare(manifest: &Manifest, found: &BTreeMap<String, Found>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for entry in &manifest.files {
        if !is_safe_relative(&entry.path) || entry.path == MANIFEST {
            problems.push(problem(
                &entry.path,
                ProblemKind::UnsafePath,
                "listed in manifest.json with a path that is not allowed",
            ));
            continue;
        }
        if !listed.insert(entry.path.as_str()) {
            problems.push(problem(
                &entry.path,
                ProblemKind::UnsafePath,
                "listed twice in manifest.json",
            ));
            continue;
        }
        match found.get(&entry.path) {
            None => problems.push(problem(
                &entry.path,
                ProblemKind::Missing,
                "missing (listed in manifest.json)",
            )),
            Some(Found::Other(what)) => problems.push(problem(
                &entry.path,
                ProblemKind::NotAFile,
                format!("is a {what}, not a regular file"),
            )),
            Some(Found::File { size, sha256 }) => {
                if *size != entry.size {
                    problems.push(problem(
                        &entry.path,
                        ProblemKind::Changed,
                        format!("changed: {size} bytes, manifest.json says {}", entry.size),
                    ));
                } else if !sha256.eq_ignore_ascii_case(&entry.sha256) {
                    problems.push(problem(
                        &entry.path,
                        ProblemKind::Changed,
                        format!(
                            "changed: SHA-256 is {sha256}, manifest.json says {}",
                            entry.sha256
                        ),
                    ));
                }
            }
        }
    }
    if !listed.contains(manifest.database.as_str()) {
        problems.push(problem(
            &manifest.database,
            ProblemKind::Missing,
            "the database snapshot is not listed in manifest.json",
        ));
    }
    for (path, what) in found {
        if listed.contains(path.as_str()) {
            continue;
        }
        let detail = match what {
            Found::File { .. } => "extra file (not in manifest.json)".to_owned(),
            Found::Other(kind) => format!("extra {kind} (not in manifest.json)"),
        };
        problems.push(problem(path, ProblemKind::Extra, detail));
    }
    problems.sort_by(|a, b| a.file.cmp(&b.file));
    problems
}

// --- names and retention ---------------------------------------------------------------------

fn stamp(at: Timestamp) -> String {
    at.strftime(STAMP_FORMAT).to_string()
}

/// `kizuki-<stamp>` for the first backup of a second, `kizuki-<stamp>-N` for later ones.
pub fn backup_name(at: Timestamp, seq: u32) -> String {
    if seq == 0 {
        format!("{NAME_PREFIX}{}", stamp(at))
    } else {
        format!("{NAME_PREFIX}{}-{seq}", stamp(at))
    }
}

/// The time and sequence number in a backup folder's name; `None` for any other name.
pub fn parse_backup_name(name: &str) -> Option<(Timestamp, u32)> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let stamp_text = rest.get(..STAMP_LEN)?;
    let suffix = rest.get(STAMP_LEN..)?;
    let civil = jiff::civil::DateTime::strptime(STAMP_FORMAT, stamp_text).ok()?;
    let at = TimeZone::UTC.to_timestamp(civil).ok()?;
    if stamp(at) != stamp_text {
        return None;
    }
    let seq = match suffix {
        "" => 0,
        s => {
            let n: u32 = s.strip_prefix('-')?.parse().ok()?;
            if n == 0 || format!("-{n}") != s {
                return None;
            }
            n
        }
    };
    Some((at, seq))
}

/// How many generations to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

/// Why a backup is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The newest backup that is not in the future: always kept.
    Newest,
    /// Dated after `now` (a clock that was or is wrong): kept, never judged.
    Future,
    /// The newest of this UTC day.
    Daily(Date),
    /// The newest of this ISO week (ISO year, week).
    Weekly(i16, i8),
    /// The newest of this month (year, month).
    Monthly(i16, i8),
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keep::Newest => f.write_str("newest"),
            Keep::Future => f.write_str("dated in the future"),
            Keep::Daily(d) => write!(f, "daily {d}"),
            Keep::Weekly(y, w) => write!(f, "weekly {y}-W{w:02}"),
            Keep::Monthly(y, m) => write!(f, "monthly {y}-{m:02}"),
        }
    }
}

/// The calendar periods an instant falls in, as consecutive integers (UTC).
struct Periods {
    date: Date,
    day: i64,
    week: i64,
    month: i64,
}

impl Periods {
    fn of(at: Timestamp) -> Periods {
        let day = at.as_second().div_euclid(86_400);
        // 1970-01-01 was a Thursday: shifting by three days makes weeks start on Monday.
        let week = (day + 3).div_euclid(7);
        let date = at.to_zoned_datetime(TimeZone::UTC).date();
        let month = i64::from(date.year()) * 12 + i64::from(date.month()) - 1;
        Periods {
            date,
            day,
            week,
            month,
        }
    }
}

/// Whether `period` is one of the last `n` periods up to and including `current`.
fn within(current: i64, period: i64, n: u32) -> bool {
    period <= current && current - period < i64::from(n)
}

/// Generational retention. For every backup time (in any order), the reasons to keep it;
/// an empty list means delete. Keeps the newest backup of each of the last `policy.daily`
/// days, `policy.weekly` ISO weeks and `policy.monthly` months, counted back from `now`'s
/// own day, week and month (UTC); always keeps the newest backup, and any backup dated after
/// `now`. Of equal times, the later in the list counts as newer.
pub fn retention_plan(backups: &[Timestamp], now: Timestamp, policy: Retention) -> Vec<Vec<Keep>> {
    let mut reasons = vec![Vec::new(); backups.len()];
    let mut order: Vec<usize> = (0..backups.len()).collect();
    order.sort_by(|&a, &b| backups[b].cmp(&backups[a]).then(b.cmp(&a)));
    let current = Periods::of(now);
    let (mut days, mut weeks, mut months) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut newest_seen = false;
    for i in order {
        let at = backups[i];
        let keep = &mut reasons[i];
        if at > now {
            keep.push(Keep::Future);
            continue;
        }
        if !newest_seen {
            newest_seen = true;
            keep.push(Keep::Newest);
        }
        let p = Periods::of(at);
        if within(current.day, p.day, policy.daily) && days.insert(p.day) {
            keep.push(Keep::Daily(p.date));
        }
        if within(current.week, p.week, policy.weekly) && weeks.insert(p.week) {
            let iso = p.date.iso_week_date();
            keep.push(Keep::Weekly(iso.year(), iso.week()));
        }
        if within(current.month, p.month, policy.monthly) && months.insert(p.month) {
            keep.push(Keep::Monthly(p.date.year(), p.date.month()));
        }
    }
    reasons
}

// --- files -----------------------------------------------------------------------------------

fn create_private_dir_all(path: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .with_context(|| format!("creating folder {}", path.display()))
}

fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .with_context(|| format!("creating folder {}", path.display()))
}

/// A new file only its owner can read: backups hold the whole database and the audit key.
fn create_private_file(path: &Path) -> anyhow::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

fn sync_dir(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    File::open(path)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", path.display()))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Streams `src` through SHA-256, into `dst` (a new private file) when given.
fn hash_copy(src: &Path, mut dst: Option<(&Path, File)>) -> anyhow::Result<(u64, String)> {
    let mut input = File::open(src).with_context(|| format!("reading {}", src.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", src.display())),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        if let Some((path, file)) = dst.as_mut() {
            file.write_all(chunk)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        size += n as u64;
    }
    if let Some((path, file)) = dst {
        file.sync_all()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

fn hash_file(path: &Path) -> anyhow::Result<(u64, String)> {
    hash_copy(path, None)
}

fn copy_file(src: &Path, dst: &Path) -> anyhow::Result<(u64, String)> {
    let file = create_private_file(dst)?;
    hash_copy(src, Some((dst, file)))
}

/// Everything under a folder, by `/`-separated relative path, sorted.
struct Walked {
    /// Regular files, with their full path.
    files: Vec<(String, PathBuf)>,
    /// Anything else (links, sockets, …), with a description.
    others: Vec<(String, &'static str)>,
}

/// Lists everything under `root` without following links.
fn walk(root: &Path) -> anyhow::Result<Walked> {
    let mut files = Vec::new();
    let mut others = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries =
            fs::read_dir(&dir).with_context(|| format!("reading folder {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading folder {}", dir.display()))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                bail!("{}: file name is not valid UTF-8", path.display());
            };
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                stack.push((path, rel));
            } else if kind.is_file() {
                files.push((rel, path));
            } else if kind.is_symlink() {
                others.push((rel, "symbolic link"));
            } else {
                others.push((rel, "special file"));
            }
        }
    }
    files.sort();
    others.sort();
    Ok(Walked { files, others })
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS.get(unit).copied().unwrap_or("B"))
    }
}

// --- PostgreSQL tools ------------------------------------------------------------------------

/// A libpq connection URI without its password, and the password (for PGPASSWORD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub url: String,
    pub password: Option<String>,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or_default();
        if b == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits the password off a `postgres://` URL so it never appears on a command line, and
/// drops query parameters that only sqlx understands (libpq would refuse them).
pub fn pg_target(url: &str) -> anyhow::Result<PgTarget> {
    let Some((scheme, rest)) = url.split_once("://") else {
        bail!("invalid PostgreSQL URL {}", redact_url(url));
    };
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let mut password = None;
    let authority_and_path = match base.rfind('@') {
        Some(at) => {
            let userinfo = base.get(..at).unwrap_or_default();
            let host = base.get(at + 1..).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, pass)) => {
                    password = Some(percent_decode(pass));
                    format!("{user}@{host}")
                }
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    let mut kept = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key.eq_ignore_ascii_case("password") {
            if password.is_none() {
                password = Some(percent_decode(value));
            }
        } else if key == "statement-cache-capacity" || pair.is_empty() {
            // sqlx only
        } else {
            kept.push(pair);
        }
    }
    let mut out = format!("{scheme}://{authority_and_path}");
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    Ok(PgTarget { url: out, password })
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    meta.is_file()
}

/// `pg_dump` / `pg_restore`: on PATH, else the newest under Debian's `/usr/lib/postgresql/*/bin`.
fn pg_tool(name: &str) -> anyhow::Result<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let version = entry
                .file_name()
                .to_str()
                .and_then(|v| v.split('.').next().and_then(|m| m.parse::<u32>().ok()));
            let candidate = entry.path().join("bin").join(name);
            if let Some(v) = version
                && is_executable(&candidate)
                && best.as_ref().is_none_or(|(b, _)| v > *b)
            {
                best = Some((v, candidate));
            }
        }
    }
    best.map(|(_, p)| p).with_context(|| {
        format!(
            "{name} not found on PATH or under /usr/lib/postgresql/*/bin; install PostgreSQL's client tools"
        )
    })
}

/// Runs a PostgreSQL tool; on failure, its error output (with any password masked).
fn run_pg_tool(name: &str, args: &[&std::ffi::OsStr], target: &PgTarget) -> anyhow::Result<()> {
    let program = pg_tool(name)?;
    let mut command = Command::new(&program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(p) = &target.password {
        command.env("PGPASSWORD", p);
    }
    let out = command
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !out.status.success() {
        let mut message = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if let Some(p) = target.password.as_deref().filter(|p| !p.is_empty()) {
            message = message.replace(p, "***");
        }
        bail!("{name} failed ({}): {message}", out.status);
    }
    Ok(())
}

fn pg_dump(url: &str, out: &Path) -> anyhow::Result<()> {
    let target = pg_target(url)?;
    run_pg_tool(
        "pg_dump",
        &[
            "--format=custom".as_ref(),
            "--no-password".as_ref(),
            "--file".as_ref(),
            out.as_os_str(),
            "--dbname".as_ref(),
            target.url.as_ref(),
        ],
        &target,
    )
    .with_context(|| format!("dumping {}", redact_url(url)))
}

/// Tables outside PostgreSQL's own schemas: zero for an empty database.
async fn pg_table_count(url: &str) -> anyhow::Result<i64> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("invalid PostgreSQL URL {}: {e}", redact_url(url)))?;
    let mut conn = options
        .connect()
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))?;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_catalog.pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&mut conn)
    .await
    .with_context(|| format!("reading the tables of {}", redact_url(url)))?;
    conn.close().await?;
    Ok(n)
}

// --- create ----------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Created {
    name: String,
    path: PathBuf,
    backend: BackendKind,
    created_at: Timestamp,
    files: usize,
    bytes: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// Takes a SQLite snapshot with `VACUUM INTO` on its own read-only connection, then makes
/// the copy self-contained (rollback journal, no -wal/-shm beside it).
async fn sqlite_snapshot(db: &Path, out: &Path) -> anyhow::Result<()> {
    if !db.is_file() {
        bail!(
            "{}: the SQLite database does not exist; nothing to back up",
            db.display()
        );
    }
    let Some(out_text) = out.to_str() else {
        bail!("{}: path is not valid UTF-8", out.display());
    };
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(BUSY_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("{}: opening read-only", db.display()))?;
    sqlx::query("VACUUM INTO ?1")
        .bind(out_text)
        .execute(&mut conn)
        .await
        .with_context(|| format!("{}: VACUUM INTO {}", db.display(), out.display()))?;
    conn.close().await?;

    let mut snap = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(out)
        .create_if_missing(false)
        .connect()
        .await
        .with_context(|| format!("{}: opening the snapshot", out.display()))?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode = DELETE")
        .fetch_one(&mut snap)
        .await
        .with_context(|| format!("{}: leaving WAL mode", out.display()))?;
    snap.close().await?;
    if !mode.eq_ignore_ascii_case("delete") {
        bail!(
            "{}: journal mode stayed `{mode}` instead of `delete`",
            out.display()
        );
    }
    for side in ["-wal", "-shm", "-journal"] {
        let mut p = out.as_os_str().to_owned();
        p.push(side);
        if exists(Path::new(&p)) {
            bail!("{}: left behind by SQLite", Path::new(&p).display());
        }
    }
    Ok(())
}

async fn create(
    target: &Target,
    data: &DataDir,
    dir: &Path,
    now: Timestamp,
) -> anyhow::Result<Created> {
    let existed = exists(dir);
    create_private_dir_all(dir)?;
    let dir = fs::canonicalize(dir).with_context(|| format!("resolving {}", dir.display()))?;
    if let Ok(files) = fs::canonicalize(data.files())
        && dir.starts_with(&files)
    {
        if !existed {
            let _ = fs::remove_dir(&dir);
        }
        bail!(
            "{}: backups cannot be kept inside the stored files ({}); choose another --to",
            dir.display(),
            files.display()
        );
    }
    let tmp = dir.join(format!(
        ".{NAME_PREFIX}{}-{}{INCOMPLETE_SUFFIX}",
        stamp(now),
        std::process::id()
    ));
    create_private_dir(&tmp)?;
    match fill(target, data, &tmp, now).await {
        Ok((manifest, warnings)) => {
            let bytes = manifest.files.iter().map(|f| f.size).sum();
            let files = manifest.files.len();
            let (name, path) = publish(&tmp, &dir, now).inspect_err(|_| {
                let _ = fs::remove_dir_all(&tmp);
            })?;
            Ok(Created {
                name,
                path,
                backend: manifest.backend,
                created_at: now,
                files,
                bytes,
                warnings,
            })
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Writes the snapshot, the stored files and the manifest into `tmp`.
async fn fill(
    target: &Target,
    data: &DataDir,
    tmp: &Path,
    now: Timestamp,
) -> anyhow::Result<(Manifest, Vec<String>)> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    // The database first: files it refers to were stored before it was written.
    let database = match target {
        Target::Sqlite { path } => {
            let out = tmp.join(SQLITE_SNAPSHOT);
            sqlite_snapshot(path, &out).await?;
            SQLITE_SNAPSHOT
        }
        Target::Postgres { url } => {
            pg_dump(url, &tmp.join(PG_SNAPSHOT))?;
            PG_SNAPSHOT
        }
    };
    let snapshot = tmp.join(database);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&snapshot, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("{}: setting permissions", snapshot.display()))?;
    }
    let (size, sha256) = hash_file(&snapshot)?;
    entries.push(FileEntry {
        path: database.to_owned(),
        size,
        sha256,
    });

    let files_dir = data.files();
    if files_dir.is_dir() {
        let Walked { files, others } = walk(&files_dir)?;
        for (rel, what) in others {
            warnings.push(format!(
                "{}: skipped, a {what} is not a stored file",
                files_dir.join(&rel).display()
            ));
        }
        for (rel, src) in files {
            let dst = tmp.join(FILES_DIR).join(&rel);
            if let Some(parent) = dst.parent() {
                create_private_dir_all(parent)?;
            }
            let (size, sha256) = copy_file(&src, &dst)?;
            entries.push(FileEntry {
                path: format!("{FILES_DIR}/{rel}"),
                size,
                sha256,
            });
        }
    }
    let key = &data.audit_key;
    if key.is_file() {
        let (size, sha256) = copy_file(key, &tmp.join(AUDIT_KEY))?;
        entries.push(FileEntry {
            path: AUDIT_KEY.to_owned(),
            size,
            sha256,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kizuki_version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: target.kind(),
        created_at: now,
        database: database.to_owned(),
        files: entries,
    };
    let manifest_path = tmp.join(MANIFEST);
    let mut file = create_private_file(&manifest_path)?;
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    // Every folder, so the rename that publishes the backup publishes what is on disk.
    let mut folders = vec![tmp.to_path_buf()];
    let mut i = 0;
    while let Some(folder) = folders.get(i).cloned() {
        for entry in fs::read_dir(&folder)
            .with_context(|| format!("reading folder {}", folder.display()))?
            .flatten()
        {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                folders.push(entry.path());
            }
        }
        i += 1;
    }
    for folder in &folders {
        sync_dir(folder)?;
    }
    Ok((manifest, warnings))
}

/// Renames the finished temporary folder to its final name, never over another backup.
/// Within one second, a later backup always gets a higher number than any existing one (even
/// if lower ones were pruned), so names sort in the order the backups were made.
fn publish(tmp: &Path, dir: &Path, now: Timestamp) -> anyhow::Result<(String, PathBuf)> {
    let this_second = now.as_second();
    let first = fs::read_dir(dir)
        .with_context(|| format!("reading folder {}", dir.display()))?
        .flatten()
        .filter_map(|e| parse_backup_name(e.file_name().to_str()?))
        .filter(|(at, _)| at.as_second() == this_second)
        .map(|(_, seq)| seq.saturating_add(1))
        .max()
        .unwrap_or(0);
    for seq in first..first.saturating_add(1000) {
        let name = backup_name(now, seq);
        let path = dir.join(&name);
        if exists(&path) {
            continue;
        }
        match fs::rename(tmp, &path) {
            Ok(()) => {
                sync_dir(dir)?;
                return Ok((name, path));
            }
            // Another run took the name in between.
            Err(_) if exists(&path) => continue,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()));
            }
        }
    }
    bail!(
        "{}: too many backups named {}",
        dir.display(),
        backup_name(now, 0)
    )
}

// --- retention -------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct KeptBackup {
    backup: String,
    reasons: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct PruneReport {
    kept: Vec<KeptBackup>,
    deleted: Vec<String>,
    /// Deletions that failed, with the reason.
    failed: Vec<String>,
    /// Folders left alone, and why.
    notes: Vec<String>,
}

fn apply_retention(
    dir: &Path,
    policy: Retention,
    now: Timestamp,
    protect: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<PruneReport> {
    let mut report = PruneReport::default();
    let mut backups = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading folder {}", dir.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with(&format!(".{NAME_PREFIX}")) && name.ends_with(INCOMPLETE_SUFFIX) {
            report.notes.push(format!(
                "{name}: an unfinished backup (interrupted, or still being written); not a backup"
            ));
            continue;
        }
        let Some((at, seq)) = parse_backup_name(&name) else {
            continue;
        };
        if !is_dir || !entry.path().join(MANIFEST).is_file() {
            report
                .notes
                .push(format!("{name}: no {MANIFEST}; left alone"));
            continue;
        }
        backups.push((at, seq, name));
    }
    backups.sort();
    let times: Vec<Timestamp> = backups.iter().map(|(at, _, _)| *at).collect();
    let plan = retention_plan(&times, now, policy);
    for ((_, _, name), keep) in backups.into_iter().zip(plan).rev() {
        let mut reasons: Vec<String> = keep.iter().map(ToString::to_string).collect();
        if protect == Some(name.as_str()) && reasons.is_empty() {
            reasons.push("just made".to_owned());
        }
        if !reasons.is_empty() {
            report.kept.push(KeptBackup {
                backup: name,
                reasons,
            });
            continue;
        }
        if dry_run {
            report.deleted.push(name);
            continue;
        }
        match fs::remove_dir_all(dir.join(&name)) {
            Ok(()) => report.deleted.push(name),
            Err(e) => report.failed.push(format!(
                "{}: could not delete: {e}",
                dir.join(&name).display()
            )),
        }
    }
    report.notes.sort();
    Ok(report)
}

// --- verify ----------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct VerifyReport {
    backup: PathBuf,
    ok: bool,
    backend: BackendKind,
    created_at: Timestamp,
    kizuki_version: String,
    files_checked: usize,
    bytes: u64,
    /// What the database check said (`ok`, or why it could not run).
    database_check: String,
    problems: Vec<Problem>,
    #[serde(skip)]
    manifest: Manifest,
}

fn read_manifest(backup: &Path) -> anyhow::Result<Manifest> {
    let path = backup.join(MANIFEST);
    if !backup.is_dir() {
        bail!("{}: not a folder", backup.display());
    }
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if manifest.format_version > FORMAT_VERSION {
        bail!(
            "{}: format version {} was written by a newer Kizuki ({}); this one reads version {FORMAT_VERSION}",
            path.display(),
            manifest.format_version,
            manifest.kizuki_version
        );
    }
    Ok(manifest)
}

async fn sqlite_integrity(path: &Path) -> Result<(), String> {
    // Immutable: reading must not leave -wal or -shm files in the backup.
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(|e| format!("cannot be opened by SQLite: {e}"))?;
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| format!("integrity_check failed: {e}"))?;
    let _ = conn.close().await;
    if rows.len() == 1 && rows.first().is_some_and(|r| r == "ok") {
        Ok(())
    } else {
        Err(format!("integrity_check: {}", rows.join("; ")))
    }
}

async fn verify(backup: &Path) -> anyhow::Result<VerifyReport> {
    let manifest = read_manifest(backup)?;
    let Walked { files, others } = walk(backup)?;
    let mut found = BTreeMap::new();
    for (rel, path) in files {
        if rel == MANIFEST {
            continue;
        }
        let (size, sha256) = hash_file(&path)?;
        found.insert(rel, Found::File { size, sha256 });
    }
    for (rel, what) in others {
        found.insert(rel, Found::Other(what));
    }
    let mut problems = compare(&manifest, &found);
    let snapshot_ok = is_safe_relative(&manifest.database)
        && matches!(found.get(&manifest.database), Some(Found::File { .. }));
    let database_check = if !snapshot_ok {
        "not run: the snapshot is missing".to_owned()
    } else {
        let path = backup.join(&manifest.database);
        let outcome = match manifest.backend {
            BackendKind::Sqlite => sqlite_integrity(&path).await,
            BackendKind::Postgres => {
                let target = PgTarget {
                    url: String::new(),
                    password: None,
                };
                run_pg_tool(
                    "pg_restore",
                    &["--list".as_ref(), path.as_os_str()],
                    &target,
                )
                .map_err(|e| format!("{e:#}"))
            }
        };
        match outcome {
            Ok(()) => match manifest.backend {
                BackendKind::Sqlite => "ok (PRAGMA integrity_check)".to_owned(),
                BackendKind::Postgres => "ok (pg_restore --list)".to_owned(),
            },
            Err(e) => {
                problems.push(problem(&manifest.database, ProblemKind::Database, e));
                "failed".to_owned()
            }
        }
    };
    Ok(VerifyReport {
        backup: backup.to_path_buf(),
        ok: problems.is_empty(),
        backend: manifest.backend,
        created_at: manifest.created_at,
        kizuki_version: manifest.kizuki_version.clone(),
        files_checked: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        database_check,
        problems,
        manifest,
    })
}

// --- restore ---------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct RestoreReport {
    restored_from: PathBuf,
    backend: BackendKind,
    created_at: Timestamp,
    data_dir: PathBuf,
    audit_key: PathBuf,
    files_restored: usize,
    audit_key_restored: bool,
    /// What was replaced, and where it now is.
    kept_aside: Vec<PathBuf>,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Copies one manifest entry out of the backup, checking it against the manifest again
/// (the backup may change between the check and the copy).
/// Fails without touching `dst` if it exists; removes its own partial copy on failure.
fn stage_entry(backup: &Path, entry: &FileEntry, dst: &Path) -> anyhow::Result<()> {
    if let Some(parent) = dst.parent() {
        create_private_dir_all(parent)?;
    }
    let src = backup.join(&entry.path);
    let file = create_private_file(dst)?;
    let copied = hash_copy(&src, Some((dst, file))).and_then(|(size, sha256)| {
        if size != entry.size || !sha256.eq_ignore_ascii_case(&entry.sha256) {
            bail!("{}: changed while being restored", src.display());
        }
        Ok(())
    });
    if copied.is_err() {
        let _ = fs::remove_file(dst);
    }
    copied
}

/// Staged copies waiting to take their place, removed again if the restore stops early.
#[derive(Default)]
struct Staging {
    /// (staged copy, final place)
    items: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    fn discard(&self) {
        for (staged, _) in &self.items {
            let _ = if staged.is_dir() {
                fs::remove_dir_all(staged)
            } else {
                fs::remove_file(staged)
            };
        }
    }
}

/// Copies `files/` and `audit.key` of the backup next to their targets.
fn stage_data(
    backup: &Path,
    manifest: &Manifest,
    data: &DataDir,
    ts: &str,
    staging: &mut Staging,
) -> anyhow::Result<(usize, bool)> {
    let files: Vec<&FileEntry> = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with(&format!("{FILES_DIR}/")))
        .collect();
    let key = manifest.files.iter().find(|f| f.path == AUDIT_KEY);
    if files.is_empty() && key.is_none() {
        return Ok((0, false));
    }
    if !files.is_empty() {
        create_private_dir_all(&data.dir)?;
        let staged = data.dir.join(format!(".{FILES_DIR}.restoring-{ts}"));
        create_private_dir(&staged)?;
        staging.items.push((staged.clone(), data.files()));
        for entry in &files {
            let rel = entry
                .path
                .strip_prefix(&format!("{FILES_DIR}/"))
                .unwrap_or(&entry.path);
            stage_entry(backup, entry, &staged.join(rel))?;
        }
    }
    if let Some(entry) = key {
        let staged = with_suffix(&data.audit_key, &format!(".restoring-{ts}"));
        stage_entry(backup, entry, &staged)?;
        staging.items.push((staged, data.audit_key.clone()));
    }
    Ok((files.len(), key.is_some()))
}

/// Moves what is at each target aside, then puts the staged copy in its place.
fn swap_in(staging: &Staging, ts: &str, kept_aside: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for (staged, target) in &staging.items {
        if exists(target) {
            let aside = with_suffix(target, &format!(".before-restore-{ts}"));
            if exists(&aside) {
                bail!("{}: already exists; not overwritten", aside.display());
            }
            fs::rename(target, &aside).with_context(|| {
                format!("moving {} aside to {}", target.display(), aside.display())
            })?;
            kept_aside.push(aside);
        }
        fs::rename(staged, target)
            .with_context(|| format!("moving {} to {}", staged.display(), target.display()))?;
        if let Some(parent) = target.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// What the restore would replace (only what the backup holds is replaced).
fn data_conflicts(manifest: &Manifest, data: &DataDir) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let files = data.files();
    if manifest
        .files
        .iter()
        .any(|f| f.path.starts_with(&format!("{FILES_DIR}/")))
        && exists(&files)
    {
        out.push(files);
    }
    if manifest.files.iter().any(|f| f.path == AUDIT_KEY) && exists(&data.audit_key) {
        out.push(data.audit_key.clone());
    }
    out
}

fn refuse(conflicts: &[PathBuf], backend: BackendKind) -> anyhow::Error {
    let list: Vec<String> = conflicts.iter().map(|p| p.display().to_string()).collect();
    let aside = match backend {
        BackendKind::Sqlite => "files are moved aside as <name>.before-restore-<timestamp>",
        BackendKind::Postgres => {
            "the database is first saved with pg_dump to <data-dir>/kizuki-before-restore-<timestamp>.pgdump \
             and files are moved aside as <name>.before-restore-<timestamp>"
        }
    };
    anyhow::anyhow!(
        "refusing to replace existing data: {}. Stop `kizuki serve`, then run again with --force: \
         nothing is deleted ({aside})",
        list.join(", ")
    )
}

async fn restore(
    target: &Target,
    backup: &Path,
    data: &DataDir,
    force: bool,
    now: Timestamp,
) -> anyhow::Result<RestoreReport> {
    let report = verify(backup).await?;
    if !report.ok {
        let list: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        bail!(
            "{}: the backup failed verification; nothing was restored:\n  {}",
            backup.display(),
            list.join("\n  ")
        );
    }
    let manifest = report.manifest;
    if manifest.backend != target.kind() {
        bail!(
            "{}: this is a {} backup, but the configured database is {}",
            backup.display(),
            manifest.backend,
            target.kind()
        );
    }
    let ts = stamp(now);
    let Some(db_entry) = manifest
        .files
        .iter()
        .find(|f| f.path == manifest.database)
        .cloned()
    else {
        bail!("{}: the database snapshot is not listed", backup.display());
    };
    let mut kept_aside = Vec::new();
    let mut staging = Staging::default();
    let (files_restored, audit_key_restored) = match target {
        Target::Sqlite { path } => {
            let sidecars: Vec<PathBuf> = ["-wal", "-journal", "-shm"]
                .iter()
                .map(|s| with_suffix(path, s))
                .collect();
            let mut conflicts = Vec::new();
            if exists(path) || sidecars.iter().any(|p| exists(p)) {
                conflicts.push(path.clone());
            }
            conflicts.extend(data_conflicts(&manifest, data));
            if !conflicts.is_empty() && !force {
                return Err(refuse(&conflicts, target.kind()));
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_private_dir_all(parent)?;
            }
            let staged_db = with_suffix(path, &format!(".restoring-{ts}"));
            stage_entry(backup, &db_entry, &staged_db)?;
            staging.items.push((staged_db, path.clone()));
            let staged = stage_data(backup, &manifest, data, &ts, &mut staging);
            let counts = match staged {
                Ok(c) => c,
                Err(e) => {
                    staging.discard();
                    return Err(e);
                }
            };
            // The old database's journal files belong to it: the -wal (committed data not
            // yet in the main file) and -journal go aside with it; -shm is only an index.
            let aside = with_suffix(path, &format!(".before-restore-{ts}"));
            for (side, suffix) in sidecars.iter().zip(["-wal", "-journal", "-shm"]) {
                if !exists(side) {
                    continue;
                }
                if suffix == "-shm" {
                    fs::remove_file(side)
                        .with_context(|| format!("removing {}", side.display()))?;
                    continue;
                }
                let to = with_suffix(&aside, suffix);
                if exists(&to) {
                    bail!("{}: already exists; not overwritten", to.display());
                }
                fs::rename(side, &to).with_context(|| {
                    format!("moving {} aside to {}", side.display(), to.display())
                })?;
                kept_aside.push(to);
            }
            if let Err(e) = swap_in(&staging, &ts, &mut kept_aside) {
                staging.discard();
                return Err(e);
            }
            counts
        }
        Target::Postgres { url } => {
            let tables = pg_table_count(url).await?;
            let mut conflicts = Vec::new();
            if tables > 0 {
                conflicts.push(PathBuf::from(format!(
                    "database {} ({tables} tables)",
                    redact_url(url)
                )));
            }
            conflicts.extend(data_conflicts(&manifest, data));
            if !conflicts.is_empty() && !force {
                return Err(refuse(&conflicts, target.kind()));
            }
            let counts = match stage_data(backup, &manifest, data, &ts, &mut staging) {
                Ok(c) => c,
                Err(e) => {
                    staging.discard();
                    return Err(e);
                }
            };
            if tables > 0 {
                create_private_dir_all(&data.dir)?;
                let safety = data.dir.join(format!("kizuki-before-restore-{ts}.pgdump"));
                if let Err(e) = pg_dump(url, &safety) {
                    staging.discard();
                    return Err(e.context(format!(
                        "saving the current database to {} before replacing it; nothing was restored",
                        safety.display()
                    )));
                }
                kept_aside.push(safety);
            }
            let pg = pg_target(url)?;
            let snapshot = backup.join(&manifest.database);
            let restored = run_pg_tool(
                "pg_restore",
                &[
                    "--clean".as_ref(),
                    "--if-exists".as_ref(),
                    "--no-owner".as_ref(),
                    "--single-transaction".as_ref(),
                    "--exit-on-error".as_ref(),
                    "--no-password".as_ref(),
                    "--dbname".as_ref(),
                    pg.url.as_ref(),
                    snapshot.as_os_str(),
                ],
                &pg,
            );
            if let Err(e) = restored {
                staging.discard();
                return Err(e.context(format!(
                    "restoring {} into {}; the restore ran in one transaction and changed nothing",
                    snapshot.display(),
                    redact_url(url)
                )));
            }
            if let Err(e) = swap_in(&staging, &ts, &mut kept_aside) {
                staging.discard();
                return Err(e);
            }
            counts
        }
    };
    Ok(RestoreReport {
        restored_from: backup.to_path_buf(),
        backend: manifest.backend,
        created_at: manifest.created_at,
        data_dir: data.dir.clone(),
        audit_key: data.audit_key.clone(),
        files_restored,
        audit_key_restored,
        kept_aside,
    })
}

// --- output ----------------------------------------------------------------------------------

fn print_kept_and_deleted(report: &PruneReport, dry_run: bool) {
    for k in &report.kept {
        println!("kept     {}  ({})", k.backup, k.reasons.join(", "));
    }
    let verb = if dry_run { "would delete" } else { "deleted " };
    for d in &report.deleted {
        println!("{verb} {d}");
    }
    for n in &report.notes {
        eprintln!("note: {n}");
    }
    for f in &report.failed {
        eprintln!("error: {f}");
    }
}

fn print_created(json: bool, made: &Created, pruned: &PruneReport) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"backup": made, "retention": pruned})
            )?
        );
        return Ok(());
    }
    for w in &made.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "backup written: {} ({}, {} files, {})",
        made.path.display(),
        made.backend,
        made.files,
        human_bytes(made.bytes)
    );
    print_kept_and_deleted(pruned, false);
    Ok(())
}

fn print_verified(json: bool, report: &VerifyReport) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    if report.ok {
        println!(
            "{}: ok ({} backup of {}, {} files, {}, checksums match; database {})",
            report.backup.display(),
            report.backend,
            report.created_at,
            report.files_checked,
            human_bytes(report.bytes),
            report.database_check
        );
    } else {
        for p in &report.problems {
            eprintln!("{}: {p}", report.backup.display());
        }
        eprintln!(
            "{}: FAILED verification ({} problem{})",
            report.backup.display(),
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

fn print_restored(json: bool, database: &str, report: &RestoreReport) -> anyhow::Result<()> {
    if json {
        let mut value = serde_json::to_value(report)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("database".into(), redact_url(database).into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "restored {} (made {}) into {}",
        report.restored_from.display(),
        report.created_at,
        redact_url(database)
    );
    if report.files_restored > 0 {
        println!(
            "restored {} stored files into {}",
            report.files_restored,
            report.data_dir.join(FILES_DIR).display()
        );
    }
    if report.audit_key_restored {
        println!("restored the audit key to {}", report.audit_key.display());
    }
    for a in &report.kept_aside {
        println!("kept aside: {}", a.display());
    }
    println!("start the server again with `kizuki serve`");
    Ok(())
}

fn print_pruned(json: bool, report: &PruneReport, dry_run: bool) -> anyhow::Result<()> {
    if json {
        let mut value = serde_json::to_value(report)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("dry_run".into(), dry_run.into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print_kept_and_deleted(report, dry_run);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy(daily: u32, weekly: u32, monthly: u32) -> Retention {
        Retention {
            daily,
            weekly,
            monthly,
        }
    }

    fn kept(backups: &[Timestamp], now: Timestamp, p: Retention) -> Vec<String> {
        let plan = retention_plan(backups, now, p);
        backups
            .iter()
            .zip(plan)
            .filter(|(_, k)| !k.is_empty())
            .map(|(t, _)| t.to_string())
            .collect()
    }

    #[test]
    fn names_round_trip_and_others_are_not_backups() {
        let t = at("2026-11-26T09:01:02Z");
        assert_eq!(backup_name(t, 0), "kizuki-20261126T090102Z");
        assert_eq!(backup_name(t, 2), "kizuki-20261126T090102Z-2");
        assert_eq!(parse_backup_name("kizuki-20261126T090102Z"), Some((t, 0)));
        assert_eq!(parse_backup_name("kizuki-20261126T090102Z-2"), Some((t, 2)));
        for bad in [
            "kizuki-20261126T090102Z-0",
            "kizuki-20261126T090102Z-02",
            "kizuki-20261126T090102Z-",
            "kizuki-20261126T090102Zx",
            "kizuki-20261126T090102",
            "kizuki-20261326T090102Z",
            "kizuki-2026112T6090102Z",
            "kizuki-20261126T250102Z",
            ".kizuki-20261126T090102Z-77.incomplete",
            "notes.txt",
            "kizuki-",
        ] {
            assert_eq!(parse_backup_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_later_backup_in_the_same_second_never_reuses_a_pruned_name() {
        // Regression: with `kizuki-T` pruned and `kizuki-T-1` kept, the next backup in second
        // T was named `kizuki-T` again, sorted as older than `-1`, and both were kept.
        let dir = tempfile::tempdir().unwrap();
        let t = at("2026-11-26T09:01:02.700Z");
        fs::create_dir(dir.path().join("kizuki-20261126T090102Z-1")).unwrap();
        fs::create_dir(dir.path().join("kizuki-20261126T090101Z-5")).unwrap();
        let tmp = dir.path().join(".kizuki-x.incomplete");
        fs::create_dir(&tmp).unwrap();
        let (name, path) = publish(&tmp, dir.path(), t).unwrap();
        assert_eq!(name, "kizuki-20261126T090102Z-2");
        assert!(path.is_dir() && !tmp.exists());
        let tmp = dir.path().join(".kizuki-y.incomplete");
        fs::create_dir(&tmp).unwrap();
        let next = at("2026-11-26T09:01:03Z");
        assert_eq!(
            publish(&tmp, dir.path(), next).unwrap().0,
            "kizuki-20261126T090103Z"
        );
    }

    #[test]
    fn daily_keeps_the_newest_of_each_recent_day() {
        let backups: Vec<Timestamp> = [
            "2026-11-20T01:00:00Z",
            "2026-11-24T01:00:00Z",
            "2026-11-24T13:00:00Z",
            "2026-11-25T23:59:59Z",
            "2026-11-26T00:00:00Z",
            "2026-11-26T08:00:00Z",
        ]
        .iter()
        .map(|s| at(s))
        .collect();
        let now = at("2026-11-26T09:00:00Z");
        assert_eq!(
            kept(&backups, now, policy(3, 0, 0)),
            [
                "2026-11-24T13:00:00Z",
                "2026-11-25T23:59:59Z",
                "2026-11-26T08:00:00Z"
            ]
        );
        let plan = retention_plan(&backups, now, policy(3, 0, 0));
        assert_eq!(
            plan.last().unwrap(),
            &[Keep::Newest, Keep::Daily(jiff::civil::date(2026, 11, 26))]
        );
        assert_eq!(plan[3][0].to_string(), "daily 2026-11-25");
    }

    #[test]
    fn the_newest_is_kept_even_with_nothing_to_keep_and_order_does_not_matter() {
        let backups = [
            at("2026-11-26T08:00:00Z"),
            at("2026-11-01T08:00:00Z"),
            at("2026-11-25T08:00:00Z"),
        ];
        let now = at("2026-11-26T08:00:00Z");
        let plan = retention_plan(&backups, now, policy(0, 0, 0));
        assert_eq!(plan, [vec![Keep::Newest], vec![], vec![]]);
        assert!(retention_plan(&[], now, policy(7, 4, 12)).is_empty());
    }

    #[test]
    fn equal_times_keep_the_later_in_the_list() {
        let t = at("2026-11-26T08:00:00Z");
        let plan = retention_plan(&[t, t], t, policy(7, 0, 0));
        assert!(plan[0].is_empty(), "{plan:?}");
        assert_eq!(plan[1].len(), 2);
    }

    #[test]
    fn weeks_are_iso_weeks_across_the_year_end() {
        // 2026-01-01 is a Thursday: ISO week 2026-W01 runs Mon 2025-12-29 to Sun 2026-01-04.
        let backups = [
            at("2025-12-28T10:00:00Z"), // Sunday: 2025-W52
            at("2025-12-29T10:00:00Z"), // Monday: 2026-W01
            at("2026-01-02T10:00:00Z"), // Friday: 2026-W01
            at("2026-01-05T10:00:00Z"), // Monday: 2026-W02
        ];
        let now = at("2026-01-06T00:00:00Z");
        let plan = retention_plan(&backups, now, policy(0, 3, 0));
        assert_eq!(plan[0], [Keep::Weekly(2025, 52)]);
        assert!(plan[1].is_empty(), "older in the same ISO week");
        assert_eq!(plan[2], [Keep::Weekly(2026, 1)]);
        assert_eq!(plan[3], [Keep::Newest, Keep::Weekly(2026, 2)]);
        assert_eq!(plan[2][0].to_string(), "weekly 2026-W01");
        // Two weeks back from W02 reaches only W01.
        let plan = retention_plan(&backups, now, policy(0, 2, 0));
        assert!(plan[0].is_empty());
    }

    #[test]
    fn months_count_back_from_now_across_years() {
        let backups = [
            at("2025-10-31T23:00:00Z"),
            at("2025-11-15T00:00:00Z"),
            at("2025-12-01T00:00:00Z"),
            at("2025-12-31T23:59:59Z"),
            at("2026-01-10T00:00:00Z"),
        ];
        let now = at("2026-02-01T00:00:00Z");
        let plan = retention_plan(&backups, now, policy(0, 0, 3));
        // February (none), January, December: three months from now's own.
        assert_eq!(plan[4], [Keep::Newest, Keep::Monthly(2026, 1)]);
        assert_eq!(plan[3], [Keep::Monthly(2025, 12)]);
        assert!(plan[2].is_empty() && plan[1].is_empty() && plan[0].is_empty());
        assert_eq!(plan[3][0].to_string(), "monthly 2025-12");
    }

    #[test]
    fn a_year_of_hourly_backups_thins_out_to_generations() {
        let start = at("2025-11-26T00:30:00Z");
        let now = at("2026-11-26T12:00:00Z");
        let mut backups = Vec::new();
        let mut t = start;
        while t <= now {
            backups.push(t);
            t = t.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
        }
        let plan = retention_plan(&backups, now, policy(7, 4, 12));
        let keep: Vec<Timestamp> = backups
            .iter()
            .zip(&plan)
            .filter(|(_, k)| !k.is_empty())
            .map(|(t, _)| *t)
            .collect();
        // Seven days (today's newest, six earlier days at 23:30), the ends of three earlier
        // ISO weeks (W47's Sunday is one of the days) and of eleven earlier months.
        assert_eq!(keep.last(), Some(&at("2026-11-26T11:30:00Z")));
        for day in 20..=25 {
            let t = at(&format!("2026-11-{day}T23:30:00Z"));
            assert!(keep.contains(&t), "{t}");
        }
        assert!(!keep.contains(&at("2026-11-19T23:30:00Z")));
        // Sundays that end ISO weeks 45..47 (and W48's Sunday 2026-11-22 is a daily too).
        for sunday in ["2026-11-08", "2026-11-15", "2026-11-22"] {
            assert!(
                keep.contains(&at(&format!("{sunday}T23:30:00Z"))),
                "{sunday}"
            );
        }
        assert!(!keep.contains(&at("2026-11-01T23:30:00Z")));
        for month_end in ["2025-12-31", "2026-06-30", "2026-10-31"] {
            assert!(keep.contains(&at(&format!("{month_end}T23:30:00Z"))));
        }
        assert!(
            !keep.contains(&at("2025-11-30T23:30:00Z")),
            "13 months back"
        );
        assert_eq!(keep.len(), 7 + 2 + 11, "{keep:?}");
    }

    #[test]
    fn windows_count_back_from_now_and_future_backups_are_never_judged() {
        let backups = [
            at("2026-10-01T00:00:00Z"),
            at("2026-10-02T00:00:00Z"),
            at("2027-01-01T00:00:00Z"),
        ];
        let now = at("2026-11-26T00:00:00Z");
        let plan = retention_plan(&backups, now, policy(7, 4, 0));
        // Backups stopped eight weeks ago: only the newest of them survives.
        assert!(plan[0].is_empty());
        assert_eq!(plan[1], [Keep::Newest]);
        assert_eq!(plan[2], [Keep::Future]);
    }

    fn manifest(files: &[(&str, u64, &str)]) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            kizuki_version: "0.1.0".into(),
            backend: BackendKind::Sqlite,
            created_at: at("2026-11-26T09:01:02Z"),
            database: SQLITE_SNAPSHOT.into(),
            files: files
                .iter()
                .map(|(p, size, sha)| FileEntry {
                    path: (*p).into(),
                    size: *size,
                    sha256: (*sha).into(),
                })
                .collect(),
        }
    }

    fn file(size: u64, sha: &str) -> Found {
        Found::File {
            size,
            sha256: sha.into(),
        }
    }

    #[test]
    fn compare_names_missing_extra_and_changed_files() {
        let m = manifest(&[
            ("audit.key", 32, "aa"),
            ("database.sqlite", 4096, "bb"),
            ("files/a.pdf", 10, "cc"),
            ("files/b.pdf", 10, "dd"),
            ("files/c.pdf", 10, "ee"),
        ]);
        let mut found = BTreeMap::from([
            ("audit.key".to_owned(), file(32, "AA")),
            ("database.sqlite".to_owned(), file(4096, "bb")),
            ("files/a.pdf".to_owned(), file(10, "cc")),
            ("files/b.pdf".to_owned(), file(10, "dd")),
            ("files/c.pdf".to_owned(), file(10, "ee")),
        ]);
        assert!(compare(&m, &found).is_empty(), "{:?}", compare(&m, &found));
        found.insert("files/b.pdf".into(), file(10, "d0"));
        found.insert("files/c.pdf".into(), file(11, "ee"));
        found.insert("files/z.exe".into(), file(1, "ff"));
        found.insert("files/link".into(), Found::Other("symbolic link"));
        found.remove("files/a.pdf");
        let problems = compare(&m, &found);
        let summary: Vec<(&str, ProblemKind)> =
            problems.iter().map(|p| (p.file.as_str(), p.kind)).collect();
        assert_eq!(
            summary,
            [
                ("files/a.pdf", ProblemKind::Missing),
                ("files/b.pdf", ProblemKind::Changed),
                ("files/c.pdf", ProblemKind::Changed),
                ("files/link", ProblemKind::Extra),
                ("files/z.exe", ProblemKind::Extra),
            ]
        );
        assert_eq!(
            problems[0].to_string(),
            "files/a.pdf: missing (listed in manifest.json)"
        );
        assert!(problems[1].detail.contains("d0"), "{}", problems[1]);
        assert!(problems[2].detail.contains("11 bytes"), "{}", problems[2]);
    }

    #[test]
    fn manifest_paths_cannot_escape_the_backup() {
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "files/../../x",
            "files//x",
            "./x",
            "",
            "files\\x",
        ] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
        assert!(is_safe_relative("files/2026/report.pdf"));
        let m = manifest(&[("database.sqlite", 1, "a"), ("../x", 1, "b")]);
        let found = BTreeMap::from([("database.sqlite".to_owned(), file(1, "a"))]);
        let problems = compare(&m, &found);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, ProblemKind::UnsafePath);
        let m = manifest(&[("files/a", 1, "a")]);
        let found = BTreeMap::from([("files/a".to_owned(), file(1, "a"))]);
        assert_eq!(
            compare(&m, &found)[0].to_string(),
            "database.sqlite: the database snapshot is not listed in manifest.json"
        );
    }

    #[test]
    fn manifest_json_round_trips() {
        let m = manifest(&[("database.sqlite", 4096, "bb")]);
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains(r#""backend":"sqlite""#), "{text}");
        assert!(
            text.contains(r#""created_at":"2026-11-26T09:01:02Z""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    }

    #[test]
    fn passwords_leave_the_url_for_pgpassword() {
        let t = pg_target("postgres://kizuki:s%40cr%3At@db:5432/k?sslmode=disable").unwrap();
        assert_eq!(t.url, "postgres://kizuki@db:5432/k?sslmode=disable");
        assert_eq!(t.password.as_deref(), Some("s@cr:t"));
        let t = pg_target(
            "postgresql://kizuki@db/k?password=p%26w&statement-cache-capacity=10&application_name=x",
        )
        .unwrap();
        assert_eq!(t.url, "postgresql://kizuki@db/k?application_name=x");
        assert_eq!(t.password.as_deref(), Some("p&w"));
        let t = pg_target("postgres://postgres@127.0.0.1:5432/kizuki").unwrap();
        assert_eq!(t.url, "postgres://postgres@127.0.0.1:5432/kizuki");
        assert_eq!(t.password, None);
        let t = pg_target("postgres://localhost/kizuki").unwrap();
        assert_eq!(t.url, "postgres://localhost/kizuki");
    }

    #[test]
    fn database_urls_name_their_files() {
        let Target::Sqlite { path } = Target::from_url("sqlite://data/kizuki.db").unwrap() else {
            panic!("not sqlite");
        };
        assert_eq!(path, Path::new("data/kizuki.db"));
        assert_eq!(
            Target::from_url("sqlite://data/kizuki.db")
                .unwrap()
                .default_data_dir(),
            Path::new("data")
        );
        assert_eq!(
            Target::from_url("sqlite://k.db")
                .unwrap()
                .default_data_dir(),
            Path::new(".")
        );
        assert_eq!(
            Target::from_url("postgres://u:p@h/d")
                .unwrap()
                .default_data_dir(),
            Path::new("data")
        );
        assert!(Target::from_url("sqlite::memory:").is_err());
        let err = Target::from_url("mysql://root:hunter2@db/k")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn sizes_read_like_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}

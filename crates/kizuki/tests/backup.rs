//! `kizuki backup` as an administrator uses it: real processes, real files, a real server
//! writing while the backup is taken, and (when `KIZUKI_TEST_POSTGRES_URL` is set) a real
//! PostgreSQL with pg_dump and pg_restore.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{failed, ok};

/// A database URL and the folder the CLI runs in (relative defaults such as PostgreSQL's
/// `data/audit.key` resolve there, never in the repository).
#[derive(Clone)]
struct Db {
    url: String,
    cwd: PathBuf,
}

fn kizuki(db: &Db, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kizuki"))
        .current_dir(&db.cwd)
        .arg("--database")
        .arg(&db.url)
        .args(args)
        .env_remove("KIZUKI_CONFIG")
        .env_remove("KIZUKI_DATABASE_URL")
        .env("KIZUKI_LOG", "warn")
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

fn sqlite(path: &Path) -> Db {
    let cwd = path.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&cwd).unwrap();
    Db {
        url: format!("sqlite://{}", path.display()),
        cwd,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An incident with two timeline entries; returns its id.
fn seed(db: &Db, title: &str) -> String {
    let inc = json(&kizuki(
        db,
        &[
            "--json",
            "incident",
            "create",
            "--title",
            title,
            "--category",
            "ransomware",
            "--summary",
            "File servers encrypted; 身代金要求",
            "--start-date",
            "2026-01-05",
        ],
    ));
    let id = inc["id"].as_i64().unwrap().to_string();
    add_entry(db, &id, "Branches unplugged by phone");
    add_entry(db, &id, "Backups checked: the generational tapes are clean");
    id
}

fn add_entry(db: &Db, id: &str, text: &str) {
    ok(&kizuki(
        db,
        &[
            "timeline",
            "add",
            "--incident",
            id,
            "--lane",
            "it_business",
            "--kind",
            "containment",
            "--text",
            text,
            "--day",
            "7",
            "--time",
            "08:30",
        ],
    ));
}

/// What the database holds, as the CLI shows it (minus the export's own time stamp).
fn state(db: &Db, id: &str) -> (Value, Value) {
    let mut export = json(&kizuki(db, &["export", "incident", id]));
    export.as_object_mut().unwrap().remove("exported_at");
    let list = json(&kizuki(db, &["--json", "incident", "list"]));
    (export, list)
}

fn put_stored_files(data_dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = vec![
        (
            data_dir.join("files/evidence/ransom-note.txt"),
            "YOUR FILES ARE ENCRYPTED\n連絡先: none\n"
                .as_bytes()
                .to_vec(),
        ),
        (
            data_dir.join("files/report.bin"),
            (0..=255u8).cycle().take(70_000).collect(),
        ),
    ];
    for (path, bytes) in &files {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    // The audit key: made by the CLI on first use (64 hex digits); made here if it was not.
    let key = data_dir.join("audit.key");
    if !key.exists() {
        std::fs::write(&key, format!("{}\n", "5a".repeat(32))).unwrap();
    }
    let bytes = std::fs::read(&key).unwrap();
    files.push((key, bytes));
    files
}

fn remove_sqlite(db_file: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db_file.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Creates a backup and returns its folder.
fn create_backup(db: &Db, to: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["--json", "backup", "create", "--to", s(to)];
    args.extend_from_slice(extra);
    let out = json(&kizuki(db, &args));
    PathBuf::from(out["backup"]["path"].as_str().unwrap())
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn backup_wipe_restore_gives_back_identical_data() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("k.db");
    let db = sqlite(&db_file);
    let id = seed(&db, "Ransomware at the branches");
    let stored = put_stored_files(dir.path());
    let before = state(&db, &id);

    let out = ok(&kizuki(
        &db,
        &["backup", "create", "--to", s(backups.path())],
    ));
    assert!(out.contains("backup written:"), "{out}");
    let names = entries(backups.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("kizuki-") && names[0].ends_with('Z'));
    let backup = backups.path().join(&names[0]);

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(backup.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["backend"], "sqlite");
    assert_eq!(manifest["kizuki_version"], env!("CARGO_PKG_VERSION"));
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "audit.key",
            "database.sqlite",
            "files/evidence/ransom-note.txt",
            "files/report.bin"
        ]
    );
    assert_eq!(manifest["files"][3]["size"], 70_000);
    assert_eq!(manifest["files"][0]["sha256"].as_str().unwrap().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&backup), 0o700);
        assert_eq!(mode(&backup.join("audit.key")), 0o600);
        assert_eq!(mode(&backup.join("database.sqlite")), 0o600);
    }

    let verified = ok(&kizuki(&db, &["backup", "verify", s(&backup)]));
    assert!(
        verified.contains(": ok") && verified.contains("integrity_check"),
        "{verified}"
    );

    // Ransomware: the database and the stored files are gone.
    remove_sqlite(&db_file);
    std::fs::remove_dir_all(dir.path().join("files")).unwrap();
    std::fs::remove_file(dir.path().join("audit.key")).unwrap();

    let restored = ok(&kizuki(&db, &["backup", "restore", s(&backup)]));
    assert!(restored.contains("restored"), "{restored}");
    assert!(
        !restored.contains("kept aside"),
        "nothing was replaced: {restored}"
    );
    assert_eq!(state(&db, &id), before);
    for (path, bytes) in &stored {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    // Restoring neither changed nor added to the backup.
    ok(&kizuki(&db, &["backup", "verify", s(&backup)]));
}

struct Server {
    child: Child,
}

impl Server {
    fn start(db: &Db) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kizuki"))
            .current_dir(&db.cwd)
            .args(["--database", &db.url, "serve", "--listen", "127.0.0.1:0"])
            .env_remove("KIZUKI_CONFIG")
            .env("KIZUKI_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().unwrap().unwrap();
            if line.starts_with("Kizuki listening on ") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Self { child }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_online_backup_while_writers_append_passes_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("k.db");
    let db = sqlite(&db_file);
    let id = seed(&db, "Writes during the backup");
    // The server holds the database open in WAL mode, as in production.
    let _server = Server::start(&db);

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (stop, written, db, id) = (
                Arc::clone(&stop),
                Arc::clone(&written),
                db.clone(),
                id.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    add_entry(
                        &db,
                        &id,
                        &format!("writer {w} entry {n}: {}", "x".repeat(2000)),
                    );
                    written.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();

    let mut snapshots = Vec::new();
    for _ in 0..4 {
        let before = written.load(Ordering::Relaxed);
        let backup = create_backup(&db, backups.path(), &[]);
        let report = json(&kizuki(&db, &["--json", "backup", "verify", s(&backup)]));
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["database_check"], "ok (PRAGMA integrity_check)");
        // Keep a copy: retention keeps only the newest backup of today.
        let copy = dir.path().join(format!("copy-{}", snapshots.len()));
        copy_dir(&backup, &copy);
        snapshots.push((copy, before));
        while written.load(Ordering::Relaxed) < before + 3 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let left = entries(backups.path());
    assert_eq!(
        left.len(),
        1,
        "only the newest of the day is kept: {left:?}"
    );
    let total = written.load(Ordering::Relaxed);

    // Each snapshot restores to a working database with a consistent prefix of the writes.
    let mut previous = 0;
    for (i, (copy, written_before)) in snapshots.iter().enumerate() {
        ok(&kizuki(&db, &["backup", "verify", s(copy)]));
        let target = dir.path().join(format!("restored-{i}/k.db"));
        let target_db = sqlite(&target);
        ok(&kizuki(&target_db, &["backup", "restore", s(copy)]));
        let shown = json(&kizuki(&target_db, &["--json", "incident", "show", &id]));
        let count = shown["timeline"].as_array().unwrap().len();
        assert!(
            count >= 2 + written_before && count <= 2 + total,
            "snapshot {i}: {count} entries, {written_before} written before, {total} in all"
        );
        assert!(count >= previous, "snapshots only grow");
        previous = count;
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn verify_names_a_changed_byte_a_missing_file_and_an_extra_file() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let db = sqlite(&dir.path().join("k.db"));
    seed(&db, "Tampered backup");
    put_stored_files(dir.path());
    let backup = create_backup(&db, backups.path(), &[]);
    ok(&kizuki(&db, &["backup", "verify", s(&backup)]));

    let pristine = dir.path().join("pristine");
    copy_dir(&backup, &pristine);

    let changed = backup.join("files/report.bin");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[40_000] ^= 0x01;
    std::fs::write(&changed, bytes).unwrap();
    std::fs::remove_file(backup.join("files/evidence/ransom-note.txt")).unwrap();
    std::fs::write(backup.join("files/evidence/readme.txt"), "pay here").unwrap();

    let err = failed(&kizuki(&db, &["backup", "verify", s(&backup)]));
    assert!(
        err.contains("files/report.bin: changed: SHA-256"),
        "changed byte: {err}"
    );
    assert!(
        err.contains("files/evidence/ransom-note.txt: missing"),
        "missing file: {err}"
    );
    assert!(
        err.contains("files/evidence/readme.txt: extra file"),
        "extra file: {err}"
    );
    assert!(err.contains("3 problems"), "{err}");

    let out = kizuki(&db, &["--json", "backup", "verify", s(&backup)]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let kinds: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_owned(),
                p["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("files/evidence/ransom-note.txt".into(), "missing".into()),
            ("files/evidence/readme.txt".into(), "extra".into()),
            ("files/report.bin".into(), "changed".into()),
        ]
    );

    // A damaged backup is never restored.
    let target = sqlite(&dir.path().join("elsewhere/k.db"));
    let err = failed(&kizuki(&target, &["backup", "restore", s(&backup)]));
    assert!(
        err.contains("failed verification") && err.contains("files/report.bin"),
        "{err}"
    );
    assert!(!dir.path().join("elsewhere/k.db").exists());

    // A snapshot whose checksum was updated to match garbage fails the database check.
    let snapshot = pristine.join("database.sqlite");
    std::fs::write(&snapshot, vec![0x42u8; 8192]).unwrap();
    let manifest_path = pristine.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == "database.sqlite" {
            f["size"] = 8192.into();
            f["sha256"] = sha256_hex(&std::fs::read(&snapshot).unwrap()).into();
        }
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let err = failed(&kizuki(&db, &["backup", "verify", s(&pristine)]));
    assert!(
        err.contains("database.sqlite:") && !err.contains("changed"),
        "{err}"
    );
    assert!(err.contains("1 problem"), "{err}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn restore_refuses_to_overwrite_without_force_and_keeps_the_old_database_aside() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("k.db");
    let db = sqlite(&db_file);
    let id = seed(&db, "Before the backup");
    put_stored_files(dir.path());
    let before = state(&db, &id);
    let backup = create_backup(&db, backups.path(), &[]);

    seed(&db, "After the backup");
    std::fs::write(dir.path().join("files/new-after-backup.txt"), "new").unwrap();
    let count = |db: &Db| {
        json(&kizuki(db, &["--json", "incident", "list"]))
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(&db), 2);

    let err = failed(&kizuki(&db, &["backup", "restore", s(&backup)]));
    assert!(
        err.contains("--force") && err.contains(s(&db_file)),
        "{err}"
    );
    assert_eq!(count(&db), 2, "nothing changed");

    let out = json(&kizuki(
        &db,
        &["--json", "backup", "restore", "--force", s(&backup)],
    ));
    assert_eq!(state(&db, &id), before);
    assert_eq!(count(&db), 1);
    assert!(!dir.path().join("files/new-after-backup.txt").exists());

    let aside: Vec<String> = out["kept_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let names = entries(dir.path());
    let old_db = names
        .iter()
        .find(|n| n.starts_with("k.db.before-restore-") && !n.contains("-wal"))
        .unwrap_or_else(|| panic!("no old database kept aside: {names:?}"));
    assert!(
        aside.iter().any(|a| a.ends_with(old_db.as_str())),
        "{aside:?}"
    );
    let old_files = names
        .iter()
        .find(|n| n.starts_with("files.before-restore-"))
        .unwrap_or_else(|| panic!("no old files kept aside: {names:?}"));
    assert!(
        dir.path()
            .join(old_files)
            .join("new-after-backup.txt")
            .exists()
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("audit.key.before-restore-"))
    );
    // The old database, with its WAL, still holds both incidents.
    assert_eq!(count(&sqlite(&dir.path().join(old_db))), 2);
}

#[test]
fn prune_keeps_generations_and_leaves_other_folders_alone() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let db = sqlite(&dir.path().join("k.db"));
    seed(&db, "Generations");
    let newest = create_backup(&db, backups.path(), &[]);
    let name = newest.file_name().unwrap().to_str().unwrap().to_owned();
    let stamp = name.strip_prefix("kizuki-").unwrap();
    let made = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", stamp).unwrap();
    let made = jiff::tz::TimeZone::UTC.to_timestamp(made).unwrap();
    let older = |days: i64| {
        let at = made
            .checked_sub(jiff::SignedDuration::from_hours(24 * days))
            .unwrap();
        format!("kizuki-{}", at.strftime("%Y%m%dT%H%M%SZ"))
    };
    for days in [1, 2, 30, 400] {
        copy_dir(&newest, &backups.path().join(older(days)));
    }
    std::fs::create_dir(backups.path().join(".kizuki-20200101T000000Z-1.incomplete")).unwrap();
    std::fs::create_dir(backups.path().join("kizuki-19990101T000000Z")).unwrap();
    std::fs::create_dir(backups.path().join("holiday-photos")).unwrap();
    let retention = ["--keep-daily", "7", "--keep-weekly", "0"];

    let mut args = vec!["--json", "backup", "prune", "--dir", s(backups.path())];
    args.extend(retention);
    args.push("--dry-run");
    let plan = json(&kizuki(&db, &args));
    let mut deleted: Vec<&str> = plan["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    deleted.sort();
    let mut expected = [older(400), older(30)];
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(plan["kept"][0]["backup"], name.as_str());
    assert_eq!(plan["kept"][0]["reasons"][0], "newest");
    assert_eq!(
        entries(backups.path()).len(),
        8,
        "a dry run deletes nothing"
    );

    let mut args = vec!["backup", "prune", "--dir", s(backups.path())];
    args.extend(retention);
    let out = kizuki(&db, &args);
    let text = ok(&out);
    assert!(text.contains(&format!("deleted  {}", older(30))), "{text}");
    let notes = String::from_utf8(out.stderr).unwrap();
    assert!(notes.contains("unfinished backup"), "{notes}");
    assert!(
        notes.contains("kizuki-19990101T000000Z: no manifest.json"),
        "{notes}"
    );
    let mut expected = vec![
        ".kizuki-20200101T000000Z-1.incomplete".to_owned(),
        "holiday-photos".to_owned(),
        "kizuki-19990101T000000Z".to_owned(),
        older(2),
        older(1),
        name.clone(),
    ];
    expected.sort();
    assert_eq!(entries(backups.path()), expected);

    // Creating applies retention too, but never to the backup just made.
    let latest = create_backup(
        &db,
        backups.path(),
        &["--keep-daily", "0", "--keep-weekly", "0"],
    );
    let left: Vec<String> = entries(backups.path())
        .into_iter()
        .filter(|n| n.starts_with("kizuki-2"))
        .collect();
    assert_eq!(
        left,
        [latest.file_name().unwrap().to_str().unwrap().to_owned()]
    );
}

#[test]
fn help_says_to_stop_the_server_before_restoring() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(&dir.path().join("unused.db"));
    let out = ok(&kizuki(&db, &["backup", "restore", "--help"]));
    assert!(out.contains("Stop `kizuki serve`"), "{out}");
    assert!(out.contains("--force"), "{out}");
    let out = ok(&kizuki(&db, &["backup", "--help"]));
    for cmd in ["create", "verify", "restore", "prune"] {
        assert!(out.contains(cmd), "{out}");
    }
    assert!(!dir.path().join("unused.db").exists(), "help opens nothing");
}

// --- PostgreSQL ------------------------------------------------------------------------------

fn postgres_admin_url() -> Option<String> {
    let Ok(admin) = std::env::var("KIZUKI_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KIZUKI_TEST_POSTGRES_URL is not set under CI: the PostgreSQL backup test did not run"
        );
        eprintln!(
            "SKIPPED: set KIZUKI_TEST_POSTGRES_URL to run the PostgreSQL backup test (.ci/run does)"
        );
        return None;
    };
    Some(admin)
}

#[test]
fn postgres_backup_drop_restore_gives_back_the_same_export() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let new_db = |cwd: &Path| Db {
        url: rt
            .block_on(kizuki_store_postgres::create_test_database(&admin))
            .unwrap(),
        cwd: cwd.to_path_buf(),
    };
    // Each database has its own working folder: its data directory is the default `data`.
    let (work, work2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pg = new_db(work.path());
    let fresh = new_db(work2.path());
    let backups = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let id = seed(&pg, "Ransomware on PostgreSQL");
    let stored = put_stored_files(&data);
    let before = state(&pg, &id);

    let backup = create_backup(&pg, backups.path(), &[]);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(backup.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["backend"], "postgres");
    assert_eq!(manifest["database"], "database.pgdump");
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "audit.key"),
        "{manifest}"
    );
    let report = json(&kizuki(&pg, &["--json", "backup", "verify", s(&backup)]));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["database_check"], "ok (pg_restore --list)");

    // Into an empty database: no --force needed; the files and the audit key come along.
    ok(&kizuki(&fresh, &["backup", "restore", s(&backup)]));
    assert_eq!(state(&fresh, &id), before);
    for (path, bytes) in &stored {
        let rel = path.strip_prefix(&data).unwrap();
        let restored = work2.path().join("data").join(rel);
        assert_eq!(
            &std::fs::read(&restored).unwrap(),
            bytes,
            "{}",
            rel.display()
        );
    }

    // Over changed data: refused without --force; with it, the old database is dumped first.
    seed(&pg, "Written after the backup");
    let err = failed(&kizuki(&pg, &["backup", "restore", s(&backup)]));
    assert!(err.contains("--force") && err.contains("tables"), "{err}");
    ok(&kizuki(&pg, &["backup", "restore", "--force", s(&backup)]));
    assert_eq!(state(&pg, &id), before);
    let names = entries(&data);
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("kizuki-before-restore-") && n.ends_with(".pgdump")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("files.before-restore-")));

    for db in [&pg, &fresh] {
        rt.block_on(kizuki_store_postgres::drop_test_database(&admin, &db.url))
            .unwrap();
    }
}

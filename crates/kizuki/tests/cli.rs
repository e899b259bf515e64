//! The `kizuki` binary as an administrator uses it: real processes, a real SQLite file,
//! a real server on a loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{failed, kizuki, ok};

/// Runs the binary with `input` on standard input (a pipe, not a terminal).
fn kizuki_with_stdin(db: &str, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kizuki"))
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("KIZUKI_CONFIG")
        .env_remove("KIZUKI_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/kizuki.db").display());
    (dir, url)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn administrator_flow_from_user_to_export() {
    let (dir, db) = temp_db();
    ok(&kizuki(&db, &["db", "migrate"]));
    let created = ok(&kizuki(
        &db,
        &[
            "user",
            "create",
            "--email",
            "Lead@Example.JP",
            "--role",
            "incident_commander",
            "--enrolment-link",
        ],
    ));
    assert!(created.contains("lead@example.jp"), "{created}");
    let err = failed(&kizuki(
        &db,
        &[
            "user",
            "create",
            "--email",
            "lead@example.jp",
            "--role",
            "responder",
            "--enrolment-link",
        ],
    ));
    assert!(err.contains("already exists"), "{err}");
    let err = failed(&kizuki(
        &db,
        &["user", "create", "--email", "x@example.jp", "--role", "god"],
    ));
    assert!(err.contains("role"), "{err}");

    let token_out = ok(&kizuki(
        &db,
        &["token", "create", "--user", "lead@example.jp"],
    ));
    let token = token_out.lines().last().unwrap();
    assert!(token.starts_with("kzk_") && token.len() > 40, "{token_out}");
    let err = failed(&kizuki(
        &db,
        &["token", "create", "--user", "nobody@example.jp"],
    ));
    assert!(err.contains("no user"), "{err}");

    let inc: Value = serde_json::from_str(&ok(&kizuki(
        &db,
        &[
            "--json",
            "incident",
            "create",
            "--title",
            "Ransomware at branches",
            "--category",
            "ransomware",
            "--start-date",
            "2026-06-02",
        ],
    )))
    .unwrap();
    let id = inc["id"].as_i64().unwrap().to_string();
    let err = failed(&kizuki(
        &db,
        &["incident", "create", "--title", "x", "--category", "worm"],
    ));
    assert!(err.contains("category") || err.contains("worm"), "{err}");

    let added = ok(&kizuki(
        &db,
        &[
            "timeline",
            "add",
            "--incident",
            &id,
            "--lane",
            "it_business",
            "--kind",
            "containment",
            "--text",
            "Branches unplugged by phone",
            "--day",
            "7",
            "--time",
            "08:30",
        ],
    ));
    assert!(added.contains("7日目 8:30"), "{added}");
    let err = failed(&kizuki(
        &db,
        &[
            "timeline",
            "add",
            "--incident",
            &id,
            "--lane",
            "it_business",
            "--kind",
            "containment",
            "--text",
            "x",
            "--day",
            "1",
            "--time",
            "8h",
        ],
    ));
    assert!(err.contains("time_of_day"), "{err}");

    let list: Value = serde_json::from_str(&ok(&kizuki(
        &db,
        &["--json", "incident", "list", "--category", "ransomware"],
    )))
    .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let shown = ok(&kizuki(&db, &["incident", "show", &id]));
    assert!(
        shown.contains("Branches unplugged by phone") && shown.contains("7日目 8:30"),
        "{shown}"
    );

    let export_path = dir.path().join("export.json");
    ok(&kizuki(
        &db,
        &[
            "export",
            "incident",
            &id,
            "--output",
            export_path.to_str().unwrap(),
        ],
    ));
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(&export_path).unwrap()).unwrap();
    assert_eq!(export["incident"]["title"], "Ransomware at branches");
    assert_eq!(export["timeline"][0]["day_label"], "7日目 8:30");
    let err = failed(&kizuki(&db, &["export", "incident", "999"]));
    assert!(err.contains("999"), "{err}");

    // What the operator did from the shell is in the audit log too, and the chain holds.
    let verified: Value =
        serde_json::from_str(&ok(&kizuki(&db, &["--json", "audit", "verify"]))).unwrap();
    assert_eq!(verified["intact"], true, "{verified}");
    assert!(verified["records"].as_u64().unwrap() >= 4, "{verified}");
}

#[test]
fn playbook_validate_names_file_line_and_field() {
    let (dir, db) = temp_db();
    let good = workspace_root().join("playbooks/ransomware.yml");
    let out = ok(&kizuki(
        &db,
        &["playbook", "validate", good.to_str().unwrap()],
    ));
    assert!(out.contains("ok"), "{out}");

    let text = std::fs::read_to_string(&good).unwrap();
    let (line_no, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("lane:"))
        .unwrap();
    let broken_text = text.replacen(line, &line.replace(line.trim_start(), "lane: marketing"), 1);
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, broken_text).unwrap();
    let err = failed(&kizuki(
        &db,
        &["playbook", "validate", broken.to_str().unwrap()],
    ));
    assert!(
        err.contains(&format!("broken.yml:{}", line_no + 1)),
        "{err}"
    );
    assert!(err.contains("lane") && err.contains("marketing"), "{err}");

    let list = ok(&kizuki(&db, &["playbook", "list"]));
    for id in [
        "ransomware",
        "web_defacement",
        "targeted_email",
        "cloud_exposure",
        "crypto_mining",
        "data_leak",
    ] {
        assert!(list.contains(id), "{id} missing from:\n{list}");
    }
}

#[test]
fn a_database_url_of_unknown_kind_is_refused_clearly() {
    let err = failed(&kizuki(
        "mysql://root:hunter2@db/kizuki",
        &["db", "migrate"],
    ));
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "password leaked: {err}");
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(db: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kizuki"))
            .args(["--database", db, "serve", "--listen", "127.0.0.1:0"])
            .env("KIZUKI_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().unwrap().unwrap();
            if let Some(rest) = line.strip_prefix("Kizuki listening on http://") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(req.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn serve_answers_health_and_the_api_with_a_token_and_stops_cleanly() {
    let (_dir, db) = temp_db();
    ok(&kizuki(
        &db,
        &[
            "user",
            "create",
            "--email",
            "r@example.jp",
            "--role",
            "responder",
            "--enrolment-link",
        ],
    ));
    let token_out = ok(&kizuki(&db, &["token", "create", "--user", "r@example.jp"]));
    let token = token_out.lines().last().unwrap().to_owned();

    let server = Server::start(&db);
    let (status, body) = server.request("GET", "/healthz", None, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("sqlite"));
    let (status, _) = server.request("GET", "/api/v1/incidents", None, None);
    assert_eq!(status, 401);
    let (status, body) = server.request(
        "POST",
        "/api/v1/incidents",
        Some(&token),
        Some(r#"{"title":"Suspicious login from abroad","category":"unauthorised_access"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.request("GET", "/api/v1/incidents", Some(&token), None);
    assert_eq!(status, 200);
    assert!(body.contains("Suspicious login from abroad"));
    let (status, body) = server.request("GET", "/api/openapi.json", None, None);
    assert_eq!(status, 200);
    assert!(body.contains("\"openapi\":\"3.1"));
    assert!(server.stop().success(), "SIGTERM leads to a clean exit");
    // Regression: the store is closed on shutdown, so SQLite checkpoints and removes its WAL
    // (it once grew to 2.8 GB across restarts).
    let db_file = db.strip_prefix("sqlite://").unwrap();
    assert!(std::path::Path::new(db_file).exists());
    assert!(
        !std::path::Path::new(&format!("{db_file}-wal")).exists(),
        "WAL left behind"
    );
}

#[test]
fn hunt_findings_attach_to_an_incident_and_correlate() {
    let (dir, db) = temp_db();
    let first: Value = serde_json::from_str(&ok(&kizuki(
        &db,
        &[
            "--json",
            "incident",
            "create",
            "--title",
            "Password spraying on the file server",
            "--category",
            "unauthorised_access",
        ],
    )))
    .unwrap();
    let id = first["id"].as_i64().unwrap().to_string();
    let rule = dir.path().join("failed-logon.yml");
    std::fs::write(
        &rule,
        "title: Failed logon\nid: 0f7c1a52-2f36-4c8e-9b55-6a1a3c0b7e11\nlevel: low\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n",
    )
    .unwrap();
    let ioc = dir.path().join("ioc.txt");
    std::fs::write(&ioc, "account:DESKTOP-M5SN04R\n").unwrap();
    let evtx = workspace_root()
        .join("../shared/data/evtx/DeepBlueCLI/smb-password-guessing-security.evtx");
    let out = dir.path().join("hits.jsonl");
    ok(&kizuki(
        &db,
        &[
            "hunt",
            "--rules",
            rule.to_str().unwrap(),
            "--ioc",
            ioc.to_str().unwrap(),
            "--no-progress",
            "--output",
            out.to_str().unwrap(),
            "--incident",
            &id,
            evtx.to_str().unwrap(),
        ],
    ));
    assert!(
        std::fs::read_to_string(&out).unwrap().lines().count() > 10,
        "hits were written"
    );
    let export: Value =
        serde_json::from_str(&ok(&kizuki(&db, &["--json", "incident", "show", &id]))).unwrap();
    let timeline = export["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|e| e["source"] == "import"
            && e["lane"] == "ciso_csirt"
            && e["text"].as_str().unwrap().contains("Failed logon")),
        "{timeline:?}"
    );
    let observables = export["observables"].as_array().unwrap();
    assert!(
        observables
            .iter()
            .any(|o| o["kind"] == "account" && o["normalized"] == "desktop-m5sn04r"),
        "{observables:?}"
    );

    // Naming an incident that does not exist fails before any scanning.
    let err = failed(&kizuki(
        &db,
        &[
            "hunt",
            "--rules",
            rule.to_str().unwrap(),
            "--no-progress",
            "--output",
            out.to_str().unwrap(),
            "--incident",
            "999",
            evtx.to_str().unwrap(),
        ],
    ));
    assert!(err.contains("999"), "{err}");
}

const STRONG: &str = "tidal-persimmon-orchestra-4417";

fn login_body(email: &str, password: &str) -> String {
    serde_json::json!({ "email": email, "password": password }).to_string()
}

#[test]
fn first_administrator_gets_a_password_from_stdin_never_a_default() {
    let (_dir, db) = temp_db();
    // A weak password is refused with the reason, and nothing is created.
    let err = failed(&kizuki_with_stdin(
        &db,
        &[
            "user",
            "create",
            "--email",
            "boss@example.jp",
            "--role",
            "admin",
        ],
        "password1234\n",
    ));
    assert!(err.contains("nothing was created"), "{err}");
    let users: Value =
        serde_json::from_str(&ok(&kizuki(&db, &["--json", "user", "list"]))).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 0, "{users}");
    let err = failed(&kizuki_with_stdin(
        &db,
        &[
            "user",
            "create",
            "--email",
            "boss@example.jp",
            "--role",
            "admin",
        ],
        "short\n",
    ));
    assert!(err.contains("at least 12"), "{err}");

    ok(&kizuki_with_stdin(
        &db,
        &[
            "user",
            "create",
            "--email",
            "boss@example.jp",
            "--role",
            "admin",
        ],
        &format!("{STRONG}\n"),
    ));
    // An enrolment link instead of a password: printed once, last line.
    let out = ok(&kizuki(
        &db,
        &[
            "user",
            "create",
            "--email",
            "new@example.jp",
            "--role",
            "responder",
            "--enrolment-link",
        ],
    ));
    let link = out.lines().last().unwrap();
    assert!(link.starts_with("kze_") && link.len() > 40, "{out}");

    let server = Server::start(&db);
    let (status, body) = server.request(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&login_body("boss@example.jp", STRONG)),
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    // Admins must enrol a second factor before anything else.
    assert_eq!(answer["mfa_enrolment_required"], true, "{body}");
    // The enrolment link sets a password once.
    let enrol = serde_json::json!({ "token": link, "password": STRONG }).to_string();
    let (status, body) = server.request("POST", "/api/v1/auth/enrol", None, Some(&enrol));
    assert_eq!(status, 204, "{body}");
    let (status, _) = server.request("POST", "/api/v1/auth/enrol", None, Some(&enrol));
    assert_eq!(status, 404, "a used link must not work twice");
    let (status, body) = server.request(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&login_body("new@example.jp", STRONG)),
    );
    assert_eq!(status, 200, "{body}");
    server.stop();
}

#[test]
fn a_locked_account_stays_locked_after_a_restart() {
    let (_dir, db) = temp_db();
    ok(&kizuki_with_stdin(
        &db,
        &[
            "user",
            "create",
            "--email",
            "r@example.jp",
            "--role",
            "responder",
        ],
        &format!("{STRONG}\n"),
    ));
    let server = Server::start(&db);
    for attempt in 1..=6 {
        let (status, body) = server.request(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&login_body(
                "r@example.jp",
                &format!("wrong-guess-number-{attempt}"),
            )),
        );
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    let (status, locked_body) = server.request(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&login_body("r@example.jp", STRONG)),
    );
    assert_eq!(
        status, 401,
        "the right password during a lock-out: {locked_body}"
    );
    server.stop();

    let server = Server::start(&db);
    let (status, body) = server.request(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&login_body("r@example.jp", STRONG)),
    );
    assert_eq!(status, 401, "still locked after a restart: {body}");
    // The same answer as an unknown account: nothing tells the guesser it is locked.
    let (_, unknown) = server.request(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&login_body("nobody@example.jp", STRONG)),
    );
    assert_eq!(body, unknown);
    server.stop();
}

#[test]
fn audit_verify_finds_a_record_changed_with_sql() {
    let (dir, db) = temp_db();
    ok(&kizuki_with_stdin(
        &db,
        &[
            "user",
            "create",
            "--email",
            "a@example.jp",
            "--role",
            "responder",
        ],
        &format!("{STRONG}\n"),
    ));
    ok(&kizuki(&db, &["token", "create", "--user", "a@example.jp"]));
    let server = Server::start(&db);
    for password in ["wrong-password-one", STRONG] {
        server.request(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&login_body("a@example.jp", password)),
        );
    }
    server.stop();
    let out = ok(&kizuki(&db, &["audit", "verify"]));
    assert!(out.contains("intact: 4 records"), "{out}");
    assert!(dir.path().join("nested/audit.key").exists());

    let path = dir.path().join("nested/kizuki.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let changed = sqlx::query("UPDATE audit_log SET outcome = 'ok' WHERE seq = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(changed.rows_affected(), 1);
        conn.close().await.unwrap();
    });
    let out = kizuki(&db, &["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("BROKEN at record 3"), "{text}");
}

/// The numbered lines of `kizuki library list` (the header is not numbered).
fn case_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .collect()
}

#[test]
fn library_lists_filters_and_shows_the_ten_cases_without_a_database() {
    let (dir, db) = temp_db();

    let out = ok(&kizuki(&db, &["library", "list", "--lang", "en"]));
    assert_eq!(case_lines(&out).len(), 10, "{out}");
    assert!(
        out.contains("Hijacked cloud-service accounts"),
        "English titles: {out}"
    );
    let out = ok(&kizuki(&db, &["library", "list", "--lang", "ja"]));
    assert!(out.contains("外部クラウドサービスの乗っ取り"), "{out}");

    // Spoofed e-mail is the way in for cases 3, 4 and 7 only.
    let out = ok(&kizuki(
        &db,
        &["library", "list", "--attack-vector", "phishing_email"],
    ));
    let numbers: Vec<&str> = case_lines(&out)
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(numbers, ["3", "4", "7"], "{out}");
    let out = ok(&kizuki(
        &db,
        &[
            "library",
            "list",
            "--lesson-category",
            "supply_chain",
            "--organisation-type",
            "academic_research",
        ],
    ));
    let lines = case_lines(&out);
    assert_eq!(lines.len(), 1, "only case 8: {out}");
    assert!(lines[0].trim_start().starts_with("8 "), "{out}");

    let out = ok(&kizuki(&db, &["--json", "library", "list"]));
    let list: Value = serde_json::from_str(&out).unwrap();
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 10, "{out}");
    assert_eq!(items[7]["id"], "case-08");
    assert_eq!(items[7]["organisation_type"], "academic_research");

    let out = ok(&kizuki(&db, &["library", "show", "8", "--lang", "en"]));
    assert!(
        out.contains("Hijacked cloud-service accounts open the way"),
        "{out}"
    );
    assert!(out.contains("Day 3"), "{out}");
    assert!(out.contains("1+ month before"), "{out}");
    assert!(out.contains("Root cause"), "{out}");
    assert!(out.contains("Supply chain"), "lessons by category: {out}");
    assert!(out.contains("NISC (April 2022)"), "credit: {out}");
    let out = ok(&kizuki(
        &db,
        &["library", "show", "case-08", "--lang", "ja"],
    ));
    assert!(out.contains("3日目"), "{out}");
    assert!(out.contains("出典：NISC"), "{out}");

    let out = ok(&kizuki(&db, &["--json", "library", "show", "8"]));
    let case: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(case["number"], 8);
    assert!(case["timeline"].as_array().unwrap().len() > 5, "{out}");

    let err = failed(&kizuki(&db, &["library", "show", "99"]));
    assert!(err.contains("99"), "{err}");
    assert!(err.contains("1, 2, 3, 4, 5, 6, 7, 8, 9, 10"), "{err}");

    let err = failed(&kizuki(
        &db,
        &["library", "list", "--attack-vector", "carrier_pigeon"],
    ));
    assert!(err.contains("carrier_pigeon"), "{err}");
    assert!(
        err.contains("phishing_email") && err.contains("unknown_malware"),
        "allowed values: {err}"
    );

    // The library is built in: no database was created or opened.
    assert!(!dir.path().join("nested").exists());
}

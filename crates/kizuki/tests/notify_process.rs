//! Escalation runs exactly once across process death and across replicas: the real `kizuki
//! serve` binary, a real SMTP server (aiosmtpd) and a real database, with the system clock.
//!
//! The organisation: a commander (told of every level-3 ransomware incident), an on-call
//! responder (told of every new incident), a CISO (told when nobody has acknowledged after a
//! minute). A minute is the shortest wait a chain allows, so each test takes a little over one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

#[path = "../../kizuki-server/tests/support/smtp_sink.rs"]
mod smtp_sink;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kizuki_domain::clock::{Clock, SystemClock};
use kizuki_domain::incident::Category;
use kizuki_domain::notification::{JobKind, JobState};
use kizuki_domain::timeline::EntrySource;
use kizuki_domain::user::{NewUser, Role};
use kizuki_notify::escalation::{EscalationChain, EscalationStep};
use kizuki_notify::oncall::{Period, RotationSpec};
use kizuki_notify::rule::{Channel, NotificationRule, Recipient};
use kizuki_store::{JobFilter, Store};
use smtp_sink::{Sink, python_with_aiosmtpd};

const CISO: &str = "ciso@example.jp";
const COMMANDER: &str = "ic@example.jp";
const ON_CALL: &str = "oncall@example.jp";

/// Users, a rotation, a rule and a one-step chain, written straight into the store.
async fn organise(store: &dyn Store) {
    // The servers read the system clock, so the organisation is set up in real time too.
    let now = SystemClock.now();
    let user = |email: &str, name: &str, role| NewUser::new(email, name, role).unwrap();
    store
        .create_user(&user(COMMANDER, "指揮 花子", Role::IncidentCommander), now)
        .await
        .unwrap();
    let responder = store
        .create_user(&user(ON_CALL, "当番 一郎", Role::Responder), now)
        .await
        .unwrap();
    store
        .create_user(&user(CISO, "情報 太郎", Role::Executive), now)
        .await
        .unwrap();
    store
        .create_rotation(
            &RotationSpec {
                name: "first responders".into(),
                members: vec![responder.id],
                handover: "09:00".parse().unwrap(),
                time_zone: "Asia/Tokyo".into(),
                period: Period::Weekly,
                start_date: "2025-01-06".parse().unwrap(),
                overrides: vec![],
            },
            now,
        )
        .await
        .unwrap();
    store
        .create_rule(
            &NotificationRule {
                id: 0,
                name: "ransomware to the commander".into(),
                enabled: true,
                min_severity: 3,
                categories: vec![Category::Ransomware],
                on_reports: false,
                recipients: vec![Recipient::Role {
                    role: Role::IncidentCommander,
                }],
                channels: vec![Channel::Email],
                template_id: "new_incident".into(),
            },
            now,
        )
        .await
        .unwrap();
    store
        .save_escalation_chain(
            0,
            &EscalationChain {
                steps: vec![EscalationStep {
                    recipients: vec![Recipient::Role {
                        role: Role::Executive,
                    }],
                    channels: vec![Channel::Email],
                    after_minutes: 1,
                }],
            },
            None,
            now,
        )
        .await
        .unwrap();
}

/// `kizuki serve` on a free loopback port, sending mail to `sink`. Every process of one test
/// runs in `dir`, so they share the audit key (and with it the acknowledgement-link key).
struct Server {
    child: Child,
}

impl Server {
    fn start(dir: &Path, database: &str, sink: &Sink) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kizuki"))
            .args(["--database", database, "serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env("KIZUKI_LOG", "warn")
            .env("KIZUKI_SMTP_URL", sink.url())
            .env("KIZUKI_SMTP_FROM", "Kizuki <kizuki@example.jp>")
            .env_remove("KIZUKI_CONFIG")
            .env_remove("KIZUKI_DATABASE_URL")
            .env_remove("KIZUKI_WEBHOOK_ALLOW")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "kizuki serve did not start");
            let Some(line) = lines.next() else {
                panic!("kizuki serve exited during start-up: {:?}", child.wait());
            };
            if line.unwrap().starts_with("Kizuki listening on http://") {
                break;
            }
        }
        // Keep draining its log so a chatty server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child }
    }

    /// SIGKILL: no shutdown hook runs, nothing is flushed, leases are left held.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens a level-3 ransomware incident the way an operator would from a shell; the CLI only
/// queues the notifications, a running server sends them.
fn open_incident(dir: &Path, database: &str, title: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_kizuki"))
        .args([
            "--database",
            database,
            "incident",
            "create",
            "--title",
            title,
        ])
        .args(["--category", "ransomware", "--severity", "3"])
        .current_dir(dir)
        .env("KIZUKI_LOG", "warn")
        .env_remove("KIZUKI_CONFIG")
        .env_remove("KIZUKI_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "incident create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `sink` holds `n` messages, failing after `limit`; returns how long it took.
fn wait_for_messages(sink: &Sink, n: usize, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = sink.messages().len();
        if got >= n {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{got} of {n} messages after {limit:?}: {:?}",
            sink.to()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many messages each address received.
fn per_recipient(sink: &Sink) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for to in sink.to() {
        *counts.entry(to).or_insert(0) += 1;
    }
    counts
}

/// The notification entries on every incident's timeline, by text, with how often each
/// appears: each step of the story must be there exactly once.
async fn notification_entries(store: &dyn Store) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let incidents = store.list_incidents(&Default::default()).await.unwrap();
    for incident in incidents.items {
        for e in store
            .list_timeline(incident.id, &Default::default())
            .await
            .unwrap()
        {
            if e.source == EntrySource::Notification {
                out.push((incident.id, e.text));
            }
        }
    }
    out
}

async fn pending_escalations(store: &dyn Store) -> usize {
    store
        .list_jobs(&JobFilter {
            state: Some(JobState::Queued),
            kind: Some(JobKind::Escalate),
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn escalation_survives_sigkill_and_fires_once_after_restart() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("kizuki.db").display());
    {
        let store = kizuki_store_sqlite::SqliteStore::connect(&database)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        organise(&store).await;
        store.close().await;
    }

    let first = Server::start(dir.path(), &database, &sink);
    let opened = Instant::now();
    open_incident(dir.path(), &database, "ファイルサーバ暗号化");
    // The on-call responder and the commander hear of it within five seconds.
    wait_for_messages(&sink, 2, Duration::from_secs(5));
    let took = opened.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "first messages took {took:?}"
    );
    assert_eq!(sink.to(), vec![COMMANDER, ON_CALL]);

    // Nobody acknowledges. The escalation is a row in the database, not a timer in memory:
    // kill the server while it waits.
    let store = kizuki_store_sqlite::SqliteStore::connect(&database)
        .await
        .unwrap();
    assert_eq!(pending_escalations(&store).await, 1);
    first.kill();

    let second = Server::start(dir.path(), &database, &sink);
    // The chain waits a minute from the first message; the restarted server sends the step.
    wait_for_messages(&sink, 3, Duration::from_secs(120));
    // A few more worker runs must not send it again.
    std::thread::sleep(Duration::from_secs(4));
    drop(second);
    let counts = per_recipient(&sink);
    assert_eq!(
        counts,
        BTreeMap::from([
            (CISO.to_owned(), 1),
            (COMMANDER.to_owned(), 1),
            (ON_CALL.to_owned(), 1)
        ])
    );
    let entries = notification_entries(&store).await;
    let count = |needle: &[&str]| {
        entries
            .iter()
            .filter(|(_, t)| needle.iter().all(|n| t.contains(n)))
            .count()
    };
    assert_eq!(count(&["エスカレーション", "情報 太郎"]), 1, "{entries:?}");
    assert_eq!(count(&["メールを送信しました", CISO]), 1, "{entries:?}");
    assert_eq!(pending_escalations(&store).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_on_one_postgres_send_each_message_once() {
    let Ok(admin) = std::env::var("KIZUKI_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KIZUKI_TEST_POSTGRES_URL must be set under CI"
        );
        eprintln!("SKIPPED: two replicas on PostgreSQL (set KIZUKI_TEST_POSTGRES_URL)");
        return;
    };
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let database = kizuki_store_postgres::create_test_database(&admin)
        .await
        .unwrap();
    let store = kizuki_store_postgres::PgStore::connect(&database)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    organise(&store).await;

    let replicas = [
        Server::start(dir.path(), &database, &sink),
        Server::start(dir.path(), &database, &sink),
    ];
    // Several incidents at once, so both workers find due jobs in the same second.
    const INCIDENTS: usize = 4;
    let opened = Instant::now();
    for n in 1..=INCIDENTS {
        open_incident(dir.path(), &database, &format!("暗号化 {n}"));
    }
    wait_for_messages(&sink, 2 * INCIDENTS, Duration::from_secs(10));
    let took = opened.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "first messages took {took:?}"
    );
    wait_for_messages(&sink, 3 * INCIDENTS, Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(4));
    drop(replicas);

    assert_eq!(
        per_recipient(&sink),
        BTreeMap::from([
            (CISO.to_owned(), INCIDENTS),
            (COMMANDER.to_owned(), INCIDENTS),
            (ON_CALL.to_owned(), INCIDENTS)
        ])
    );
    // Each incident's timeline tells its story once: three sends, one escalation.
    let entries = notification_entries(&store).await;
    let mut sends: BTreeMap<i64, usize> = BTreeMap::new();
    for (incident, text) in &entries {
        if text.contains("メールを送信しました") {
            *sends.entry(*incident).or_insert(0) += 1;
        }
    }
    assert_eq!(sends.len(), INCIDENTS, "{entries:?}");
    assert!(sends.values().all(|&n| n == 3), "{entries:?}");
    assert_eq!(pending_escalations(&store).await, 0);
}

//! `kizuki oncall …` and `kizuki notify …` as an operator uses them: real processes on a
//! real SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use serde_json::Value;

mod common;
use common::{failed, kizuki, ok};

fn database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("kizuki.db").display());
    ok(&kizuki(&db, &["db", "migrate"]));
    (dir, db)
}

fn person(db: &str, email: &str, name: &str) {
    ok(&kizuki(
        db,
        &[
            "user",
            "create",
            "--email",
            email,
            "--role",
            "responder",
            "--name",
            name,
            "--enrolment-link",
        ],
    ));
}

#[test]
fn oncall_now_names_the_person_holding_the_pager() {
    let (_dir, db) = database();
    person(&db, "alice@example.jp", "Alice Sato");
    person(&db, "bob@example.jp", "Bob Tanaka");
    let out = ok(&kizuki(
        &db,
        &[
            "oncall",
            "add",
            "--name",
            "CSIRT primary",
            "--members",
            "alice@example.jp",
            "--period",
            "daily",
            "--start-date",
            "2026-01-01",
        ],
    ));
    assert!(out.contains("rotation 1 added: CSIRT primary"), "{out}");

    // Alice is the only member, so she is on call whatever the time.
    let now = ok(&kizuki(&db, &["oncall", "now"]));
    assert!(
        now.contains("CSIRT primary: Alice Sato <alice@example.jp> (turn"),
        "{now}"
    );

    // Bob covers; the override wins for as long as it lasts.
    ok(&kizuki(
        &db,
        &[
            "oncall",
            "override",
            "1",
            "--user",
            "bob@example.jp",
            "--from",
            "2000-01-01T00:00:00Z",
            "--to",
            "2100-01-01T00:00:00Z",
        ],
    ));
    let now = ok(&kizuki(&db, &["oncall", "now"]));
    assert!(
        now.contains(
            "CSIRT primary: Bob Tanaka <bob@example.jp> (override until 2100-01-01T00:00:00Z)"
        ),
        "{now}"
    );
    assert!(!now.contains("Alice"), "{now}");
    let json: Value =
        serde_json::from_str(&ok(&kizuki(&db, &["--json", "oncall", "now"]))).unwrap();
    assert_eq!(json[0]["email"], "bob@example.jp", "{json}");
    assert_eq!(json[0]["because"], "override", "{json}");

    // An override for someone unknown is refused, naming the field.
    let err = failed(&kizuki(
        &db,
        &[
            "oncall",
            "override",
            "1",
            "--user",
            "999",
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-02T00:00:00Z",
        ],
    ));
    assert!(err.contains("user_id: no user 999"), "{err}");
}

#[test]
fn templates_preview_names_an_unknown_field_and_saves_nothing() {
    let (dir, db) = database();
    let body = dir.path().join("body.txt");
    std::fs::write(
        &body,
        "Hello {{recipient.name}},\nPlease look at {{incident.titel}}.\n",
    )
    .unwrap();
    let body = body.display().to_string();

    let err = failed(&kizuki(
        &db,
        &[
            "notify",
            "templates",
            "preview",
            "new_incident",
            "en",
            "--body-file",
            &body,
        ],
    ));
    assert!(
        err.contains("body: line 2, column 16: unknown field `incident.titel`"),
        "{err}"
    );
    // Saving it is refused the same way; the built-in template is still in use.
    let err = failed(&kizuki(
        &db,
        &[
            "notify",
            "templates",
            "set",
            "new_incident",
            "en",
            "--body-file",
            &body,
        ],
    ));
    assert!(err.contains("unknown field `incident.titel`"), "{err}");
    let shown: Value = serde_json::from_str(&ok(&kizuki(
        &db,
        &[
            "--json",
            "notify",
            "templates",
            "show",
            "new_incident",
            "en",
        ],
    )))
    .unwrap();
    assert_eq!(shown["built_in"], true, "{shown}");
    assert!(
        !shown["body"].as_str().unwrap().contains("titel"),
        "{shown}"
    );

    // Fixed, the preview renders sample values and still saves nothing.
    std::fs::write(
        dir.path().join("body.txt"),
        "Please look at {{incident.title}}.\n",
    )
    .unwrap();
    let out = ok(&kizuki(
        &db,
        &[
            "notify",
            "templates",
            "preview",
            "new_incident",
            "en",
            "--subject",
            "[Kizuki] {{incident.title}}",
            "--body-file",
            &body,
        ],
    ));
    assert!(
        out.contains("subject: [Kizuki] File server encrypted (sample)"),
        "{out}"
    );
    assert!(
        out.contains("Please look at File server encrypted (sample)."),
        "{out}"
    );
    let listed = ok(&kizuki(&db, &["notify", "templates", "list"]));
    assert!(!listed.contains(" v1 "), "{listed}");
}

#[test]
fn webhooks_and_rules_from_the_shell() {
    let (dir, db) = database();
    // A loopback target needs allowing.
    let err = failed(&kizuki(
        &db,
        &[
            "notify",
            "webhooks",
            "add",
            "--name",
            "Local",
            "--format",
            "signed_json",
            "--url",
            "http://127.0.0.1:9000/hook",
        ],
    ));
    assert!(err.contains("url:"), "{err}");
    let created: Value = serde_json::from_str(&ok(&kizuki(
        &db,
        &[
            "--json",
            "notify",
            "webhooks",
            "add",
            "--name",
            "Local",
            "--format",
            "signed_json",
            "--url",
            "http://127.0.0.1:9000/hook",
            "--webhook-allow",
            "127.0.0.1/32",
        ],
    )))
    .unwrap();
    let secret = created["secret"].as_str().unwrap();
    let listed = ok(&kizuki(&db, &["--json", "notify", "webhooks", "list"]));
    assert!(!listed.contains(secret), "{listed}");

    let rule = dir.path().join("rule.json");
    std::fs::write(
        &rule,
        r#"{"name": "Level 3 and up", "min_severity": 3,
            "recipients": [{"kind": "role", "role": "incident_commander"}],
            "channels": [{"kind": "webhook", "webhook_id": 1}], "template_id": "new_incident"}"#,
    )
    .unwrap();
    let out = ok(&kizuki(
        &db,
        &[
            "notify",
            "rules",
            "add",
            "--file",
            &rule.display().to_string(),
        ],
    ));
    assert!(out.contains("rule 1 added: Level 3 and up"), "{out}");
    let out = ok(&kizuki(&db, &["notify", "rules", "list"]));
    assert!(out.contains("Level 3 and up"), "{out}");
    ok(&kizuki(&db, &["notify", "rules", "remove", "1"]));
    assert_eq!(
        ok(&kizuki(&db, &["notify", "rules", "list"])).trim(),
        "no rules"
    );
}

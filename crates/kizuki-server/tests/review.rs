//! Review and learning over HTTP, on SQLite and PostgreSQL: the after-action report in three
//! formats and two languages, lessons and corrective actions with their reminders, and a
//! full tabletop exercise of reference case 8.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jiff::SignedDuration;
use serde_json::{Value, json};

mod common;
use common::{Api, TOKEN};

/// GETs a document, returning its status, media type and bytes.
async fn document(api: &Api, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let req = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    api.raw(req).await
}

/// The text of a PDF as `pdftotext` extracts it; `None` (and a notice) where poppler is
/// not installed, which `.ci/run` never allows.
fn pdf_text(pdf: &[u8]) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "pdftotext (poppler-utils) must be installed under CI"
            );
            eprintln!("SKIPPED: PDF text check (install poppler-utils for pdftotext)");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

fn field_of(problem: &Value) -> &str {
    problem["errors"][0]["field"].as_str().unwrap_or_default()
}

/// An incident entered through the API, reviewed, and reported in every format and both
/// languages; lessons searched; corrective actions tracked to closure.
async fn report_lessons_and_actions(api: Api) {
    // Nothing recorded yet: the report still renders and says what to ask for.
    let empty = api
        .post(
            "/api/v1/incidents",
            json!({"title": "空のインシデント", "category": "other"}),
        )
        .await;
    let (status, ct, body) = document(
        &api,
        &format!("/api/v1/incidents/{}/report?format=md&lang=en", empty["id"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/markdown"), "{ct}");
    let md = String::from_utf8(body).unwrap();
    assert!(md.contains("Timeline"), "{md}");
    assert!(
        md.to_lowercase().contains("not yet recorded"),
        "missing sections are listed: {md}"
    );

    let incident = api
        .post(
            "/api/v1/incidents",
            json!({
                "title": "ランサムウェアによるファイルサーバの暗号化",
                "summary": "取引先を装ったメールの添付ファイルから感染し、ファイルサーバが暗号化された。",
                "category": "ransomware",
                "severity": 3,
                "start_date": "2026-06-19",
                "aware_at": "2026-06-19T23:30:00Z",
                "impact": {"availability": true}
            }),
        )
        .await;
    let id = incident["id"].as_i64().unwrap();
    for e in [
        json!({"day": 1, "time_of_day": "08:30", "lane": "it_business", "kind": "detection",
               "actor": "情報システム部", "text": "ファイルサーバが開けないと各部署から連絡"}),
        json!({"day": 1, "time_of_day": "09:00", "lane": "ciso_csirt", "kind": "communication",
               "actor": "CSIRT", "text": "CISO と社長に第一報"}),
        json!({"day": 2, "time_of_day": "10:00", "lane": "management_pr", "kind": "decision",
               "actor": "社長", "text": "身代金は払わないと決定"}),
        json!({"day": 3, "time_of_day": "14:00", "lane": "it_business", "kind": "containment",
               "text": "全拠点のネットワークを遮断"}),
    ] {
        api.post(&format!("/api/v1/incidents/{id}/timeline"), e)
            .await;
    }

    // The review: the first save names version 0; a stale save is refused, nothing lost.
    let review = api.get(&format!("/api/v1/incidents/{id}/review")).await;
    assert_eq!(review["version"], 0);
    let narrative = json!({
        "reader_level": "basic",
        "organisation_profile": "全国に拠点を持つ従業員千人規模の製造業",
        "main_cause": "シグネチャで検知できない新種のランサムウェア",
        "situation": "週末の朝に暗号化が始まった。",
        "background": "取引先を装うメールが増えていた。",
        "causes": [{"technical": "バックアップが同じネットワークにあった",
                    "organisational": "復旧手順を誰も試していなかった"}],
        "damage_limiters": ["オフラインの週次バックアップ"],
        "challenges": ["工場の古い端末の管理"]
    });
    let (status, saved) = api
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{id}/review"),
            Some(json!({"version": 0, "narrative": narrative})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
    let (status, stale) = api
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{id}/review"),
            Some(json!({"version": 0, "narrative": {"main_cause": "overwritten?"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    assert_eq!(field_of(&stale), "version");
    assert!(stale["detail"].as_str().unwrap().contains("version 1"));
    let kept = api.get(&format!("/api/v1/incidents/{id}/review")).await;
    assert_eq!(
        kept["narrative"]["main_cause"],
        "シグネチャで検知できない新種のランサムウェア"
    );
    // Unknown fields and wrong types name the field.
    let (status, bad) = api
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{id}/review"),
            Some(json!({"version": 1, "narrative": {"reader_level": "expert"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(field_of(&bad), "narrative.reader_level");

    // Lessons, filed under the appendix's categories.
    let lesson = api
        .post(
            &format!("/api/v1/incidents/{id}/lessons"),
            json!({"text": "バックアップはネットワークから切り離して保管し、復旧を年に一度試す",
                   "categories": ["business_recovery", "damage_mitigation"]}),
        )
        .await;
    let lesson_id = lesson["id"].as_i64().unwrap();
    let (status, bad) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/lessons"),
            Some(json!({"text": "x", "categories": ["ceo", "weather"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(field_of(&bad), "categories[1]");
    let (status, bad) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/lessons"),
            Some(json!({"text": "No category", "categories": []})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(field_of(&bad), "categories");

    // A lesson becomes a corrective action with an owner and a date.
    let action = api
        .post(
            &format!("/api/v1/incidents/{id}/lessons/{lesson_id}/actions"),
            json!({"title": "オフラインバックアップの復旧訓練", "owner": "情報システム部",
                   "due_date": "2026-06-25"}),
        )
        .await;
    let action_id = action["id"].as_i64().unwrap();
    assert_eq!(action["status"], "open");
    // Today is 2026-06-20 (JST): due in five days, so a reminder is due.
    assert_eq!(action["reminder"]["state"], "due_soon");
    assert_eq!(action["reminder"]["days_left"], 5);
    let (status, bad) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/lessons/{lesson_id}/actions"),
            Some(json!({"title": "t", "owner": "o", "due_date": "2026-02-30"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(field_of(&bad), "due_date");

    // A week later it is overdue, and the reminder list says so.
    api.clock.advance(SignedDuration::from_hours(24 * 7));
    let due = api.get("/api/v1/corrective-actions?reminders=true").await;
    assert_eq!(due.as_array().unwrap().len(), 1);
    assert_eq!(due[0]["reminder"]["state"], "overdue");
    assert_eq!(due[0]["reminder"]["days_late"], 2);
    // Closing it needs the version read; a stale close is refused.
    let done = api
        .patch(
            &format!("/api/v1/corrective-actions/{action_id}"),
            json!({"version": 1, "status": "done", "notes": "訓練で4時間で復旧できた"}),
        )
        .await;
    assert_eq!(done["status"], "done");
    assert!(done["closed_at"].is_string());
    assert_eq!(done["reminder"]["state"], "none");
    let (status, stale) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/corrective-actions/{action_id}"),
            Some(json!({"version": 1, "status": "cancelled"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    assert!(
        api.get("/api/v1/corrective-actions?reminders=true")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Lessons are found across incidents, by word and by category.
    let other = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Phishing at a supplier", "category": "targeted_email"}),
        )
        .await;
    api.post(
        &format!("/api/v1/incidents/{}/lessons", other["id"]),
        json!({"text": "Ask Suppliers to report breaches within a day",
               "categories": ["supply_chain"]}),
    )
    .await;
    let hits = api.get("/api/v1/lessons?q=suppliers%20DAY").await;
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["incident_title"], "Phishing at a supplier");
    let hits = api.get("/api/v1/lessons?category=business_recovery").await;
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["id"], lesson_id);
    let hits = api
        .get("/api/v1/lessons?q=%E3%83%90%E3%83%83%E3%82%AF%E3%82%A2%E3%83%83%E3%83%97")
        .await;
    assert_eq!(hits.as_array().unwrap().len(), 1, "バックアップ");
    let (status, bad) = api
        .call(Method::GET, "/api/v1/lessons?category=weather", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_of(&bad), "category");

    // The report, in both languages and every format.
    for lang in ["ja", "en"] {
        let (status, ct, html) = document(
            &api,
            &format!("/api/v1/incidents/{id}/report?format=html&lang={lang}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/html"), "{ct}");
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("ランサムウェアによるファイルサーバの暗号化"));
        assert!(html.contains("CISO と社長に第一報"));
        assert!(html.contains("バックアップはネットワークから切り離して保管し"));
        assert!(
            html.contains("オフラインバックアップの復旧訓練"),
            "the lesson's action is shown"
        );
        let day2 = if lang == "ja" { "2日目" } else { "Day 2" };
        assert!(html.contains(day2), "{lang}: Day-N labels");

        let (status, ct, md) = document(
            &api,
            &format!("/api/v1/incidents/{id}/report?format=md&lang={lang}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/markdown"));
        let md = String::from_utf8(md).unwrap();
        assert!(md.contains("身代金は払わないと決定"));
        assert!(md.contains(day2));

        let (status, ct, pdf) = document(
            &api,
            &format!("/api/v1/incidents/{id}/report?format=pdf&lang={lang}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "application/pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        if let Some(text) = pdf_text(&pdf) {
            let flat: String = text.split_whitespace().collect();
            assert!(
                flat.contains("ランサムウェアによるファイルサーバの暗号化"),
                "{lang}: {text}"
            );
            assert!(flat.contains("身代金は払わないと決定"), "{lang}: {text}");
            assert!(text.contains(day2), "{lang}: {text}");
        }
    }
    let (status, _, body) =
        document(&api, &format!("/api/v1/incidents/{id}/report?format=docx")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(field_of(&problem), "format");
    let (status, _, _) = document(&api, "/api/v1/incidents/999999/report").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn report_lessons_and_actions_on_sqlite() {
    report_lessons_and_actions(Api::sqlite().await).await;
}

#[tokio::test]
async fn report_lessons_and_actions_on_postgres() {
    if let Some(api) = Api::postgres().await {
        report_lessons_and_actions(api).await;
    }
}

/// Reference case 8 played through the API: injects come out on the accelerated clock and
/// stay hidden until then, the room escalates and decides later than the original did, the
/// facilitator jumps ahead, and the comparison report says so in both languages.
async fn case_8_exercise(api: Api) {
    let start = api
        .post(
            "/api/v1/exercises",
            json!({"source": {"kind": "reference_case", "number": 8}, "speed": 60, "lang": "en"}),
        )
        .await;
    let ex = start["id"].as_i64().unwrap();
    let incident = start["incident_id"].as_i64().unwrap();
    assert_eq!(start["state"], "running");
    // The month-old intrusion as background and Day 1's three events; the rest is hidden.
    assert_eq!(start["released"].as_array().unwrap().len(), 6);
    assert_eq!(start["injects_total"], 15);
    assert_eq!(start["next_inject"]["wait_seconds"], 24 * 60);
    assert!(
        start["next_inject"].get("text").is_none(),
        "the next inject's content stays hidden"
    );
    let shown = start.to_string();
    assert!(
        !shown.contains("holds its first meeting"),
        "Day 2's events are not out yet"
    );

    // The exercise is an incident of its own, marked, and left out of the real ones.
    let real = api.get("/api/v1/incidents").await;
    assert!(
        real["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != incident)
    );
    let only = api.get("/api/v1/incidents?exercises=only").await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    assert_eq!(only["items"][0]["exercise"], true);
    let tasks = api
        .get(&format!("/api/v1/incidents/{incident}/tasks"))
        .await;
    assert!(
        !tasks.as_array().unwrap().is_empty(),
        "the category's playbook is applied"
    );

    let act = |kind: &str, lane: &str, text: &str, point: Option<usize>| {
        let mut body = json!({"lane": lane, "kind": kind, "text": text});
        if let Some(p) = point {
            body["decision_point"] = json!(p);
        }
        (format!("/api/v1/exercises/{ex}/actions"), body)
    };
    let (uri, body) = act(
        "detection",
        "it_business",
        "IT confirm the hijacked accounts",
        None,
    );
    api.clock.advance(SignedDuration::from_secs(45));
    let recorded = api.post(&uri, body).await;
    // Labels come in the organisation's language (Japanese by default) unless asked.
    assert_eq!(recorded["case_time"], "1日目 0:45");

    // 24 real minutes later Day 2 is out; the room escalates only on Day 2 at 9:00.
    api.clock.advance(SignedDuration::from_secs(33 * 60 - 45));
    let now = api.get(&format!("/api/v1/exercises/{ex}?lang=en")).await;
    assert_eq!(now["released"].as_array().unwrap().len(), 7);
    assert_eq!(now["case_time"], "Day 2 9:00");
    let (uri, body) = act(
        "communication",
        "ciso_csirt",
        "CSIRT briefs the president and the CISO",
        None,
    );
    api.post(&uri, body).await;

    // The facilitator jumps to Day 3; a stale jump is refused and jumps nothing.
    api.clock.advance(SignedDuration::from_mins(1));
    let version = now["version"].as_i64().unwrap();
    let jumped = api
        .post(
            &format!("/api/v1/exercises/{ex}/advance"),
            json!({"version": version}),
        )
        .await;
    assert_eq!(jumped["case_time"], "3日目 0:00");
    assert_eq!(jumped["released"].as_array().unwrap().len(), 10);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/exercises/{ex}/advance"),
            Some(json!({"version": version})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let points = jumped["open_decision_points"].as_array().unwrap();
    assert!(points.len() >= 2, "{jumped}");
    assert!(
        !jumped.to_string().contains("\"original\""),
        "what the original decided stays hidden"
    );

    // Day 3: the headquarters (a day later than the original), then the shut-down.
    api.clock.advance(SignedDuration::from_mins(10));
    let (uri, body) = act(
        "decision",
        "ciso_csirt",
        "Set up a security headquarters",
        None,
    );
    api.post(&uri, body).await;
    api.clock.advance(SignedDuration::from_mins(4));
    let (uri, body) = act(
        "decision",
        "management_pr",
        "Stop the internal systems and service A",
        Some(1),
    );
    api.post(&uri, body).await;
    let (uri, body) = act("decision", "management_pr", "x", Some(99));
    let (status, bad) = api.call(Method::POST, &uri, Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(field_of(&bad), "decision_point");

    // Every step is on the exercise's own timeline, in case time.
    let timeline = api
        .get(&format!("/api/v1/incidents/{incident}/timeline"))
        .await;
    let texts: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Set up a security headquarters"));
    assert!(
        texts.iter().any(|t| t.contains("ファシリテーター")),
        "the facilitator's jump is on the timeline: {texts:?}"
    );

    // The end: the comparison with the original and the playbook.
    let outcome = api
        .post(&format!("/api/v1/exercises/{ex}/end"), json!({}))
        .await;
    let escalation = outcome["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["milestone"] == "escalation")
        .unwrap_or_else(|| panic!("{outcome}"));
    assert_eq!(escalation["verdict"], "later");
    assert_eq!(escalation["delta_minutes"], 24 * 60 + 9 * 60);
    assert_eq!(outcome["decisions"][0]["verdict"], "later");
    assert!(
        outcome["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["verdict"] == "missed"),
        "playbook tasks left open are missed"
    );
    let (status, _) = api
        .call(Method::POST, &format!("/api/v1/exercises/{ex}/end"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "an exercise ends once");
    let (uri, body) = act("other", "external", "late", None);
    let (status, _) = api.call(Method::POST, &uri, Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    for (lang, later) in [("en", "later"), ("ja", "遅")] {
        let (status, ct, md) = document(
            &api,
            &format!("/api/v1/exercises/{ex}/report?format=md&lang={lang}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/markdown"));
        let md = String::from_utf8(md).unwrap();
        assert!(md.to_lowercase().contains(later), "{lang}: {md}");
        assert!(md.contains("Set up a security headquarters"), "{md}");
        let (status, ct, html) = document(
            &api,
            &format!("/api/v1/exercises/{ex}/report?format=html&lang={lang}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/html"));
        assert!(!String::from_utf8(html).unwrap().contains("<script"));
    }
    // The stored outcome does not move when time does.
    let first = api
        .get(&format!("/api/v1/exercises/{ex}/report?format=json"))
        .await;
    api.clock.advance(SignedDuration::from_hours(5));
    assert_eq!(
        api.get(&format!("/api/v1/exercises/{ex}/report?format=json"))
            .await,
        first
    );

    // A bad source names the field.
    let (status, bad) = api
        .call(
            Method::POST,
            "/api/v1/exercises",
            Some(json!({"source": {"kind": "reference_case", "number": 11}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(field_of(&bad), "source.number");
    let (status, bad) = api
        .call(
            Method::POST,
            "/api/v1/exercises",
            Some(json!({"source": {"kind": "reference_case", "number": 7}})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "case 7 has no timeline: {bad}"
    );
    let (status, bad) = api
        .call(
            Method::POST,
            "/api/v1/exercises",
            Some(json!({"source": {"kind": "reference_case", "number": 8}, "speed": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(field_of(&bad), "speed");
    // An exercise cannot be the source of another.
    let (status, _) = api
        .call(
            Method::POST,
            "/api/v1/exercises",
            Some(json!({"source": {"kind": "incident", "incident_id": incident}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn case_8_exercise_on_sqlite() {
    case_8_exercise(Api::sqlite().await).await;
}

#[tokio::test]
async fn case_8_exercise_on_postgres() {
    if let Some(api) = Api::postgres().await {
        case_8_exercise(api).await;
    }
}

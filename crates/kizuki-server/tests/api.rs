//! In-process HTTP tests: real router, real store (SQLite always, PostgreSQL when
//! `KIZUKI_TEST_POSTGRES_URL` is set), a stopped clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use kizuki_auth::secret::hash_secret as token_hash;
use kizuki_domain::clock::Clock;
use kizuki_domain::user::TokenScope;
use serde_json::{Value, json};

mod common;
use common::{Api, TOKEN};

/// Case 3 of the study, entered as a responder would after the fact: ransomware at a
/// company with sites all over the country; infection on Day 1, encryption on Day 7,
/// the decision not to deal with the attacker in Week 2.
async fn case_3_round_trip(api: Api) {
    let incident = api
        .post(
            "/api/v1/incidents",
            json!({
                "title": "Ransomware encrypts most file and business servers",
                "summary": "An employee opened an attachment in an e-mail posing as a business partner. A new ransomware strain that signature-based antivirus could not detect encrypted most servers. Recovery took months; e-mail was down throughout.",
                "category": "ransomware",
                "severity": 4,
                "detection_source": "user_report",
                "start_date": "2026-06-02",
                "start_basis": "occurrence",
                "aware_at": "2026-06-07T22:00:00Z",
                "affected_units": ["Head office", "Branches nationwide", "Data centre"],
                "affected_assets": ["File servers", "Business servers", "Mail server"],
                "impact": {"availability": true, "confidentiality": true, "integrity": true,
                           "personal_data": true, "unauthorised_act": true,
                           "notes": "Part of the stolen data appeared on the dark web"}
            }),
        )
        .await;
    let id = incident["id"].as_i64().unwrap();
    assert_eq!(incident["version"], 1);
    assert_eq!(incident["phase"], "reported");
    // Personal data and an unauthorised act: both APPI clocks start at awareness, the final one at 60 days.
    let clocks = incident["legal_clocks"].as_array().unwrap();
    assert_eq!(clocks.len(), 2);
    assert_eq!(clocks[0]["kind"], "appi_preliminary");
    assert_eq!(clocks[1]["kind"], "appi_final");
    assert_eq!(clocks[1]["due_at"], "2026-08-06T22:00:00Z");

    let entries = [
        json!({"day": 1, "lane": "it_business", "kind": "detection", "actor": "Employee",
               "text": "Opens an attachment in an e-mail posing as a business partner; ransomware gets in"}),
        json!({"day": 7, "day_part": "early_morning", "precision": "day_part", "lane": "it_business", "kind": "detection",
               "text": "Ransomware starts encrypting IT equipment"}),
        json!({"day": 7, "time_of_day": "07:00", "lane": "it_business", "kind": "detection",
               "text": "Calls from all over the company: internal systems unusable"}),
        json!({"day": 7, "time_of_day": "08:30", "lane": "it_business", "kind": "containment", "actor": "IT staff",
               "text": "Encryption confirmed; every branch and the data centre told by phone to unplug terminals; security and server vendors called"}),
        json!({"day": 7, "time_of_day": "10:00", "lane": "it_business", "kind": "analysis",
               "text": "A file with the attacker's contact details is found on a server"}),
        json!({"week": 2, "lane": "management_pr", "kind": "disclosure",
               "text": "First notice about the system failure published"}),
        json!({"week": 2, "lane": "ciso_csirt", "kind": "decision", "actor": "Risk management committee",
               "text": "Committee chaired by the president decides not to contact the attacker; task force set up"}),
        json!({"week": 3, "lane": "it_business", "kind": "recovery", "text": "Webmail contracted as a stopgap"}),
    ];
    for e in &entries {
        api.post(&format!("/api/v1/incidents/{id}/timeline"), e.clone())
            .await;
    }

    let decision = api
        .post(
            &format!("/api/v1/incidents/{id}/decisions"),
            json!({
                "question": "Contact the attacker and pay the ransom?",
                "options": [
                    {"label": "Refuse and rebuild", "scenario": "Months of rebuilding from uninfected backups and data re-obtained from customers; some data lost for good"},
                    {"label": "Negotiate", "scenario": "No guarantee of decryption or deletion; funds crime; reputational harm if known"}
                ]
            }),
        )
        .await;
    let decided = api
        .post(
            &format!("/api/v1/incidents/{id}/decisions/{}/decide", decision["id"]),
            json!({"chosen": 0, "decided_by": "Risk management committee (chair: president)",
                   "rationale": "A public-minded company does not fund crime, whatever the cost in time"}),
        )
        .await;
    assert_eq!(decided["chosen"], 0);

    for party in [
        json!({"kind": "vendor_forensics", "name": "Security vendor", "role": "investigation", "fallback_channel": "mobile phone of account manager"}),
        json!({"kind": "vendor_edr", "name": "Server hardware vendor", "role": "rebuild servers"}),
        json!({"kind": "internal", "name": "All branches", "role": "disconnect terminals",
               "fallback_channel": "Business emergency phone route (e-mail down)"}),
    ] {
        api.post(&format!("/api/v1/incidents/{id}/parties"), party)
            .await;
    }

    // Read it all back: intact, in time order, labelled as the study labels it.
    let got = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(got["title"], incident["title"]);
    assert_eq!(got["affected_units"], incident["affected_units"]);
    assert_eq!(got["impact"], incident["impact"]);
    let timeline = api
        .get(&format!("/api/v1/incidents/{id}/timeline?lang=ja"))
        .await;
    let labels: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["day_label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "1日目",
            "7日目 未明",
            "7日目 7:00",
            "7日目 8:30",
            "7日目 10:00",
            "2週目",
            "2週目",
            "3週目"
        ]
    );
    let lanes: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["lane"].as_str().unwrap())
        .collect();
    assert_eq!(lanes[5..7], ["management_pr", "ciso_csirt"]);
    assert!(
        timeline
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["holiday"] == false)
    );
    let en = api
        .get(&format!(
            "/api/v1/incidents/{id}/timeline?lang=en&lane=it_business"
        ))
        .await;
    let en_labels: Vec<&str> = en
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["day_label"].as_str().unwrap())
        .collect();
    assert_eq!(
        en_labels,
        [
            "Day 1",
            "Day 7 early morning",
            "Day 7 7:00",
            "Day 7 8:30",
            "Day 7 10:00",
            "Week 3"
        ]
    );

    let export = api.get(&format!("/api/v1/incidents/{id}/export")).await;
    assert_eq!(export["timeline"].as_array().unwrap().len(), entries.len());
    assert_eq!(
        export["decisions"][0]["options"][0]["label"],
        "Refuse and rebuild"
    );
    assert_eq!(
        export["decisions"][0]["decided_by"],
        "Risk management committee (chair: president)"
    );
    assert_eq!(export["parties"].as_array().unwrap().len(), 3);
    assert_eq!(
        export["parties"][2]["fallback_channel"],
        "Business emergency phone route (e-mail down)"
    );
    drop(api.store);
}

#[tokio::test]
async fn case_3_round_trip_on_sqlite() {
    case_3_round_trip(Api::sqlite().await).await;
}

#[tokio::test]
async fn case_3_round_trip_on_postgres() {
    if let Some(api) = Api::postgres().await {
        case_3_round_trip(api).await;
    }
}

fn field_of(problem: &Value) -> &str {
    problem["errors"][0]["field"].as_str().unwrap_or("")
}

async fn bad_input_is_refused_naming_the_field_and_nothing_changes(api: Api) {
    let created = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Defaced top page", "category": "web_defacement"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let before = api.get(&format!("/api/v1/incidents/{id}")).await;

    // Malformed JSON.
    let (status, ct, problem) = api
        .send_text(
            Method::POST,
            "/api/v1/incidents",
            r#"{"title": "x", "category": }"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(ct, "application/problem+json");
    assert_eq!(
        problem["type"],
        "https://kizuki.invalid/problems/malformed-json"
    );

    // Unknown category, with the choices spelled out.
    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "category": "worm"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_of(&problem), "category");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ransomware")
    );

    // A wrong type and a missing field.
    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "category": "other", "severity": "high"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::BAD_REQUEST, "severity")
    );
    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"category": "other"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::BAD_REQUEST, "title")
    );
    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "category": "other", "impact": {"pii": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(field_of(&problem).starts_with("impact"), "{problem}");

    // An invalid phase transition: reported cannot jump to recovery.
    let (status, problem) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Some(json!({"version": 1, "phase": "recovery"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "phase")
    );

    // An unknown lane.
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/timeline"),
            Some(json!({"lane": "marketing", "kind": "analysis", "text": "x"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::BAD_REQUEST, "lane")
    );

    // A 10 MB body.
    let huge = format!(
        r#"{{"title": "{}", "category": "other"}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    let (status, ct, problem) = api.send_text(Method::POST, "/api/v1/incidents", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(ct, "application/problem+json");
    assert!(problem["detail"].as_str().unwrap().contains("larger than"));

    // A stale version: someone else saved first.
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Some(json!({"version": 1, "phase": "triage", "severity": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after_first_edit = api.get(&format!("/api/v1/incidents/{id}")).await;
    let (status, problem) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Some(json!({"version": 1, "title": "Stale title"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::CONFLICT, "version")
    );
    let after_stale = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        after_stale, after_first_edit,
        "the stale edit changed nothing"
    );
    assert_eq!(after_stale["title"], before["title"]);
    assert_eq!(after_stale["version"], 2);

    // Severity off the ladder, a bad query parameter, a bad path.
    let (status, problem) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Some(json!({"version": 2, "severity": 7})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "severity")
    );
    let (status, problem) = api
        .call(Method::GET, "/api/v1/incidents?phase=finished", None)
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::BAD_REQUEST, "phase")
    );
    let (status, problem) = api
        .call(Method::GET, "/api/v1/incidents?limit=abc", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, _) = api
        .call(Method::GET, "/api/v1/incidents/999999", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Trailing garbage after a valid body, NUL characters, absurd dates.
    let (status, _, problem) = api
        .send_text(
            Method::POST,
            "/api/v1/incidents",
            r#"{"title": "x", "category": "other"} and more"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "a\u{0}b", "category": "other"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "title")
    );
    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "category": "other", "aware_at": "-005000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "aware_at")
    );
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/timeline"),
            Some(json!({"lane": "ciso_csirt", "kind": "analysis", "text": "x", "week": 2, "precision": "minute"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "precision")
    );

    // Query and path parameters are named too.
    for (uri, field) in [
        ("/api/v1/incidents?limit=abc".to_owned(), "limit"),
        ("/api/v1/incidents?open=yes".to_owned(), "open"),
        ("/api/v1/incidents?colour=red".to_owned(), "colour"),
        (
            "/api/v1/observables/search?kind=ipv4&value=1.2.3.4".to_owned(),
            "kind",
        ),
        ("/api/v1/observables/search?kind=ip".to_owned(), "value"),
        (format!("/api/v1/incidents/{id}/timeline?lang=fr"), "lang"),
        ("/api/v1/incidents/abc".to_owned(), "id"),
    ] {
        let (status, problem) = api.call(Method::GET, &uri, None).await;
        assert_eq!(
            (status, field_of(&problem)),
            (StatusCode::BAD_REQUEST, field),
            "{uri}: {problem}"
        );
    }
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/tasks/x/complete"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::BAD_REQUEST, "task_id")
    );

    // A decision option without its scenario misses the point of the record.
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/decisions"),
            Some(json!({"question": "Cut the internet?",
                        "options": [{"label": "Cut now", "scenario": "Web down"}, {"label": "Wait"}]})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "options[1].scenario")
    );

    // Nothing was created or changed by any of the refused requests.
    let list = api.get("/api/v1/incidents").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}")).await,
        after_stale
    );
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/timeline")).await,
        json!([])
    );
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/decisions")).await,
        json!([])
    );
}

#[tokio::test]
async fn bad_input_on_sqlite() {
    bad_input_is_refused_naming_the_field_and_nothing_changes(Api::sqlite().await).await;
}

#[tokio::test]
async fn bad_input_on_postgres() {
    if let Some(api) = Api::postgres().await {
        bad_input_is_refused_naming_the_field_and_nothing_changes(api).await;
    }
}

#[tokio::test]
async fn editing_the_impact_keeps_the_rest_and_moves_the_legal_clocks() {
    let api = Api::sqlite().await;
    let inc = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Web server compromise", "category": "unauthorised_access", "aware_at": "2026-06-20T03:00:00Z",
                   "impact": {"availability": true, "notes": "shop closed"}}),
        )
        .await;
    let id = inc["id"].as_i64().unwrap();
    assert_eq!(inc["legal_clocks"], json!([]));
    // Triage finds customer records on the server.
    let patched = api
        .patch(
            &format!("/api/v1/incidents/{id}"),
            json!({"version": 1, "impact": {"personal_data": true, "personal_data_count": 3400}}),
        )
        .await;
    assert_eq!(patched["impact"]["availability"], true);
    assert_eq!(patched["impact"]["notes"], "shop closed");
    assert_eq!(patched["impact"]["personal_data_count"], 3400);
    let kinds: Vec<&str> = patched["legal_clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["appi_preliminary", "appi_final"]);
    assert_eq!(patched["legal_clocks"][1]["due_at"], "2026-07-20T03:00:00Z");
    // It was an attack, and awareness was a day earlier than first recorded.
    let again = api
        .patch(
            &format!("/api/v1/incidents/{id}"),
            json!({"version": 2, "aware_at": "2026-06-19T03:00:00Z", "impact": {"unauthorised_act": true}}),
        )
        .await;
    assert_eq!(again["legal_clocks"].as_array().unwrap().len(), 2);
    assert_eq!(again["legal_clocks"][0]["due_at"], "2026-06-22T03:00:00Z");
    assert_eq!(
        again["legal_clocks"][1]["due_at"], "2026-08-18T03:00:00Z",
        "60 days from the new awareness time"
    );
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/legal-clocks"),
            Some(json!({"kind": "appi_final"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
}

#[tokio::test]
async fn every_api_route_requires_a_valid_bearer_token() {
    let api = Api::sqlite().await;
    let doc = kizuki_server::openapi();
    let mut checked = 0;
    for (path, item) in &doc.paths.paths {
        let uri = path
            .replace("{id}", "1")
            .replace("{task_id}", "1")
            .replace("{decision_id}", "1")
            .replace("{evidence_id}", "1")
            .replace("{clock_id}", "1");
        let uri = if uri.contains("observables/search") {
            format!("{uri}?kind=ip&value=192.0.2.1")
        } else {
            uri
        };
        let mut methods = Vec::new();
        if item.get.is_some() {
            methods.push(Method::GET);
        }
        if item.post.is_some() {
            methods.push(Method::POST);
        }
        if item.patch.is_some() {
            methods.push(Method::PATCH);
        }
        if item.delete.is_some() {
            methods.push(Method::DELETE);
        }
        // Signing in, enrolment and the report form are open to anyone; tests/security.rs
        // covers them.
        if matches!(
            path.as_str(),
            "/api/v1/auth/login" | "/api/v1/auth/enrol" | "/api/v1/reports"
        ) {
            continue;
        }
        for method in methods {
            for auth in [
                None,
                Some("Bearer kzk_wrong"),
                Some("Basic Y3NpcnQ6cGFzcw=="),
            ] {
                let mut req = Request::builder()
                    .method(method.clone())
                    .uri(&uri)
                    .header(header::CONTENT_TYPE, "application/json");
                if let Some(a) = auth {
                    req = req.header(header::AUTHORIZATION, a);
                }
                let (status, ct, _) = api.raw(req.body(Body::from("{}")).unwrap()).await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} with {auth:?}"
                );
                assert_eq!(ct, "application/problem+json");
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "only {checked} route checks");
    // The open routes stay open.
    let (status, _, _) = api
        .raw(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = api
        .raw(
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn playbook_tasks_complete_into_the_timeline() {
    let api = Api::sqlite().await;
    let inc = api
        .post("/api/v1/incidents", json!({"title": "Ransomware on FS01", "category": "ransomware", "start_date": "2026-06-19"}))
        .await;
    let id = inc["id"].as_i64().unwrap();
    let tasks = api
        .post(
            &format!("/api/v1/incidents/{id}/playbooks"),
            json!({"playbook": "ransomware"}),
        )
        .await;
    let tasks = tasks.as_array().unwrap();
    assert!(
        tasks.len() >= 8,
        "ransomware playbook has {} tasks",
        tasks.len()
    );
    let lanes: std::collections::BTreeSet<&str> =
        tasks.iter().map(|t| t["lane"].as_str().unwrap()).collect();
    assert!(lanes.len() >= 3, "tasks span the lanes: {lanes:?}");
    let first = &tasks[0];
    api.clock.advance(jiff::SignedDuration::from_mins(30));
    let done = api
        .post(
            &format!("/api/v1/incidents/{id}/tasks/{}/complete", first["id"]),
            json!({"note": "done by phone"}),
        )
        .await;
    assert_eq!(done["task"]["status"], "done");
    assert_eq!(done["timeline_entry"]["source"], "task");
    assert_eq!(done["timeline_entry"]["lane"], first["lane"]);
    assert_eq!(
        done["timeline_entry"]["occurred_at"],
        "2026-06-20T03:30:00Z"
    );
    // 2026-06-19 is Day 1; 12:30 in Tokyo on the 20th, a Saturday, is Day 2 (holiday).
    assert_eq!(done["timeline_entry"]["day_label"], "2日目（休）12:30");
    let en = api
        .get(&format!("/api/v1/incidents/{id}/timeline?lang=en"))
        .await;
    assert_eq!(en[0]["day_label"], "Day 2 (holiday) 12:30");
    assert_eq!(en[0]["holiday"], true);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/tasks/{}/complete", first["id"]),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let second = &tasks[1];
    let ticked = api
        .patch(
            &format!("/api/v1/incidents/{id}/tasks/{}", second["id"]),
            json!({"checklist_item": {"index": 0, "done": true}}),
        )
        .await;
    assert_eq!(ticked["checklist"][0]["done"], true);
    assert_eq!(ticked["status"], "open");
    let (status, problem) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}/tasks/{}", second["id"]),
            Some(json!({"checklist_item": {"index": 99, "done": true}})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "checklist_item.index")
    );
    let (status, problem) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}/tasks/{}", first["id"]),
            Some(json!({"status": "skipped"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::CONFLICT, "status"),
        "a done task stays done"
    );
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/playbooks"),
            Some(json!({"playbook": "ransomware"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::CONFLICT, "playbook"),
        "applying twice would double the tasks"
    );
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/tasks"))
            .await
            .as_array()
            .unwrap()
            .len(),
        tasks.len()
    );
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/tasks/{}/complete", tasks[1]["id"]),
            Some(json!({"actor": "x".repeat(500)})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "actor")
    );
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/timeline"))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/playbooks"),
            Some(json!({"playbook": "nope"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "playbook")
    );
}

#[tokio::test]
async fn observables_link_incidents_that_share_them() {
    let api = Api::sqlite().await;
    let av = api
        .post(
            "/api/v1/incidents",
            json!({"title": "AV detection on PC-12", "category": "targeted_email"}),
        )
        .await;
    let ids = api
        .post(
            "/api/v1/incidents",
            json!({"title": "IDS alert: C2 traffic", "category": "unauthorised_access"}),
        )
        .await;
    let (a, b) = (av["id"].as_i64().unwrap(), ids["id"].as_i64().unwrap());
    api.post(
        &format!("/api/v1/incidents/{a}/observables"),
        json!({"kind": "domain", "value": "c2.Evil-Example[.]com"}),
    )
    .await;
    let linked = api
        .post(
            &format!("/api/v1/incidents/{b}/observables"),
            json!({"kind": "domain", "value": "C2.evil-example.com."}),
        )
        .await;
    assert_eq!(linked["normalized"], "c2.evil-example.com");
    assert_eq!(linked["shared_with"][0]["incident_id"], a);
    let found = api
        .get("/api/v1/observables/search?kind=domain&value=c2.evil-example.com")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 2);
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{a}/observables"),
            Some(json!({"kind": "ip", "value": "300.1.1.1"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "value")
    );
}

#[tokio::test]
async fn evidence_and_legal_clocks_over_http() {
    let api = Api::sqlite().await;
    let inc = api
        .post("/api/v1/incidents", json!({"title": "Customer data leak", "category": "data_leak", "aware_at": "2026-06-20T03:00:00Z",
                                          "impact": {"personal_data": true, "personal_data_count": 5300, "gdpr": true}}))
        .await;
    let id = inc["id"].as_i64().unwrap();
    let kinds: Vec<&str> = inc["legal_clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["appi_preliminary", "appi_final", "gdpr"]);
    assert_eq!(
        inc["legal_clocks"][1]["due_at"], "2026-07-20T03:00:00Z",
        "30 days without an unauthorised act"
    );
    api.clock.advance(jiff::SignedDuration::from_hours(80));
    let clocks = api
        .get(&format!("/api/v1/incidents/{id}/legal-clocks"))
        .await;
    assert_eq!(clocks[0]["status"], "due");
    assert_eq!(clocks[2]["status"], "overdue");
    let custom = api
        .post(
            &format!("/api/v1/incidents/{id}/legal-clocks"),
            json!({"kind": "custom", "name": "Notify key customer (contract)", "hours": 24}),
        )
        .await;
    assert_eq!(custom["status"], "overdue");
    let met = api
        .post(
            &format!(
                "/api/v1/incidents/{id}/legal-clocks/{}/met",
                clocks[2]["id"]
            ),
            json!({}),
        )
        .await;
    assert_eq!(met["status"], "met");

    let item = api
        .post(&format!("/api/v1/incidents/{id}/evidence"),
              json!({"name": "Web server image", "sha256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "collected_by": "Ops"}))
        .await;
    assert_eq!(
        item["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    api.post(
        &format!("/api/v1/incidents/{id}/evidence/{}/custody", item["id"]),
        json!({"action": "transferred", "handler": "Forensic vendor", "location": "Vendor lab"}),
    )
    .await;
    let listed = api.get(&format!("/api/v1/incidents/{id}/evidence")).await;
    assert_eq!(listed[0]["custody"].as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["location"], "Vendor lab");
    let (status, problem) = api
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/evidence"),
            Some(json!({"name": "x", "sha256": "1234", "collected_by": "Ops"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "sha256")
    );
}

#[test]
fn openapi_document_is_stable() {
    let doc = serde_json::to_value(kizuki_server::openapi()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    // Regression: enums declared through `string_enum!` once showed their Rust names
    // ("ItBusiness") while the API speaks and accepts only the wire names ("it_business").
    let lanes: Vec<&str> = kizuki_domain::timeline::Lane::ALL
        .iter()
        .map(|l| l.as_str())
        .collect();
    assert_eq!(doc["components"]["schemas"]["Lane"]["enum"], json!(lanes));
    let mut shouted = Vec::new();
    every_enum_value(&doc, &mut shouted);
    assert!(
        shouted.is_empty(),
        "enum values the API never sends: {shouted:?}"
    );
    // Sorted keys: serde_json's map order depends on features other crates turn on.
    insta::with_settings!({ sort_maps => true }, {
        insta::assert_json_snapshot!("openapi", doc);
    });
}

/// Collects enum values in the document that are not snake_case words.
fn every_enum_value(node: &Value, shouted: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get("enum") {
                shouted.extend(
                    values
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|v| v.chars().any(|c| c.is_ascii_uppercase()))
                        .map(str::to_owned),
                );
            }
            map.values().for_each(|v| every_enum_value(v, shouted));
        }
        Value::Array(items) => items.iter().for_each(|v| every_enum_value(v, shouted)),
        _ => {}
    }
}

#[tokio::test]
async fn the_reference_library_is_searchable_in_both_languages() {
    let api = Api::sqlite().await;
    let all = api.get("/api/v1/reference/cases").await;
    assert_eq!(all.as_array().unwrap().len(), 10);
    let ransomware = api.get("/api/v1/reference/cases?category=ransomware").await;
    let ids: Vec<&str> = ransomware
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"case-03"), "{ids:?}");
    let ja = api.get("/api/v1/reference/cases?q=%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0%E3%82%A6%E3%82%A7%E3%82%A2").await;
    let en = api.get("/api/v1/reference/cases?q=RANSOMWARE").await;
    assert!(!ja.as_array().unwrap().is_empty());
    assert!(!en.as_array().unwrap().is_empty());
    let case = api.get("/api/v1/reference/cases/3").await;
    assert_eq!(case["id"], "case-03");
    assert!(case["timeline"].as_array().unwrap().len() >= 10);
    let (status, problem) = api
        .call(
            Method::GET,
            "/api/v1/reference/cases?lesson_category=astrology",
            None,
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::BAD_REQUEST, "lesson_category")
    );
    let (status, _) = api
        .call(Method::GET, "/api/v1/reference/cases/case-11", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_token_stops_working_despite_the_lookup_cache() {
    let api = Api::sqlite().await;
    let now = api.clock.now();
    let user = api
        .store
        .user_by_email("csirt@example.jp")
        .await
        .unwrap()
        .unwrap();
    let short = "kzk_short-lived-token";
    api.store
        .create_token(
            user.id,
            "short",
            &TokenScope::full(),
            &token_hash(short),
            now,
            Some(
                now.checked_add(jiff::SignedDuration::from_mins(10))
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    let req = |t: &str| {
        Request::get("/api/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(api.raw(req(short)).await.0, StatusCode::OK);
    assert_eq!(
        api.raw(req(short)).await.0,
        StatusCode::OK,
        "served from the cache"
    );
    api.clock.advance(jiff::SignedDuration::from_mins(11));
    assert_eq!(api.raw(req(short)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_new_log_is_swept_for_every_known_observable() {
    let api = Api::sqlite().await;
    let earlier = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Phishing reported by sales", "category": "targeted_email"}),
        )
        .await;
    let now = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Odd logons on the file server", "category": "unauthorised_access"}),
        )
        .await;
    let (a, b) = (earlier["id"].as_i64().unwrap(), now["id"].as_i64().unwrap());
    let upload = |id: i64, body: Vec<u8>, ct: &str| {
        Request::post(format!("/api/v1/incidents/{id}/sweeps"))
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, ct.to_owned())
            .body(Body::from(body))
            .unwrap()
    };
    let log = concat!(
        r#"{"@timestamp":"2026-06-20T01:00:00Z","host":{"name":"FS01"},"event":{"code":"4625"},"source":{"ip":"198.51.100.20"}}"#,
        "\n",
        r#"{"@timestamp":"2026-06-20T01:05:00Z","host":{"name":"FS01"},"event":{"code":"4624"},"source":{"ip":"203.0.113.9"},"user":{"name":"svc-backup"}}"#,
        "\n",
        "this line is not json\n",
    );

    // Nothing known yet: nothing to sweep for.
    let (status, _, bytes) = api
        .raw(upload(
            b,
            log.as_bytes().to_vec(),
            "application/octet-stream",
        ))
        .await;
    let problem: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "observables")
    );

    api.post(
        &format!("/api/v1/incidents/{a}/observables"),
        json!({"kind": "ip", "value": "203.0.113.9"}),
    )
    .await;
    let (status, _, bytes) = api
        .raw(upload(
            b,
            log.as_bytes().to_vec(),
            "application/octet-stream",
        ))
        .await;
    let report: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["events"], 2);
    assert_eq!(report["hits"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["hits"][0]["record"], 2);
    assert_eq!(report["timeline_entries_added"], 1);
    assert_eq!(report["observables_added"], 1);
    assert_eq!(
        report["unreadable"].as_array().unwrap().len(),
        1,
        "the broken line is reported"
    );

    // The new incident now holds the indicator, and with it the link to the earlier one.
    let observables = api.get(&format!("/api/v1/incidents/{b}/observables")).await;
    assert_eq!(observables[0]["normalized"], "203.0.113.9");
    assert_eq!(observables[0]["shared_with"][0]["incident_id"], a);
    let timeline = api
        .get(&format!("/api/v1/incidents/{b}/timeline?lang=en"))
        .await;
    assert_eq!(timeline[0]["source"], "import");
    assert_eq!(timeline[0]["occurred_at"], "2026-06-20T01:05:00Z");

    let (status, _, _) = api
        .raw(upload(b, Vec::new(), "application/octet-stream"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = api
        .raw(upload(b, log.as_bytes().to_vec(), "text/plain"))
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = api
        .raw(upload(
            b,
            vec![b'x'; 65 * 1024 * 1024],
            "application/octet-stream",
        ))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = api
        .raw(upload(
            9999,
            log.as_bytes().to_vec(),
            "application/octet-stream",
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_cached_timeline_is_never_stale() {
    let api = Api::sqlite().await;
    let inc = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Cache check", "category": "other", "start_date": "2026-06-15"}),
        )
        .await;
    let id = inc["id"].as_i64().unwrap();
    let entry = |text: &str| json!({"day": 2, "time_of_day": "09:00", "lane": "ciso_csirt", "kind": "analysis", "text": text});
    api.post(&format!("/api/v1/incidents/{id}/timeline"), entry("first"))
        .await;
    let uri = format!("/api/v1/incidents/{id}/timeline?lang=en");
    let first = api.get(&uri).await;
    assert_eq!(
        api.get(&uri).await,
        first,
        "the second read is served from the cache"
    );
    assert_eq!(first[0]["day_label"], "Day 2 9:00");

    // A new entry is visible at once.
    api.post(&format!("/api/v1/incidents/{id}/timeline"), entry("second"))
        .await;
    let second = api.get(&uri).await;
    assert_eq!(second.as_array().unwrap().len(), 2);

    // Moving Day 1 relabels every entry.
    api.patch(
        &format!("/api/v1/incidents/{id}"),
        json!({"version": 1, "start_date": "2026-06-13"}),
    )
    .await;
    let relabelled = api.get(&uri).await;
    assert_eq!(relabelled[0]["day_label"], "Day 4 9:00");
    // And the other language is its own rendering.
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/timeline?lang=ja"))
            .await[0]["day_label"],
        "4日目 9:00"
    );
}

#[tokio::test]
async fn contact_details_can_be_corrected_and_decisions_read_one_by_one() {
    let api = Api::sqlite().await;
    let inc = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Supplier mail", "category": "targeted_email"}),
        )
        .await;
    let id = inc["id"].as_i64().unwrap();
    let party = api
        .post(
            &format!("/api/v1/incidents/{id}/parties"),
            json!({"kind": "vendor_forensics", "name": "Forensics Co.", "phone": "03-0000-0000"}),
        )
        .await;
    let uri = format!("/api/v1/incidents/{id}/parties/{}", party["id"]);
    let fixed = api
        .patch(
            &uri,
            json!({"phone": "03-1234-5678", "fallback_channel": "Account manager's mobile"}),
        )
        .await;
    assert_eq!(fixed["phone"], "03-1234-5678");
    assert_eq!(fixed["name"], "Forensics Co.", "fields left out stay");
    let (status, problem) = api
        .call(
            Method::PATCH,
            &uri,
            Some(json!({"email": "not-an-address"})),
        )
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "email")
    );
    let (status, problem) = api
        .call(Method::PATCH, &uri, Some(json!({"telephone": "1"})))
        .await;
    assert_eq!(
        (status, field_of(&problem)),
        (StatusCode::BAD_REQUEST, "telephone")
    );
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/parties")).await[0],
        fixed,
        "refused edits changed nothing"
    );
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}/parties/999"),
            Some(json!({"phone": "1"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let decision = api
        .post(
            &format!("/api/v1/incidents/{id}/decisions"),
            json!({"question": "Call in a third-party investigator?",
                   "options": [{"label": "Yes, today", "scenario": "Independent findings for customers and regulators"},
                               {"label": "No", "scenario": "Faster, but our own word only"}]}),
        )
        .await;
    let one = api
        .get(&format!(
            "/api/v1/incidents/{id}/decisions/{}",
            decision["id"]
        ))
        .await;
    assert_eq!(one, decision);
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}/decisions/999"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn lane_owners_over_http(api: Api) {
    let made = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Ransomware at the plant", "category": "ransomware"}),
        )
        .await;
    let id = made["id"].as_i64().unwrap();
    let responder = api
        .store
        .create_user(
            &kizuki_domain::user::NewUser::new(
                &format!("owner{}@example.jp", common::unique()),
                "Aoi",
                kizuki_domain::user::Role::Responder,
            )
            .unwrap(),
            api.clock.now(),
        )
        .await
        .unwrap();
    let uri = format!("/api/v1/incidents/{id}/lane-owners/it_business");

    // A body that forgot the person is refused, not taken as "nobody".
    let (status, problem) = api.call(Method::PUT, &uri, Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(field_of(&problem), "user_id", "{problem}");
    // A lane that does not exist names the path segment.
    let (status, problem) = api
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{id}/lane-owners/kitchen"),
            Some(json!({"user_id": responder.id})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    // Nobody by that id.
    let (status, problem) = api
        .call(Method::PUT, &uri, Some(json!({"user_id": 987_654})))
        .await;
    assert!(status.is_client_error(), "{status} {problem}");
    assert!(api.store.list_lane_owners(id).await.unwrap().is_empty());

    let (status, owners) = api
        .call(Method::PUT, &uri, Some(json!({"user_id": responder.id})))
        .await;
    assert_eq!(status, StatusCode::OK, "{owners}");
    assert_eq!(owners[0]["lane"], "it_business");
    assert_eq!(owners[0]["display_name"], "Aoi");
    assert!(api.store.is_member(id, responder.id).await.unwrap());
    let listed = api
        .get(&format!("/api/v1/incidents?lane_owner={}", responder.id))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["id"], id);

    let (status, owners) = api
        .call(Method::PUT, &uri, Some(json!({"user_id": null})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(owners, json!([]));
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/lane-owners"))
            .await,
        json!([])
    );
    assert!(
        api.store.is_member(id, responder.id).await.unwrap(),
        "clearing a lane keeps the membership"
    );
}

#[tokio::test]
async fn lane_owners_over_http_on_sqlite() {
    lane_owners_over_http(Api::sqlite().await).await;
}

#[tokio::test]
async fn lane_owners_over_http_on_postgres() {
    if let Some(api) = Api::postgres().await {
        lane_owners_over_http(api).await;
    }
}

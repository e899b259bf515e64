//! How long the server takes to answer the incident page of a long incident, and how big
//! the page is. In process (the real router, a real SQLite file), so the figure is the
//! server's own work: reading the incident, its timeline and the rest, and rendering.
//!
//! ```sh
//! cargo run --release -p kizuki-server --example page_bench -- 2000 50
//! ```
//! Arguments: timeline entries (default 2000), rounds (default 50).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use kizuki_auth::audit_chain::AuditKey;
use kizuki_domain::clock::ManualClock;
use kizuki_domain::incident::{Category, DetectionSource, NewIncident};
use kizuki_domain::settings::OrgSettings;
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, NewTimelineEntry};
use kizuki_domain::user::{NewSession, NewUser, Role, SessionStage};
use kizuki_server::AppState;
use kizuki_store::Store;
use tower::ServiceExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let entries: usize = args.next().map_or(2000, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(50, |a| a.parse().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let store = kizuki_store_sqlite::SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let now: Timestamp = "2026-06-30T03:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let settings = OrgSettings::default();
    let user = store
        .create_user(
            &NewUser::new("ic@example.jp", "Commander", Role::IncidentCommander).unwrap(),
            now,
        )
        .await
        .unwrap();
    let secret = "kzs_page-bench-session";
    store
        .create_session(
            &NewSession {
                user_id: user.id,
                secret_hash: kizuki_auth::secret::hash_secret(secret),
                stage: SessionStage::Full,
                expires_at: now
                    .checked_add(jiff::SignedDuration::from_hours(8))
                    .unwrap(),
                address: None,
                user_agent: "bench".into(),
            },
            now,
        )
        .await
        .unwrap();
    let new = NewIncident {
        title: "Ransomware across three plants".into(),
        summary: "A long incident for the page benchmark".into(),
        category: Category::Ransomware,
        severity: Some(3),
        phase: None,
        detection_source: DetectionSource::Edr,
        start_date: Some("2026-06-01".parse().unwrap()),
        start_basis: None,
        aware_at: None,
        affected_units: vec![],
        affected_assets: vec![],
        impact: Default::default(),
        restricted: false,
    };
    let fields = new
        .into_fields(
            &settings.severity,
            now,
            &settings.time_zone,
            settings.start_basis,
        )
        .unwrap();
    let incident = store
        .create_incident(&fields, &[], Some(user.id), now)
        .await
        .unwrap();
    let lanes = [
        Lane::ManagementPr,
        Lane::CisoCsirt,
        Lane::ItBusiness,
        Lane::External,
    ];
    for i in 0..entries {
        // Spread over 30 days, a few minutes apart, in all four lanes.
        let day = i64::try_from(i * 30 / entries.max(1)).unwrap() + 1;
        let minute = (i * 7) % (24 * 60);
        let entry = NewTimelineEntry {
            occurred_at: None,
            day: Some(day),
            time_of_day: Some(format!("{:02}:{:02}", minute / 60, minute % 60)),
            week: None,
            precision: None,
            day_part: None,
            lane: lanes[i % lanes.len()],
            actor: format!("Responder {}", i % 12),
            kind: EntryKind::Analysis,
            text: format!(
                "Checked host FS-{i:04}: encrypted shares found, isolated from the network and imaged"
            ),
            source: EntrySource::Manual,
        };
        let f = entry
            .into_fields(incident.start_date, &settings.time_zone, now)
            .unwrap();
        store
            .add_timeline_entry(incident.id, &f, Some(user.id), now)
            .await
            .unwrap();
    }
    let state = AppState::new(
        Arc::clone(&store),
        clock,
        settings,
        kizuki_playbook::Library::builtin().unwrap(),
        kizuki_reference::Library::builtin().unwrap(),
        AuditKey::generate(&mut rand::rng()),
    );
    let app = kizuki_server::app(state);
    let uri = format!("/incidents/{}?lang=ja", incident.id);
    let fetch_with = |uri: String, gzip: bool| {
        let app = app.clone();
        async move {
            let mut req = Request::builder()
                .uri(uri)
                .header(header::COOKIE, format!("kizuki_session={secret}"));
            if gzip {
                // As a browser navigating on the site asks for it.
                req = req
                    .header(header::ACCEPT_ENCODING, "gzip")
                    .header("sec-fetch-site", "same-origin");
            }
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            res.into_body().collect().await.unwrap().to_bytes()
        }
    };
    let fetch = |uri: String| fetch_with(uri, false);
    let page = fetch(uri.clone()).await;
    let html = String::from_utf8_lossy(&page);
    let asset = |marker: &str| {
        let at = html.find(marker).unwrap() + marker.len();
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    let css = fetch(asset("<link rel=\"stylesheet\" href=\"")).await;
    let js = fetch(asset("<script src=\"")).await;
    let page_gz = fetch_with(uri.clone(), true).await;
    let css_gz = fetch_with(asset("<link rel=\"stylesheet\" href=\""), true).await;
    let js_gz = fetch_with(asset("<script src=\""), true).await;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let body = fetch(uri.clone()).await;
        times.push(started.elapsed());
        assert_eq!(body.len(), page.len());
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    println!("incident page, {entries} timeline entries, {rounds} rounds (SQLite, in process)");
    println!(
        "  time to answer: median {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(median),
        ms(p95),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    println!(
        "  sizes: page {:.1} KB, stylesheet {:.1} KB, script {:.1} KB, total {:.1} KB (uncompressed)",
        page.len() as f64 / 1024.0,
        css.len() as f64 / 1024.0,
        js.len() as f64 / 1024.0,
        (page.len() + css.len() + js.len()) as f64 / 1024.0
    );
    println!(
        "  transferred with gzip: page {:.1} KB, stylesheet {:.1} KB, script {:.1} KB, total {:.1} KB",
        page_gz.len() as f64 / 1024.0,
        css_gz.len() as f64 / 1024.0,
        js_gz.len() as f64 / 1024.0,
        (page_gz.len() + css_gz.len() + js_gz.len()) as f64 / 1024.0
    );
    let mut gz_times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        fetch_with(uri.clone(), true).await;
        gz_times.push(started.elapsed());
    }
    gz_times.sort();
    println!(
        "  time to answer with gzip: median {:.1} ms, p95 {:.1} ms",
        ms(gz_times[gz_times.len() / 2]),
        ms(gz_times[(gz_times.len() * 95 / 100).min(gz_times.len() - 1)])
    );
}

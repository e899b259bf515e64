//! What every store story shares: the two backends and a few fixtures.
//!
//! SQLite runs everywhere. PostgreSQL runs when `KIZUKI_TEST_POSTGRES_URL` points at a
//! server where databases may be created (`.ci/run` starts one); under CI a missing server
//! is a failure, not a skip. Each test gets a database of its own, so a story can count
//! exactly what it wrote.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::date;
use kizuki_domain::incident::{
    Category, DetectionSource, Impact, IncidentFields, Phase, StartBasis,
};
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields};
use kizuki_domain::user::{NewUser, Role, User};
use kizuki_store::Store;

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn fields(title: &str) -> IncidentFields {
    IncidentFields {
        title: title.into(),
        summary: "Files on the file servers were encrypted; a ransom note was found.".into(),
        category: Category::Ransomware,
        severity: 3,
        phase: Phase::Reported,
        detection_source: DetectionSource::UserReport,
        start_date: date(2026, 1, 5),
        start_basis: StartBasis::Occurrence,
        aware_at: at("2026-01-10T23:30:00.123456Z"),
        affected_units: vec!["Head office".into(), "All branches".into()],
        affected_assets: vec!["FS01".into()],
        impact: Impact {
            availability: true,
            confidentiality: true,
            personal_data: true,
            personal_data_count: Some(1200),
            unauthorised_act: true,
            notes: "e-mail down".into(),
            ..Impact::default()
        },
        restricted: false,
    }
}

pub fn entry(text: &str, lane: Lane, when: &str) -> TimelineEntryFields {
    TimelineEntryFields {
        occurred_at: at(when),
        precision: TimePrecision::Minute,
        day_part: None,
        lane,
        actor: "IT".into(),
        kind: EntryKind::Containment,
        text: text.into(),
        source: EntrySource::Manual,
    }
}

pub const NOW: &str = "2026-01-11T00:00:00Z";

pub async fn user(store: &dyn Store, email: &str, role: Role) -> User {
    store
        .create_user(&NewUser::new(email, "", role).unwrap(), at(NOW))
        .await
        .unwrap()
}

// --- the two backends ---------------------------------------------------------------------

pub async fn sqlite() -> Arc<dyn Store> {
    let dir =
        std::env::temp_dir().join(format!("kizuki-story-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("story.db").display());
    let store = kizuki_store_sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

pub async fn postgres() -> Option<Arc<dyn Store>> {
    let Ok(admin) = std::env::var("KIZUKI_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KIZUKI_TEST_POSTGRES_URL is not set under CI: the PostgreSQL half of the store story did not run"
        );
        eprintln!(
            "SKIPPED: set KIZUKI_TEST_POSTGRES_URL to run the store story on PostgreSQL (.ci/run does)"
        );
        return None;
    };
    let url = kizuki_store_postgres::create_test_database(&admin)
        .await
        .unwrap();
    let store = kizuki_store_postgres::PgStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    Some(Arc::new(store))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs each named story once per backend, as `on_sqlite::<name>` and `on_postgres::<name>`.
macro_rules! story {
    ($($name:ident => $body:expr;)*) => {
        mod on_sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = $crate::common::sqlite().await;
                    assert_eq!(store.backend(), "sqlite");
                    ($body)(store).await;
                }
            )*
        }
        mod on_postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(store) = $crate::common::postgres().await else { return };
                    assert_eq!(store.backend(), "postgres");
                    ($body)(store).await;
                }
            )*
        }
    };
}
pub(crate) use story;

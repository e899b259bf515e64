//! Filling the database directly through the store crates (not over HTTP).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures::future::try_join_all;
use kizuki_domain::clock::{Clock, SystemClock};
use kizuki_domain::incident::IncidentFilter;
use kizuki_store::Store;
use kizuki_store_postgres::PgStore;
use kizuki_store_sqlite::SqliteStore;

use crate::data;

/// What the load phases need to know about the filled database.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dataset {
    /// Incidents in the database (including the big one).
    pub incidents: u64,
    /// Lowest and highest id of the ordinary incidents (appends target this range).
    pub min_id: i64,
    pub max_id: i64,
    /// The incident with the long timeline.
    pub big_id: i64,
    pub big_entries: usize,
    /// Seconds the fill took in this run (0 if reused).
    pub fill_secs: f64,
    /// Incidents and entries written in this run.
    pub filled_incidents: u64,
    pub filled_entries: u64,
    pub reused: bool,
}

pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(url).await.context("opening SQLite")?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(
            PgStore::connect_with_pool_size(url, 24)
                .await
                .context("connecting to PostgreSQL")?,
        )
    } else {
        bail!("--database must be sqlite://PATH or postgres://…");
    };
    store.migrate().await.context("migrating")?;
    Ok(store)
}

async fn find_big(store: &dyn Store) -> Result<Option<i64>> {
    let page = store
        .list_incidents(&IncidentFilter {
            text: Some(data::BIG_MARKER.to_owned()),
            limit: 2,
            ..Default::default()
        })
        .await?;
    Ok(page.items.first().map(|i| i.id))
}

async fn newest_id(store: &dyn Store, before: Option<i64>) -> Result<Option<i64>> {
    let page = store
        .list_incidents(&IncidentFilter {
            before_id: before,
            limit: 1,
            ..Default::default()
        })
        .await?;
    Ok(page.items.first().map(|i| i.id))
}

/// Fills `incidents` incidents with `per_incident` entries each, plus the big incident,
/// or reuses what is there when `reuse` is set and the database is full enough.
pub async fn fill(
    store: Arc<dyn Store>,
    incidents: u64,
    per_incident: usize,
    big_entries: usize,
    workers: usize,
    reuse: bool,
) -> Result<Dataset> {
    let existing = store.count_incidents(None).await?;
    if existing > 0 && !reuse {
        bail!(
            "the database already holds {existing} incidents; pass --reuse to benchmark it \
             as it is, or point --database at a fresh file/database"
        );
    }
    let big_before = find_big(store.as_ref()).await?;
    let ordinary_existing = existing.saturating_sub(u64::from(big_before.is_some()));
    let to_fill = incidents.saturating_sub(ordinary_existing);

    let started = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let entries_written = Arc::new(AtomicU64::new(0));
    if to_fill > 0 {
        eprintln!(
            "filling {to_fill} incidents × {per_incident} entries with {workers} concurrent writers…"
        );
        let workers = workers.max(1) as u64;
        let mut tasks = Vec::new();
        for w in 0..workers {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            let entries_written = Arc::clone(&entries_written);
            tasks.push(tokio::spawn(async move {
                let mut n = w;
                while n < to_fill {
                    let seq = ordinary_existing + n;
                    let fields = data::incident(seq);
                    let now = SystemClock.now();
                    let inc = store.create_incident(&fields, &[], None, now).await?;
                    let entries = data::entries(seq, fields.aware_at, per_incident);
                    if !entries.is_empty() {
                        store
                            .add_timeline_entries(inc.id, &entries, None, now)
                            .await?;
                    }
                    entries_written.fetch_add(entries.len() as u64, Ordering::Relaxed);
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if d.is_multiple_of(10_000) {
                        eprintln!(
                            "  {d}/{to_fill} incidents after {:.0} s",
                            started.elapsed().as_secs_f64()
                        );
                    }
                    n += workers;
                }
                anyhow::Ok(())
            }));
        }
        for r in try_join_all(tasks).await? {
            r?;
        }
    }
    let big_id = match big_before {
        Some(id) => id,
        None => {
            let fields = data::big_incident();
            let now = SystemClock.now();
            let inc = store.create_incident(&fields, &[], None, now).await?;
            let entries = data::entries(u64::MAX, fields.aware_at, big_entries);
            for chunk in entries.chunks(100) {
                store.add_timeline_entries(inc.id, chunk, None, now).await?;
            }
            entries_written.fetch_add(entries.len() as u64, Ordering::Relaxed);
            inc.id
        }
    };
    let fill_secs = if to_fill > 0 || big_before.is_none() {
        started.elapsed().as_secs_f64()
    } else {
        0.0
    };

    let total = store.count_incidents(None).await?;
    let max_any = newest_id(store.as_ref(), None)
        .await?
        .context("no incidents after the fill")?;
    // The big incident is normally the newest; appends should not target it.
    let max_id = if max_any == big_id {
        newest_id(store.as_ref(), Some(big_id))
            .await?
            .context("no ordinary incidents")?
    } else {
        max_any
    };
    let ordinary = total.saturating_sub(1).max(1);
    let min_id = max_id
        .saturating_sub(i64::try_from(ordinary)?.saturating_sub(1))
        .max(1);
    let big_len = store
        .list_timeline(big_id, &kizuki_store::TimelineQuery::default())
        .await?
        .len();
    Ok(Dataset {
        incidents: total,
        min_id,
        max_id,
        big_id,
        big_entries: big_len,
        fill_secs,
        filled_incidents: done.load(Ordering::Relaxed),
        filled_entries: entries_written.load(Ordering::Relaxed),
        reused: to_fill == 0 && big_before.is_some(),
    })
}

//! Rendered timelines, kept while they are current. Reading a long timeline is the commonest
//! request during an incident (everyone has the page open), and its answer changes only when an
//! entry is added or the start date moves; the key holds both, so a stale answer is never served.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use jiff::civil::Date;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::Lane;

/// Everything the rendered answer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimelineKey {
    pub incident_id: i64,
    pub start_date: Date,
    pub lang: Language,
    pub lanes: Vec<Lane>,
    pub offset: u32,
    pub limit: u32,
    /// From `Store::timeline_stamp`: entry count and highest id.
    pub stamp: (u64, i64),
}

const MAX_ENTRIES: usize = 256;
const MAX_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct TimelineCache {
    entries: Mutex<HashMap<TimelineKey, Bytes>>,
}

impl TimelineCache {
    pub fn get(&self, key: &TimelineKey) -> Option<Bytes> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    pub fn put(&self, key: TimelineKey, body: Bytes) {
        if body.len() > MAX_BYTES {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            // Older renderings of the same view can never be served again.
            entries.retain(|k, _| {
                !(k.incident_id == key.incident_id
                    && k.lang == key.lang
                    && k.lanes == key.lanes
                    && k.offset == key.offset
                    && k.limit == key.limit)
            });
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, body);
        }
    }
}

//! A tabletop exercise as stored: which incident holds it, what it replays, and how fast
//! its clock runs. The engine that releases injects and compares the participants with the
//! original lives in `kizuki-exercise`; this is only the record a store keeps.
//!
//! An exercise runs on an incident of its own (marked [`Incident::exercise`]) so that the
//! participants use the ordinary timeline, tasks and decisions, and so that every metric
//! that counts incidents can leave exercises out.
//!
//! [`Incident::exercise`]: crate::incident::Incident::exercise

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::string_enum;

/// What an exercise replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExerciseSource {
    /// One of the study's ten cases, by number.
    ReferenceCase { number: u8 },
    /// A past incident of this organisation.
    Incident { incident_id: i64 },
}

string_enum! {
    pub enum ExerciseState: "exercise state" {
        Running => "running",
        Ended => "ended",
    }
}

/// The stored exercise. `script` and each action are the engine's JSON, which the store
/// keeps without reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseRecord {
    pub id: i64,
    pub incident_id: i64,
    pub source: ExerciseSource,
    pub title: String,
    /// Case minutes per real minute.
    pub speed: u32,
    pub started_at: Timestamp,
    /// Case minutes jumped over by the facilitator.
    pub skipped_minutes: i64,
    /// How many injects have been written to the incident's timeline; they are released in
    /// order, so this is a high-water mark.
    pub released: u32,
    pub state: ExerciseState,
    pub ended_at: Option<Timestamp>,
    pub script: String,
    /// The comparison computed at the end (engine JSON), kept so the report never changes.
    pub outcome: Option<String>,
    pub created_by: Option<i64>,
    pub version: i64,
}

/// One action or decision a participant recorded, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseActionRecord {
    pub id: i64,
    pub exercise_id: i64,
    /// The engine's JSON for the action.
    pub action: String,
    pub recorded_by: Option<i64>,
    pub recorded_at: Timestamp,
}

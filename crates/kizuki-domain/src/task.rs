//! Tasks: the playbook's steps, applied to one incident and owned by a lane.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::string_enum;
use crate::timeline::Lane;

string_enum! {
    pub enum TaskStatus: "task status" {
        Open => "open",
        Done => "done",
        Skipped => "skipped",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub text: String,
    pub done: bool,
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: i64,
    pub incident_id: i64,
    /// Which playbook (id@version) created it, if any.
    pub playbook: Option<String>,
    pub phase: String,
    pub title: String,
    pub lane: Lane,
    pub checklist: Vec<ChecklistItem>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// Why the task exists: the lesson and case that motivate it.
    pub rationale: String,
    pub status: TaskStatus,
    pub completed_by: Option<i64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    pub position: i64,
}

/// A task ready to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    pub playbook: Option<String>,
    pub phase: String,
    pub title: String,
    pub lane: Lane,
    pub checklist: Vec<ChecklistItem>,
    pub due_at: Option<Timestamp>,
    pub rationale: String,
    pub position: i64,
}

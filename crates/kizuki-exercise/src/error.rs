//! What can go wrong while building a script, running its clock or comparing.

/// Every failure names what to fix; none of them is a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExerciseError {
    /// The case has nothing to replay (case 7 of the study covers no single incident).
    #[error("case {case} has no timeline, so there is nothing to replay as injects")]
    NoTimeline { case: String },
    /// A past incident without timeline entries gives no injects either.
    #[error("incident {incident_id} has no timeline entries to replay")]
    EmptyIncidentTimeline { incident_id: i64 },
    /// Rehearsing a rehearsal would compare participants with other participants.
    #[error(
        "incident {incident_id} is itself an exercise; replay a real incident or a reference case"
    )]
    SourceIsExercise { incident_id: i64 },
    /// The incident's Day 1 does not exist in the given zone.
    #[error("the start date {date} cannot be placed in the time zone")]
    StartDateOutOfRange { date: String },
    /// A number outside what the engine accepts.
    #[error("`{field}` must be between {min} and {max}; got {value}")]
    OutOfRange {
        field: &'static str,
        min: i64,
        max: i64,
        value: i64,
    },
    /// A script edited by hand (or corrupted in storage) whose injects go back in time.
    #[error(
        "inject {index} comes before the inject listed ahead of it; a script must be in time order"
    )]
    ScriptNotOrdered { index: usize },
    /// An action names a decision point the script does not have.
    #[error("action {action} names decision point {point}, but the script has {count}")]
    UnknownDecisionPoint {
        action: usize,
        point: usize,
        count: usize,
    },
}

impl ExerciseError {
    /// The input field at fault, for an API that reports errors field by field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::OutOfRange { field, .. } => Some(field),
            Self::UnknownDecisionPoint { .. } => Some("decision_point"),
            Self::StartDateOutOfRange { .. } => Some("start_date"),
            _ => None,
        }
    }
}

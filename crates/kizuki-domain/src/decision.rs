//! Decisions framed as options with outcome scenarios, because the study's executives
//! decided faster and better when they saw the choices side by side.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::error::{Validator, limits};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionOption {
    pub label: String,
    /// What is expected to happen if this option is taken.
    #[serde(default)]
    pub scenario: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub id: i64,
    pub incident_id: i64,
    pub question: String,
    pub options: Vec<DecisionOption>,
    /// Index into `options` once decided.
    pub chosen: Option<u32>,
    pub decided_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    pub rationale: String,
    /// When the decision must be taken by; a slow decision was one of the study's costliest.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decide_by: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    pub question: String,
    pub options: Vec<DecisionOption>,
    #[serde(default)]
    pub chosen: Option<u32>,
    #[serde(default)]
    pub decided_by: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decide_by: Option<Timestamp>,
}

/// Recording the outcome of an open decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionOutcome {
    pub chosen: u32,
    pub decided_by: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    #[serde(default)]
    pub rationale: String,
}

impl NewDecision {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("question", &self.question, limits::TEXT);
        if self.options.len() < 2 {
            v.push("options", "a decision needs at least two options");
        }
        if self.options.len() > 20 {
            v.push("options", "at most 20 options");
        }
        for (i, o) in self.options.iter().enumerate() {
            v.text(&format!("options[{i}].label"), &o.label, limits::TITLE);
            // The point of a decision record: each option with what happens if it is taken.
            v.text(&format!("options[{i}].scenario"), &o.scenario, limits::TEXT);
        }
        if let Some(c) = self.chosen {
            check_chosen(&mut v, c, self.options.len());
            if self.decided_by.trim().is_empty() {
                v.push("decided_by", "who decided must be recorded with the choice");
            }
        }
        v.optional_text("decided_by", &self.decided_by, limits::NAME);
        v.optional_text("rationale", &self.rationale, limits::TEXT);
        v.optional_instant("decided_at", self.decided_at);
        v.optional_instant("decide_by", self.decide_by);
        v.finish()
    }
}

impl DecisionOutcome {
    pub fn validate(&self, options: usize) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        check_chosen(&mut v, self.chosen, options);
        v.text("decided_by", &self.decided_by, limits::NAME);
        v.optional_text("rationale", &self.rationale, limits::TEXT);
        v.optional_instant("decided_at", self.decided_at);
        v.finish()
    }
}

fn check_chosen(v: &mut Validator, chosen: u32, options: usize) {
    if usize::try_from(chosen).map_or(true, |c| c >= options) {
        v.push(
            "chosen",
            format!("must be the index of an option (0..{options})"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(label: &str) -> DecisionOption {
        DecisionOption {
            label: label.into(),
            scenario: String::new(),
        }
    }

    #[test]
    fn a_decision_needs_two_options_and_a_valid_choice() {
        let d = NewDecision {
            question: "Pay the ransom?".into(),
            options: vec![option("Refuse")],
            chosen: Some(3),
            decided_by: "".into(),
            decided_at: None,
            rationale: String::new(),
            decide_by: None,
        };
        let fields: Vec<_> = d
            .validate()
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["options", "options[0].scenario", "chosen", "decided_by"]
        );
    }
}

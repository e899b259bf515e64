//! Escalation chains: if nobody acknowledges, the next person is told, then the next.
//!
//! One organisation in the study lost days because a decision waited on people who had not
//! been reached. A chain makes the waiting explicit: after the first notification, each step
//! names who is told next and how many minutes of silence it waits for. Any acknowledgement
//! stops the chain.
//!
//! [`EscalationChain::status`] is a pure function of what has happened and of `now`: call it
//! as often as you like and it gives the same answer until a step is recorded as sent. Each
//! step waits from the moment the previous one was actually *sent*, not from when it was due,
//! so after an outage the steps do not all fire at once and every recipient still gets their
//! full window to answer. Sending each step exactly once is the job table's business.

use jiff::{SignedDuration, Timestamp};
use kizuki_domain::ValidationError;
use kizuki_domain::error::{Validator, limits};
use serde::{Deserialize, Serialize};

use crate::rule::{Channel, Recipient};

/// One step after the first notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    pub recipients: Vec<Recipient>,
    pub channels: Vec<Channel>,
    /// Minutes without acknowledgement after the previous message before this step fires.
    pub after_minutes: u32,
}

/// An ordered chain of steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationChain {
    pub steps: Vec<EscalationStep>,
}

/// The longest wait a step may have: a week. Longer is not escalation any more.
pub const MAX_STEP_MINUTES: u32 = 7 * 24 * 60;

/// Most steps a chain may have.
pub const MAX_STEPS: usize = 20;

/// What has happened so far for one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// When the first notification went out; the chain counts from here.
    pub first_sent_at: Timestamp,
    /// When each step went out, in order: `sent[0]` is step 0. Its length is how many steps
    /// have been sent.
    pub sent: Vec<Timestamp>,
    /// When someone acknowledged, if anyone has.
    pub acknowledged_at: Option<Timestamp>,
}

/// Where the chain stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Someone acknowledged; nothing more will be sent.
    Acknowledged { at: Timestamp },
    /// Step `step` is due (since `due_at`) and should be sent now. If it is sent at `now`,
    /// the following step will be due at `next_due_at`.
    Due {
        step: usize,
        due_at: Timestamp,
        next_due_at: Option<Timestamp>,
    },
    /// Nothing is due yet; step `step` will be due at `due_at` unless someone acknowledges.
    Waiting { step: usize, due_at: Timestamp },
    /// Every step has been sent and nobody has answered.
    Exhausted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressError {
    #[error("{sent} steps are recorded as sent but the chain has only {steps}")]
    TooManySent { sent: usize, steps: usize },
    #[error("step {step} is recorded as sent before the message it follows")]
    OutOfOrder { step: usize },
}

fn minutes(m: u32) -> SignedDuration {
    SignedDuration::from_mins(i64::from(m))
}

impl EscalationChain {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        if self.steps.is_empty() {
            v.push("steps", "must have at least one step");
        }
        if self.steps.len() > MAX_STEPS {
            v.push("steps", format!("must have at most {MAX_STEPS} steps"));
        }
        for (i, s) in self.steps.iter().enumerate() {
            if s.recipients.is_empty() {
                v.push(
                    format!("steps[{i}].recipients"),
                    "must name at least one recipient",
                );
            }
            if s.recipients.len() > limits::LIST_ITEMS {
                v.push(
                    format!("steps[{i}].recipients"),
                    format!("must have at most {} entries", limits::LIST_ITEMS),
                );
            }
            if s.channels.is_empty() {
                v.push(
                    format!("steps[{i}].channels"),
                    "must name at least one channel",
                );
            }
            if !(1..=MAX_STEP_MINUTES).contains(&s.after_minutes) {
                v.push(
                    format!("steps[{i}].after_minutes"),
                    format!("must be between 1 and {MAX_STEP_MINUTES}"),
                );
            }
        }
        v.finish()
    }

    /// Where the chain stands. Inconsistent progress (more steps sent than exist, sends out
    /// of order) is an error rather than a guess, because it means a bug upstream.
    pub fn status(&self, progress: &Progress, now: Timestamp) -> Result<Status, ProgressError> {
        let sent = progress.sent.len();
        if sent > self.steps.len() {
            return Err(ProgressError::TooManySent {
                sent,
                steps: self.steps.len(),
            });
        }
        let mut previous = progress.first_sent_at;
        for (step, at) in progress.sent.iter().enumerate() {
            if *at < previous {
                return Err(ProgressError::OutOfOrder { step });
            }
            previous = *at;
        }
        if let Some(at) = progress.acknowledged_at {
            return Ok(Status::Acknowledged { at });
        }
        let Some(step) = self.steps.get(sent) else {
            return Ok(Status::Exhausted);
        };
        let due_at = crate::after(previous, minutes(step.after_minutes));
        if now < due_at {
            return Ok(Status::Waiting { step: sent, due_at });
        }
        let next_due_at = self
            .steps
            .get(sent + 1)
            .map(|s| crate::after(now, minutes(s.after_minutes)));
        Ok(Status::Due {
            step: sent,
            due_at,
            next_due_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kizuki_domain::user::Role;

    fn t(hm: &str) -> Timestamp {
        format!("2026-03-01T{hm}:00Z").parse().unwrap()
    }

    fn step(after_minutes: u32) -> EscalationStep {
        EscalationStep {
            recipients: vec![Recipient::Role {
                role: Role::Executive,
            }],
            channels: vec![Channel::Email],
            after_minutes,
        }
    }

    /// 15 minutes to the commander, 30 more to the CISO, 60 more to the executives.
    fn chain() -> EscalationChain {
        EscalationChain {
            steps: vec![step(15), step(30), step(60)],
        }
    }

    fn progress(sent: &[&str], ack: Option<&str>) -> Progress {
        Progress {
            first_sent_at: t("10:00"),
            sent: sent.iter().map(|s| t(s)).collect(),
            acknowledged_at: ack.map(t),
        }
    }

    #[test]
    fn status_table() {
        let c = chain();
        let cases: Vec<(&[&str], Option<&str>, &str, Status)> = vec![
            (
                &[],
                None,
                "10:00",
                Status::Waiting {
                    step: 0,
                    due_at: t("10:15"),
                },
            ),
            (
                &[],
                None,
                "10:14",
                Status::Waiting {
                    step: 0,
                    due_at: t("10:15"),
                },
            ),
            (
                &[],
                None,
                "10:15",
                Status::Due {
                    step: 0,
                    due_at: t("10:15"),
                    next_due_at: Some(t("10:45")),
                },
            ),
            // Sent late (outage): the next step counts from the real send.
            (
                &["10:40"],
                None,
                "10:50",
                Status::Waiting {
                    step: 1,
                    due_at: t("11:10"),
                },
            ),
            // Long outage: only the next step is due, never a burst of several.
            (
                &["10:15"],
                None,
                "14:00",
                Status::Due {
                    step: 1,
                    due_at: t("10:45"),
                    next_due_at: Some(t("15:00")),
                },
            ),
            (
                &["10:15", "10:45"],
                None,
                "11:45",
                Status::Due {
                    step: 2,
                    due_at: t("11:45"),
                    next_due_at: None,
                },
            ),
            (
                &["10:15", "10:45", "11:45"],
                None,
                "23:00",
                Status::Exhausted,
            ),
            (
                &[],
                Some("10:05"),
                "10:30",
                Status::Acknowledged { at: t("10:05") },
            ),
            (
                &["10:15"],
                Some("10:20"),
                "12:00",
                Status::Acknowledged { at: t("10:20") },
            ),
            (
                &["10:15", "10:45", "11:45"],
                Some("12:00"),
                "12:00",
                Status::Acknowledged { at: t("12:00") },
            ),
        ];
        for (sent, ack, now, expect) in cases {
            assert_eq!(
                c.status(&progress(sent, ack), t(now)).unwrap(),
                expect,
                "sent {sent:?} ack {ack:?} now {now}"
            );
        }
    }

    #[test]
    fn status_is_idempotent_until_a_send_is_recorded() {
        let c = chain();
        let p = progress(&[], None);
        let first = c.status(&p, t("10:20")).unwrap();
        for _ in 0..3 {
            assert_eq!(c.status(&p, t("10:20")).unwrap(), first);
        }
        let Status::Due {
            step, next_due_at, ..
        } = first
        else {
            panic!("{first:?}");
        };
        assert_eq!(step, 0);
        // Recording the send at that moment moves the chain to exactly the promised time.
        let p = progress(&["10:20"], None);
        assert_eq!(
            c.status(&p, t("10:20")).unwrap(),
            Status::Waiting {
                step: 1,
                due_at: next_due_at.unwrap()
            }
        );
    }

    #[test]
    fn walking_the_chain_sends_each_step_once() {
        let c = chain();
        let mut p = progress(&[], None);
        let mut sends = Vec::new();
        let mut now = t("10:00");
        while now <= t("14:00") {
            if let Status::Due { step, .. } = c.status(&p, now).unwrap() {
                sends.push((step, now));
                p.sent.push(now);
            }
            now = crate::after(now, SignedDuration::from_mins(1));
        }
        assert_eq!(
            sends,
            vec![(0, t("10:15")), (1, t("10:45")), (2, t("11:45"))]
        );
    }

    #[test]
    fn inconsistent_progress_is_an_error() {
        let c = EscalationChain {
            steps: vec![step(5)],
        };
        assert_eq!(
            c.status(&progress(&["10:05", "10:10"], None), t("11:00")),
            Err(ProgressError::TooManySent { sent: 2, steps: 1 })
        );
        assert_eq!(
            chain().status(&progress(&["10:20", "10:10"], None), t("11:00")),
            Err(ProgressError::OutOfOrder { step: 1 })
        );
        assert_eq!(
            chain().status(&progress(&["09:59"], None), t("11:00")),
            Err(ProgressError::OutOfOrder { step: 0 })
        );
    }

    #[test]
    fn validation_names_fields() {
        assert_eq!(chain().validate(), Ok(()));
        let empty = EscalationChain { steps: vec![] };
        assert_eq!(empty.validate().unwrap_err().errors[0].field, "steps");
        let mut bad = chain();
        bad.steps[1].recipients.clear();
        bad.steps[1].channels.clear();
        bad.steps[2].after_minutes = 0;
        bad.steps[0].after_minutes = MAX_STEP_MINUTES + 1;
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "steps[0].after_minutes",
                "steps[1].recipients",
                "steps[1].channels",
                "steps[2].after_minutes"
            ]
        );
    }
}

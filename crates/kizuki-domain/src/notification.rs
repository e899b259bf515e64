//! The vocabulary of notifications as they are stored: the job queue's kinds and states,
//! a notification's state, how it was acknowledged, and what came of a phone-tree call.
//!
//! The decisions themselves (who is told, when a step escalates) live in `kizuki-notify`;
//! these are the closed lists the store's CHECK constraints and the API share.

use crate::string_enum;

string_enum! {
    /// What a queued job does when a worker runs it.
    pub enum JobKind: "job kind" {
        /// Match the rules against a new or changed incident and write its notifications.
        PlanIncidentNotifications => "plan_incident_notifications",
        /// Send one stored notification (e-mail or webhook).
        SendNotification => "send_notification",
        /// Ask the escalation chain whether the next step is due for an incident.
        Escalate => "escalate",
        /// Remind of a legal clock that is due soon or overdue.
        ClockReminder => "clock_reminder",
    }
}

string_enum! {
    /// Where a job stands. `Dead` jobs are kept and listed for an administrator: a job is
    /// never silently dropped.
    pub enum JobState: "job state" {
        /// Waiting for its `run_at`.
        Queued => "queued",
        /// Claimed by a worker whose lease has not been given up.
        Running => "running",
        /// Finished; its effects were written with it.
        Done => "done",
        /// Given up after a permanent error or too many attempts (the dead-letter list).
        Dead => "dead",
    }
}

string_enum! {
    /// Where one notification to one recipient through one channel stands.
    pub enum NotificationState: "notification state" {
        Pending => "pending",
        Sent => "sent",
        /// The last attempt failed; the job may try again.
        Failed => "failed",
        /// Someone confirmed they have seen it; the escalation chain stops.
        Acknowledged => "acknowledged",
    }
}

string_enum! {
    /// How an acknowledgement arrived.
    pub enum AckVia: "acknowledgement route" {
        /// The signed link in the message.
        Link => "link",
        /// A signed-in user pressed the button on the incident page.
        Ui => "ui",
    }
}

string_enum! {
    /// What came of one call on the phone tree.
    pub enum CallOutcome: "call outcome" {
        Reached => "reached",
        Voicemail => "voicemail",
        NoAnswer => "no_answer",
        WrongNumber => "wrong_number",
    }
}

//! Notification stories told to every backend (issue #5): the durable job queue and its
//! exactly-once completion, notifications and their acknowledgement, the phone tree, and the
//! configuration behind them. The harness is in `common/mod.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

#[allow(dead_code)] // the shared harness has fixtures this story does not need
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::{date, time};
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::incident::Category;
use kizuki_domain::legal_clock::{ClockKind, LegalClockFields};
use kizuki_domain::notification::{AckVia, CallOutcome, JobKind, JobState, NotificationState};
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimelineEntryFields};
use kizuki_domain::user::Role;
use kizuki_notify::escalation::{EscalationChain, EscalationStep};
use kizuki_notify::oncall::{Override, Period, RotationSpec};
use kizuki_notify::rule::{Channel, NotificationRule, Recipient};
use kizuki_notify::template::TemplateKind;
use kizuki_notify::webhook::Format;
use kizuki_store::{
    EffectEntry, JobEffects, JobFilter, NewJob, NewNotification, NewPhoneCall, SendFailure,
    SendPayload, Store, StoreError, TimelineQuery, WebhookTargetFields,
};

use common::{NOW, at, fields, story, user};

const LEASE: SignedDuration = SignedDuration::from_mins(1);

fn t(minutes: i64) -> Timestamp {
    at(NOW) + SignedDuration::from_mins(minutes)
}

fn job(kind: JobKind, incident: Option<i64>, run_at: Timestamp, key: Option<&str>) -> NewJob {
    NewJob {
        kind,
        payload: serde_json::json!({ "incident_id": incident, "note": "こんにちは" }),
        run_at,
        incident_id: incident,
        dedupe_key: key.map(str::to_owned),
    }
}

fn note(incident_id: i64, channel: Channel, send_at: Option<Timestamp>) -> NewNotification {
    NewNotification {
        incident_id,
        rule_ids: vec![3, 5],
        escalation_step: None,
        clock_id: None,
        user_id: None,
        party_id: None,
        address: "ciso@example.jp".into(),
        channel,
        language: Language::Ja,
        template: TemplateKind::NewIncident,
        send_at,
    }
}

fn step_entry(text: &str, when: Timestamp) -> TimelineEntryFields {
    TimelineEntryFields {
        occurred_at: when,
        precision: kizuki_domain::timeline::TimePrecision::Minute,
        day_part: None,
        lane: Lane::CisoCsirt,
        actor: "Kizuki".into(),
        kind: EntryKind::Communication,
        text: text.into(),
        source: EntrySource::Notification,
    }
}

async fn incident(store: &dyn Store, title: &str) -> i64 {
    store
        .create_incident(&fields(title), &[], None, at(NOW))
        .await
        .unwrap()
        .id
}

async fn timeline_len(store: &dyn Store, incident_id: i64) -> usize {
    store
        .list_timeline(incident_id, &TimelineQuery::default())
        .await
        .unwrap()
        .len()
}

async fn jobs_are_claimed_in_order_retried_and_dead_lettered(store: &dyn Store) {
    let inc = incident(store, "Queue").await;
    let a = store
        .enqueue_job(&job(JobKind::Escalate, Some(inc), t(2), None), t(0))
        .await
        .unwrap();
    let b = store
        .enqueue_job(
            &job(JobKind::ClockReminder, Some(inc), t(1), Some("clock:1:due")),
            t(0),
        )
        .await
        .unwrap();
    let c = store
        .enqueue_job(&job(JobKind::SendNotification, None, t(10), None), t(0))
        .await
        .unwrap();
    assert_eq!(b.state, JobState::Queued);
    assert_eq!(b.attempts, 0);
    assert_eq!(b.payload["note"], "こんにちは");
    assert_eq!(b.dedupe_key.as_deref(), Some("clock:1:due"));

    // The same dedupe key again (even with other contents) returns the first job.
    let again = store
        .enqueue_job(
            &job(JobKind::Escalate, None, t(99), Some("clock:1:due")),
            t(3),
        )
        .await
        .unwrap();
    assert_eq!(again, b);
    assert_eq!(
        store.list_jobs(&JobFilter::default()).await.unwrap().len(),
        3
    );
    // A job of an unknown incident is refused.
    let err = store
        .enqueue_job(&job(JobKind::Escalate, Some(inc + 999), t(1), None), t(0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

    // Nothing is due before its time; due jobs come earliest first.
    assert!(
        store
            .claim_jobs("w1", t(0), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = store.claim_jobs("w1", t(5), LEASE, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );
    for j in &claimed {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempts, 1);
        assert_eq!(j.lease_owner.as_deref(), Some("w1"));
        assert_eq!(j.lease_until, Some(t(6)));
    }
    // Leased jobs are not handed out again while the lease lasts.
    assert!(
        store
            .claim_jobs("w2", t(5), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A retry puts the job back in the queue for later, keeping the error.
    let retried = store
        .retry_job(b.id, "w1", t(20), "SMTP 451 try later", t(5))
        .await
        .unwrap();
    assert_eq!(retried.state, JobState::Queued);
    assert_eq!(retried.run_at, t(20));
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.last_error.as_deref(), Some("SMTP 451 try later"));
    // Someone else's job cannot be retried.
    let err = store
        .retry_job(a.id, "w2", t(20), "x", t(5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");

    // w1 went silent: at minute 20 its lease on `a` has run out, so `a` is claimed again,
    // along with `c` (due at 10) and the retried `b` (due at 20), in run_at order.
    let claimed = store.claim_jobs("w2", t(20), LEASE, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|j| (j.id, j.attempts))
            .collect::<Vec<_>>(),
        vec![(a.id, 2), (c.id, 1), (b.id, 2)]
    );
    assert!(
        claimed
            .iter()
            .all(|j| j.lease_owner.as_deref() == Some("w2"))
    );

    // The stale worker's finish is refused and writes nothing.
    let before = timeline_len(store, inc).await;
    let effects = JobEffects {
        notifications: vec![note(inc, Channel::Email, Some(t(20)))],
        timeline: vec![EffectEntry {
            incident_id: inc,
            entry: step_entry("Escalated to the CISO", t(20)),
        }],
        jobs: vec![job(
            JobKind::Escalate,
            Some(inc),
            t(40),
            Some("escalate:x:1"),
        )],
        ..JobEffects::default()
    };
    let err = store
        .finish_job(a.id, "w1", &effects, t(20))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::LeaseLost { job_id, .. } if job_id == a.id),
        "{err}"
    );
    assert_eq!(timeline_len(store, inc).await, before);
    assert!(store.list_notifications(inc).await.unwrap().is_empty());
    assert_eq!(
        store.list_jobs(&JobFilter::default()).await.unwrap().len(),
        3
    );
    assert_eq!(
        store.get_job(a.id).await.unwrap().unwrap().state,
        JobState::Running
    );
    // Past its own lease, even the holder may not finish: someone may be claiming it.
    let err = store
        .finish_job(a.id, "w2", &JobEffects::default(), t(21))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");
    let err = store
        .finish_job(a.id + 1000, "w2", &JobEffects::default(), t(20))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

    // The holder finishes; finishing twice is refused.
    let done = store.finish_job(a.id, "w2", &effects, t(20)).await.unwrap();
    assert_eq!(done.job.state, JobState::Done);
    assert_eq!(done.job.finished_at, Some(t(20)));
    let err = store
        .finish_job(a.id, "w2", &JobEffects::default(), t(20))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");
    assert_eq!(timeline_len(store, inc).await, before + 1);

    // Giving up keeps the job, dead and listed with its error.
    let dead = store
        .fail_job(c.id, "w2", "no such recipient", t(20))
        .await
        .unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.finished_at, Some(t(20)));
    let listed = store
        .list_jobs(&JobFilter {
            state: Some(JobState::Dead),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed, vec![dead.clone()]);
    assert_eq!(listed[0].last_error.as_deref(), Some("no such recipient"));
    // A dead job is never claimed again.
    assert!(
        store
            .claim_jobs("w3", t(500), LEASE, 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.id != c.id)
    );

    // The admin view filters by kind and incident, newest first.
    let of_incident = store
        .list_jobs(&JobFilter {
            incident_id: Some(inc),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    let ids: Vec<i64> = of_incident.iter().map(|j| j.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(ids, sorted);
    assert!(of_incident.iter().all(|j| j.incident_id == Some(inc)));
    assert!(ids.contains(&a.id) && ids.contains(&b.id) && !ids.contains(&c.id));
    let sends = store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::SendNotification),
            limit: 1,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].kind, JobKind::SendNotification);
}

async fn finishing_a_job_writes_its_effects_together(store: &dyn Store) {
    let inc = incident(store, "Effects").await;
    let ciso = user(store, "ciso@example.jp", Role::IncidentCommander).await;
    let plan = store
        .enqueue_job(
            &job(
                JobKind::PlanIncidentNotifications,
                Some(inc),
                t(0),
                Some("plan:1"),
            ),
            t(0),
        )
        .await
        .unwrap();
    let claimed = store.claim_jobs("w1", t(0), LEASE, 5).await.unwrap();
    assert_eq!(claimed.len(), 1);

    // A failing effect (an entry for a missing incident) rolls everything back: the job is
    // still held and nothing it would have written exists.
    let stamp = store.timeline_stamp(inc).await.unwrap();
    let broken = JobEffects {
        notifications: vec![note(inc, Channel::Email, Some(t(0)))],
        timeline: vec![
            EffectEntry {
                incident_id: inc,
                entry: step_entry("planned", t(0)),
            },
            EffectEntry {
                incident_id: inc + 999,
                entry: step_entry("nowhere", t(0)),
            },
        ],
        ..JobEffects::default()
    };
    let err = store
        .finish_job(plan.id, "w1", &broken, t(0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert_eq!(store.timeline_stamp(inc).await.unwrap(), stamp);
    assert!(store.list_notifications(inc).await.unwrap().is_empty());
    assert_eq!(
        store.get_job(plan.id).await.unwrap().unwrap().state,
        JobState::Running
    );

    let mut by_user = note(inc, Channel::Email, Some(t(1)));
    by_user.user_id = Some(ciso.id);
    // A reminder names the legal clock it is about.
    let clock = store
        .add_legal_clock(
            inc,
            &LegalClockFields {
                kind: ClockKind::Custom,
                name: "取引先への報告".into(),
                due_hours: 24,
                overdue_hours: 48,
                started_at: t(0),
            },
        )
        .await
        .unwrap();
    let mut reminder = note(inc, Channel::PhoneTree, None);
    reminder.clock_id = Some(clock.id);
    let effects = JobEffects {
        notifications: vec![by_user, reminder],
        timeline: vec![EffectEntry {
            incident_id: inc,
            entry: step_entry("2 people to be told", t(0)),
        }],
        jobs: vec![job(
            JobKind::Escalate,
            Some(inc),
            t(15),
            Some("escalate:1:0"),
        )],
        ..JobEffects::default()
    };
    let done = store
        .finish_job(plan.id, "w1", &effects, t(0))
        .await
        .unwrap();
    assert_eq!(done.job.state, JobState::Done);
    assert_eq!(done.notifications.len(), 2);
    let email = &done.notifications[0];
    assert_eq!(email.state, NotificationState::Pending);
    assert_eq!(email.rule_ids, vec![3, 5]);
    assert_eq!(email.user_id, Some(ciso.id));
    assert_eq!(email.channel, Channel::Email);
    assert_eq!(email.language, Language::Ja);
    assert_eq!(email.template, TemplateKind::NewIncident);
    assert_eq!(email.created_at, t(0));
    assert_eq!(email.clock_id, None);
    assert_eq!(done.notifications[1].clock_id, Some(clock.id));
    assert_eq!(
        store.list_notifications(inc).await.unwrap(),
        done.notifications
    );
    assert_eq!(
        store.get_notification(email.id).await.unwrap().as_ref(),
        Some(email)
    );
    // The follow-up, then one send job for the notification that asked for one.
    assert_eq!(done.jobs.len(), 2);
    assert_eq!(done.jobs[0].kind, JobKind::Escalate);
    assert_eq!(done.jobs[0].run_at, t(15));
    let send = &done.jobs[1];
    assert_eq!(send.kind, JobKind::SendNotification);
    assert_eq!(send.run_at, t(1));
    assert_eq!(
        send.dedupe_key.as_deref(),
        Some(SendPayload::dedupe_key(email.id).as_str())
    );
    let payload: SendPayload = serde_json::from_value(send.payload.clone()).unwrap();
    assert_eq!(payload.notification_id, email.id);
    // The entry is on the timeline, marked as coming from a notification.
    assert_eq!(done.timeline.len(), 1);
    assert_eq!(done.timeline[0].source, EntrySource::Notification);
    assert_eq!(
        store.timeline_stamp(inc).await.unwrap(),
        (stamp.0 + 1, done.timeline[0].id)
    );

    // The send job marks its notification sent when it finishes; a failure is kept.
    let claimed = store.claim_jobs("w2", t(1), LEASE, 5).await.unwrap();
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![send.id]
    );
    let phone = &done.notifications[1];
    let sent = store
        .finish_job(
            send.id,
            "w2",
            &JobEffects {
                sent: vec![email.id],
                failed: vec![SendFailure {
                    notification_id: phone.id,
                    error: "nobody picks up".into(),
                }],
                ..JobEffects::default()
            },
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(sent.job.state, JobState::Done);
    let email = store.get_notification(email.id).await.unwrap().unwrap();
    assert_eq!(email.state, NotificationState::Sent);
    assert_eq!(email.sent_at, Some(t(1)));
    assert_eq!(email.attempts, 1);
    let phone = store.get_notification(phone.id).await.unwrap().unwrap();
    assert_eq!(phone.state, NotificationState::Failed);
    assert_eq!(phone.last_error.as_deref(), Some("nobody picks up"));
    // Marked outside a job too; the first send time is kept.
    let again = store.mark_notification_sent(email.id, t(9)).await.unwrap();
    assert_eq!(again.sent_at, Some(t(1)));
    assert_eq!(again.attempts, 2);
    let failed = store
        .mark_notification_failed(phone.id, "line busy")
        .await
        .unwrap();
    assert_eq!(failed.attempts, 2);
    assert_eq!(failed.last_error.as_deref(), Some("line busy"));
    let err = store
        .mark_notification_sent(phone.id + 999, t(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

async fn notified(store: &dyn Store, inc: i64, channels: &[Channel]) -> Vec<i64> {
    let plan = store
        .enqueue_job(
            &job(JobKind::PlanIncidentNotifications, Some(inc), t(0), None),
            t(0),
        )
        .await
        .unwrap();
    let claimed = store.claim_jobs("planner", t(0), LEASE, 1).await.unwrap();
    assert_eq!(claimed[0].id, plan.id);
    let effects = JobEffects {
        notifications: channels.iter().map(|c| note(inc, *c, None)).collect(),
        ..JobEffects::default()
    };
    store
        .finish_job(plan.id, "planner", &effects, t(0))
        .await
        .unwrap()
        .notifications
        .iter()
        .map(|n| n.id)
        .collect()
}

async fn the_first_acknowledgement_wins(store: Arc<dyn Store>) {
    let inc = incident(&*store, "Ack").await;
    let other = incident(&*store, "Other").await;
    let responder = user(&*store, "r@example.jp", Role::Responder).await;
    let ids = notified(&*store, inc, &[Channel::Email, Channel::Email]).await;
    assert_eq!(store.incident_acknowledged_at(inc).await.unwrap(), None);

    let first = store
        .acknowledge_notification(
            ids[0],
            Some(responder.id),
            AckVia::Ui,
            Some(&step_entry("Acknowledged by r", t(3))),
            t(3),
        )
        .await
        .unwrap();
    assert!(first.first);
    assert_eq!(first.notification.state, NotificationState::Acknowledged);
    assert_eq!(first.notification.acknowledged_at, Some(t(3)));
    assert_eq!(first.notification.acknowledged_by, Some(responder.id));
    assert_eq!(first.notification.ack_via, Some(AckVia::Ui));
    let entry = first.entry.unwrap();
    assert_eq!(entry.source, EntrySource::Notification);
    assert_eq!(entry.created_by, Some(responder.id));

    // A second acknowledgement changes nothing and writes no entry.
    let stamp = store.timeline_stamp(inc).await.unwrap();
    let second = store
        .acknowledge_notification(
            ids[0],
            None,
            AckVia::Link,
            Some(&step_entry("again", t(4))),
            t(4),
        )
        .await
        .unwrap();
    assert!(!second.first);
    assert_eq!(second.entry, None);
    assert_eq!(second.notification.acknowledged_at, Some(t(3)));
    assert_eq!(second.notification.ack_via, Some(AckVia::Ui));
    assert_eq!(store.timeline_stamp(inc).await.unwrap(), stamp);
    // Sending after an acknowledgement leaves it acknowledged.
    let sent = store.mark_notification_sent(ids[0], t(5)).await.unwrap();
    assert_eq!(sent.state, NotificationState::Acknowledged);

    // The chain of this incident is acknowledged; another incident's is not.
    assert_eq!(
        store.incident_acknowledged_at(inc).await.unwrap(),
        Some(t(3))
    );
    assert_eq!(store.incident_acknowledged_at(other).await.unwrap(), None);

    // Racing acknowledgements of one notification: exactly one is first.
    let mut handles = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let id = ids[1];
        handles.push(tokio::spawn(async move {
            store
                .acknowledge_notification(
                    id,
                    None,
                    AckVia::Link,
                    Some(&step_entry("acknowledged by link", t(10 + i))),
                    t(10 + i),
                )
                .await
                .unwrap()
                .first
        }));
    }
    let mut firsts = 0;
    for h in handles {
        if h.await.unwrap() {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1);
    assert_eq!(store.timeline_stamp(inc).await.unwrap().0, stamp.0 + 1);

    let err = store
        .acknowledge_notification(ids[1] + 999, None, AckVia::Link, None, t(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

async fn the_phone_tree_is_ticked_off(store: &dyn Store) {
    let inc = incident(store, "Phone tree").await;
    let caller = user(store, "ic@example.jp", Role::IncidentCommander).await;
    let ids = notified(
        store,
        inc,
        &[Channel::PhoneTree, Channel::Email, Channel::PhoneTree],
    )
    .await;
    let tree = store.phone_tree(inc).await.unwrap();
    assert_eq!(
        tree.iter().map(|l| l.notification.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    assert!(tree.iter().all(|l| l.calls.is_empty() && l.version == 0));

    let call = |outcome, minutes| NewPhoneCall {
        outcome,
        note: "携帯に留守電".into(),
        called_by: Some(caller.id),
        called_at: t(minutes),
    };
    let line = store
        .record_call(
            inc,
            ids[0],
            0,
            &call(CallOutcome::Voicemail, 5),
            Some(&step_entry("Voicemail left", t(5))),
        )
        .await
        .unwrap();
    assert_eq!(line.version, 1);
    assert_eq!(line.calls.len(), 1);
    assert_eq!(line.calls[0].outcome, CallOutcome::Voicemail);
    assert_eq!(line.calls[0].note, "携帯に留守電");
    assert_eq!(line.calls[0].called_by, Some(caller.id));
    assert_eq!(line.calls[0].called_at, t(5));
    assert_eq!(timeline_len(store, inc).await, 1);

    // Someone else ticking the same line from the old version is refused, writing nothing.
    let err = store
        .record_call(
            inc,
            ids[0],
            0,
            &call(CallOutcome::NoAnswer, 6),
            Some(&step_entry("No answer", t(6))),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Stale {
                expected: 0,
                current: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(timeline_len(store, inc).await, 1);
    let line = store
        .record_call(inc, ids[0], 1, &call(CallOutcome::Reached, 7), None)
        .await
        .unwrap();
    assert_eq!(line.version, 2);
    assert_eq!(
        line.calls.iter().map(|c| c.outcome).collect::<Vec<_>>(),
        vec![CallOutcome::Voicemail, CallOutcome::Reached]
    );
    let tree = store.phone_tree(inc).await.unwrap();
    assert_eq!(tree[0], line);
    assert!(tree[1].calls.is_empty());

    // An e-mail is not a line; nor is a line under another incident.
    for (incident_id, id) in [(inc, ids[1]), (inc + 999, ids[0])] {
        let err = store
            .record_call(incident_id, id, 0, &call(CallOutcome::Reached, 8), None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    }
}

fn rule(name: &str) -> NotificationRule {
    NotificationRule {
        id: 0,
        name: name.into(),
        enabled: true,
        min_severity: 3,
        categories: vec![Category::Ransomware],
        on_reports: false,
        recipients: vec![Recipient::Role {
            role: Role::IncidentCommander,
        }],
        channels: vec![Channel::Email, Channel::Webhook { webhook_id: 7 }],
        template_id: "new_incident".into(),
    }
}

fn rotation(name: &str, members: Vec<i64>) -> RotationSpec {
    RotationSpec {
        name: name.into(),
        members,
        handover: time(9, 0, 0, 0),
        time_zone: "Asia/Tokyo".into(),
        period: Period::Weekly,
        start_date: date(2026, 1, 5),
        overrides: vec![],
    }
}

async fn configuration_is_versioned(store: &dyn Store) {
    let admin = user(store, "admin@example.jp", Role::Admin).await;

    // Rules.
    let first = store
        .create_rule(&rule("Severe ransomware"), t(0))
        .await
        .unwrap();
    assert!(first.rule.id > 0);
    assert_eq!(first.version, 1);
    assert_eq!(first.rule.channels, rule("x").channels);
    let second = store.create_rule(&rule("Everything"), t(0)).await.unwrap();
    let mut changed = first.rule.clone();
    changed.enabled = false;
    changed.on_reports = true;
    changed.categories.clear();
    let updated = store
        .update_rule(first.rule.id, 1, &changed, t(1))
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.rule, changed);
    assert_eq!(updated.updated_at, t(1));
    let err = store
        .update_rule(first.rule.id, 1, &rule("late"), t(2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { current: 2, .. }), "{err}");
    let err = store.delete_rule(first.rule.id, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");
    assert_eq!(
        store.list_rules().await.unwrap(),
        vec![updated.clone(), second.clone()]
    );
    store.delete_rule(first.rule.id, 2).await.unwrap();
    assert_eq!(store.get_rule(first.rule.id).await.unwrap(), None);
    let err = store.delete_rule(first.rule.id, 2).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let err = store
        .update_rule(first.rule.id, 2, &rule("gone"), t(2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

    // The escalation chain: none, then saved once, then only from its version.
    assert_eq!(store.escalation_chain().await.unwrap(), None);
    let chain = EscalationChain {
        steps: vec![EscalationStep {
            recipients: vec![Recipient::OnCall { rotation_id: 1 }],
            channels: vec![Channel::PhoneTree],
            after_minutes: 15,
        }],
    };
    let saved = store
        .save_escalation_chain(0, &chain, Some(admin.id), t(1))
        .await
        .unwrap();
    assert_eq!((saved.version, saved.updated_by), (1, Some(admin.id)));
    assert_eq!(saved.chain, chain);
    let err = store
        .save_escalation_chain(0, &chain, None, t(2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { current: 1, .. }), "{err}");
    let mut longer = chain.clone();
    longer.steps.push(EscalationStep {
        recipients: vec![Recipient::Role { role: Role::Admin }],
        channels: vec![Channel::Email],
        after_minutes: 30,
    });
    let saved = store
        .save_escalation_chain(1, &longer, None, t(3))
        .await
        .unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(store.escalation_chain().await.unwrap(), Some(saved));

    // Templates: the built-in one until changed, then the stored one, then built-in again.
    let builtin = store
        .get_template(TemplateKind::Escalation, Language::Ja)
        .await
        .unwrap();
    assert!(builtin.is_built_in());
    assert_eq!(
        (builtin.subject.as_str(), builtin.body.as_str()),
        kizuki_notify::template::default_source(TemplateKind::Escalation, Language::Ja)
    );
    let mine = store
        .save_template(
            TemplateKind::Escalation,
            Language::Ja,
            0,
            "【至急】{{incident.title}}",
            "本文",
            Some(admin.id),
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(mine.version, 1);
    assert_eq!(mine.updated_at, Some(t(1)));
    let err = store
        .save_template(
            TemplateKind::Escalation,
            Language::Ja,
            0,
            "s",
            "b",
            None,
            t(2),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { current: 1, .. }), "{err}");
    let mine = store
        .save_template(
            TemplateKind::Escalation,
            Language::Ja,
            1,
            "s2",
            "b2",
            None,
            t(2),
        )
        .await
        .unwrap();
    assert_eq!(mine.version, 2);
    assert_eq!(
        store
            .get_template(TemplateKind::Escalation, Language::Ja)
            .await
            .unwrap(),
        mine
    );
    // The English one is still built in; the list has every kind in every language.
    assert!(
        store
            .get_template(TemplateKind::Escalation, Language::En)
            .await
            .unwrap()
            .is_built_in()
    );
    let all = store.list_templates().await.unwrap();
    assert_eq!(all.len(), TemplateKind::ALL.len() * Language::ALL.len());
    assert_eq!(all.iter().filter(|t| !t.is_built_in()).count(), 1);
    assert!(all.contains(&mine));
    assert!(
        store
            .reset_template(TemplateKind::Escalation, Language::Ja)
            .await
            .unwrap()
    );
    assert!(
        !store
            .reset_template(TemplateKind::Escalation, Language::Ja)
            .await
            .unwrap()
    );
    assert!(
        store
            .get_template(TemplateKind::Escalation, Language::Ja)
            .await
            .unwrap()
            .is_built_in()
    );

    // Rotations, with overrides added whatever the version.
    let rot = store
        .create_rotation(&rotation("CSIRT", vec![admin.id, 42]), t(0))
        .await
        .unwrap();
    assert_eq!(rot.version, 1);
    let cover = Override {
        user_id: 42,
        from: t(60),
        to: t(120),
    };
    let covered = store
        .add_rotation_override(rot.id, &cover, t(1))
        .await
        .unwrap();
    assert_eq!(covered.version, 2);
    assert_eq!(covered.spec.overrides, vec![cover]);
    let err = store
        .update_rotation(rot.id, 1, &rotation("late", vec![1]), t(2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { current: 2, .. }), "{err}");
    let mut spec = covered.spec.clone();
    spec.period = Period::EveryNDays { days: 3 };
    let renamed = store.update_rotation(rot.id, 2, &spec, t(3)).await.unwrap();
    assert_eq!(renamed.spec, spec);
    assert_eq!(store.list_rotations().await.unwrap(), vec![renamed.clone()]);
    assert_eq!(store.get_rotation(rot.id).await.unwrap(), Some(renamed));
    let err = store
        .add_rotation_override(rot.id + 999, &cover, t(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    store.delete_rotation(rot.id, 3).await.unwrap();
    assert!(store.list_rotations().await.unwrap().is_empty());

    // Webhook targets: the secret is stored, never listed, kept on an update without one.
    let signed = store
        .create_webhook_target(
            &WebhookTargetFields {
                name: "SOC".into(),
                format: Format::SignedJson,
                url: "https://soc.example.jp/hook".into(),
                secret: Some("s3cret-s3cret-s3cret-s3cret-s3cret".into()),
                enabled: true,
            },
            t(0),
        )
        .await
        .unwrap();
    let slack = store
        .create_webhook_target(
            &WebhookTargetFields {
                name: "Slack #incidents".into(),
                format: Format::Slack,
                url: "https://hooks.slack.example/T/B/x".into(),
                secret: None,
                enabled: false,
            },
            t(0),
        )
        .await
        .unwrap();
    assert!(signed.has_secret && !slack.has_secret);
    let listed = store.list_webhook_targets().await.unwrap();
    assert_eq!(listed, vec![signed.clone(), slack.clone()]);
    assert!(!format!("{listed:?}").contains("s3cret"));
    assert_eq!(
        store.webhook_secret(signed.id).await.unwrap().as_deref(),
        Some("s3cret-s3cret-s3cret-s3cret-s3cret")
    );
    assert_eq!(store.webhook_secret(slack.id).await.unwrap(), None);
    let renamed = store
        .update_webhook_target(
            signed.id,
            1,
            &WebhookTargetFields {
                name: "SOC (24h)".into(),
                format: Format::SignedJson,
                url: "https://soc.example.jp/hook2".into(),
                secret: None,
                enabled: true,
            },
            t(1),
        )
        .await
        .unwrap();
    assert_eq!((renamed.version, renamed.has_secret), (2, true));
    assert_eq!(
        store.webhook_secret(signed.id).await.unwrap().as_deref(),
        Some("s3cret-s3cret-s3cret-s3cret-s3cret")
    );
    let err = store
        .update_webhook_target(
            signed.id,
            1,
            &WebhookTargetFields {
                name: "late".into(),
                format: Format::Teams,
                url: "https://x.example".into(),
                secret: None,
                enabled: true,
            },
            t(2),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");
    assert_eq!(
        store.get_webhook_target(signed.id).await.unwrap(),
        Some(renamed)
    );

    // A deleted target leaves the notifications sent through it as they were.
    let inc = incident(store, "Webhooks").await;
    let ids = notified(
        store,
        inc,
        &[Channel::Webhook {
            webhook_id: slack.id,
        }],
    )
    .await;
    assert!(store.delete_webhook_target(slack.id).await.unwrap());
    assert!(!store.delete_webhook_target(slack.id).await.unwrap());
    assert_eq!(
        store
            .get_notification(ids[0])
            .await
            .unwrap()
            .unwrap()
            .channel,
        Channel::Webhook {
            webhook_id: slack.id
        }
    );
    assert_eq!(store.get_webhook_target(slack.id).await.unwrap(), None);
}

/// Several workers claim from one queue at once, as replicas do: every job is claimed by
/// exactly one of them and finished once.
async fn concurrent_claimers_never_share_a_job(store: Arc<dyn Store>) {
    let inc = incident(&*store, "Many").await;
    const JOBS: i64 = 200;
    for i in 0..JOBS {
        store
            .enqueue_job(
                &job(JobKind::SendNotification, Some(inc), t(i % 17), None),
                t(0),
            )
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("replica-{w}");
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_jobs(&name, t(30), LEASE, 7).await.unwrap();
                if claimed.is_empty() {
                    break;
                }
                for j in claimed {
                    let effects = JobEffects {
                        timeline: vec![EffectEntry {
                            incident_id: inc,
                            entry: step_entry(&format!("job {}", j.id), t(30)),
                        }],
                        ..JobEffects::default()
                    };
                    store
                        .finish_job(j.id, &name, &effects, t(30))
                        .await
                        .unwrap();
                    mine.push(j.id);
                }
            }
            mine
        }));
    }
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for w in workers {
        for id in w.await.unwrap() {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), JOBS as usize);
    assert!(seen.values().all(|n| *n == 1), "a job was claimed twice");
    let done = store
        .list_jobs(&JobFilter {
            state: Some(JobState::Done),
            limit: 1000,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(done.len(), JOBS as usize);
    assert!(done.iter().all(|j| j.attempts == 1));
    assert_eq!(timeline_len(&*store, inc).await, JOBS as usize);
}

/// A worker killed mid-job: its lease runs out, another claims the job, and the two race to
/// finish. Exactly one finish lands, and the effects exist once.
async fn a_lapsed_lease_is_finished_once(store: Arc<dyn Store>) {
    let inc = incident(&*store, "Lapsed").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            store
                .enqueue_job(
                    &job(
                        JobKind::Escalate,
                        Some(inc),
                        t(0),
                        Some(&format!("esc:{i}")),
                    ),
                    t(0),
                )
                .await
                .unwrap()
                .id,
        );
    }
    assert_eq!(
        store
            .claim_jobs("dead", t(0), LEASE, 100)
            .await
            .unwrap()
            .len(),
        20
    );
    assert_eq!(
        store
            .claim_jobs("alive", t(2), LEASE, 100)
            .await
            .unwrap()
            .len(),
        20
    );
    let mut handles = Vec::new();
    for worker in ["dead", "alive"] {
        for id in ids.clone() {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let effects = JobEffects {
                    notifications: vec![note(inc, Channel::Email, Some(t(2)))],
                    ..JobEffects::default()
                };
                // "dead" answers with its own stale clock: still within its lease.
                let now = if worker == "dead" { t(0) } else { t(2) };
                store.finish_job(id, worker, &effects, now).await.is_ok()
            }));
        }
    }
    let mut ok = 0;
    for h in handles {
        if h.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 20);
    assert_eq!(store.list_notifications(inc).await.unwrap().len(), 20);
    let sends = store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::SendNotification),
            incident_id: Some(inc),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(sends.len(), 20);
}

story! {
    jobs_are_claimed_in_order_retried_and_dead_lettered => |s: Arc<dyn Store>| async move { super::jobs_are_claimed_in_order_retried_and_dead_lettered(&*s).await };
    finishing_a_job_writes_its_effects_together => |s: Arc<dyn Store>| async move { super::finishing_a_job_writes_its_effects_together(&*s).await };
    the_first_acknowledgement_wins => |s: Arc<dyn Store>| async move { super::the_first_acknowledgement_wins(s).await };
    the_phone_tree_is_ticked_off => |s: Arc<dyn Store>| async move { super::the_phone_tree_is_ticked_off(&*s).await };
    configuration_is_versioned => |s: Arc<dyn Store>| async move { super::configuration_is_versioned(&*s).await };
    concurrent_claimers_never_share_a_job => |s: Arc<dyn Store>| async move { super::concurrent_claimers_never_share_a_job(s).await };
    a_lapsed_lease_is_finished_once => |s: Arc<dyn Store>| async move { super::a_lapsed_lease_is_finished_once(s).await };
}

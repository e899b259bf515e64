//! The storage boundary. The server and the CLI talk to a `dyn Store`; each backend
//! (SQLite, PostgreSQL) lives in its own crate with its own migrations, and one shared test
//! story (`kizuki-store-tests`) runs against both.
//!
//! Inputs arrive here already validated by the domain: a backend stores and reads, it does
//! not decide what is allowed.
//!
//! Conventions every backend follows (the shared story checks them):
//! - Lists of an incident's children are empty for a missing incident; the server checks the
//!   incident first. Children are ordered by id unless a method says otherwise (tasks by
//!   position, the timeline by time).
//! - A child addressed under the wrong incident is `NotFound` for the child's entity.
//! - Timestamps keep microsecond precision.
//! - Need-to-know: a query given a [`Viewer`] returns only incidents (and children of
//!   incidents) that `Viewer::can_see` allows, judged in the query itself — never
//!   filtered afterwards, so counts and pages stay right.
//!
//! A backend owns atomicity: every method that writes more than one row does so in one
//! transaction, and `update_incident` checks the version in the same statement that writes.

pub mod notify;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::access::Viewer;
use kizuki_domain::audit::{AuditEvent, AuditHead, AuditRecord, AuditSealer};
use kizuki_domain::decision::{Decision, DecisionOutcome, NewDecision};
use kizuki_domain::evidence::{CustodyEvent, EvidenceItem, NewCustodyEvent, NewEvidence};
use kizuki_domain::exercise::{ExerciseActionRecord, ExerciseRecord, ExerciseSource};
use kizuki_domain::incident::{Incident, IncidentFields, IncidentFilter};
use kizuki_domain::legal_clock::{LegalClock, LegalClockFields};
use kizuki_domain::notification::AckVia;
use kizuki_domain::observable::{NewObservable, Observable, ObservableKind, SharedObservable};
use kizuki_domain::party::{NewParty, Party, PartyPatch};
use kizuki_domain::review::{
    ActionQuery, CorrectiveAction, CorrectiveActionState, Lesson, LessonFields, LessonHit,
    LessonQuery, Review, ReviewNarrative,
};
use kizuki_domain::settings::Language;
use kizuki_domain::task::{NewTask, Task};
use kizuki_domain::timeline::{Lane, TimelineEntry, TimelineEntryFields};
use kizuki_domain::user::{
    ApiToken, LaneOwner, LoginFailures, Member, NewSession, NewUser, Role, Session, TokenScope,
    User, UserCredentials,
};
use kizuki_notify::escalation::EscalationChain;
use kizuki_notify::oncall::{Override, RotationSpec};
use kizuki_notify::rule::NotificationRule;
use kizuki_notify::template::TemplateKind;

pub use notify::{
    Acknowledged, EffectEntry, FinishedJob, Job, JobEffects, JobFilter, NewJob, NewNotification,
    NewPhoneCall, Notification, PhoneCall, PhoneTreeLine, SendFailure, SendPayload, StoredChain,
    StoredRotation, StoredRule, StoredTemplate, WebhookTarget, WebhookTargetFields,
};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row (or its parent incident) does not exist.
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// The incident changed since the writer read it.
    #[error(
        "incident {id} was changed by someone else (now at version {current}, you edited version {expected})"
    )]
    Conflict {
        id: i64,
        expected: i64,
        current: i64,
    },
    /// A versioned row other than an incident changed since the writer read it.
    #[error(
        "{entity} {id} was changed by someone else (now at version {current}, you edited version {expected})"
    )]
    Stale {
        entity: &'static str,
        id: i64,
        expected: i64,
        current: i64,
    },
    /// A uniqueness rule was broken, e.g. a second user with the same e-mail.
    #[error("{what} already exists")]
    Duplicate { what: String },
    /// A stored value could not be read back (a bug or manual tampering).
    #[error("corrupt stored data in {table}.{column}: {reason}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        reason: String,
    },
    /// A worker reported on a job it no longer holds: its lease ran out and another worker
    /// claimed the job, or it was finished already. Nothing was written.
    #[error("job {job_id} is not held by worker {worker} any more")]
    LeaseLost { job_id: i64, worker: String },
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database itself failed (connection, I/O, constraint we did not expect).
    #[error("database error: {0}")]
    Database(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `before_id` to get the next page; `None` on the last page.
    pub next_before_id: Option<i64>,
}

/// Which timeline entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineQuery {
    pub lanes: Vec<Lane>,
    pub offset: u32,
    /// 0 means no limit.
    pub limit: u32,
}

/// A custody event with the time it happened resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyRecord {
    pub at: Timestamp,
    pub event: NewCustodyEvent,
}

/// A change to a task other than completing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskUpdate {
    /// (index, done) of one checklist item.
    pub checklist_item: Option<(u32, bool)>,
    /// `Open` or `Skipped`; completing goes through `complete_task`.
    pub status: Option<kizuki_domain::task::TaskStatus>,
}

/// What a store needs to open an exercise (the engine's script is opaque JSON here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExercise {
    pub source: ExerciseSource,
    pub title: String,
    pub speed: u32,
    pub started_at: Timestamp,
    pub skipped_minutes: i64,
    pub script: String,
}

/// Completing a task also writes its timeline entry, atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCompletion {
    pub by: Option<i64>,
    pub at: Timestamp,
    pub entry: TimelineEntryFields,
}

/// A playbook version to store: its YAML as uploaded (already parsed and validated by the
/// server), so every replica can parse the same text and an administrator can read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlaybookVersion {
    pub playbook_id: String,
    pub version: u32,
    pub source: String,
    pub uploaded_by: i64,
    pub uploaded_at: Timestamp,
}

/// An uploaded playbook version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlaybook {
    /// Grows with every upload of any playbook, so a replica notices a new upload by
    /// comparing the highest `seq` with the one it last loaded.
    pub seq: i64,
    pub playbook_id: String,
    pub version: u32,
    pub source: String,
    /// `None` once the uploader's account is deleted; the version stays.
    pub uploaded_by: Option<i64>,
    /// The uploader's display name, for the catalogue page.
    pub uploaded_by_name: Option<String>,
    pub uploaded_at: Timestamp,
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Brings the schema up to date. Idempotent.
    async fn migrate(&self) -> Result<()>;
    /// Cheap round trip, for health checks.
    async fn ping(&self) -> Result<()>;
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    /// Closes every connection cleanly (SQLite then checkpoints and removes its WAL file).
    async fn close(&self);

    // --- users and tokens -------------------------------------------------------------
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;
    /// Every user, by id.
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn set_user_role(&self, user_id: i64, role: Role) -> Result<User>;
    /// Remembers the language a person chose (`None` forgets it).
    async fn set_user_language(&self, user_id: i64, language: Option<Language>) -> Result<User>;
    /// Deactivating also revokes the user's sessions and tokens, in one transaction.
    async fn set_user_active(&self, user_id: i64, active: bool, now: Timestamp) -> Result<User>;
    /// The user with what a login checks (`None` for an unknown address).
    async fn credentials_by_email(&self, email: &str) -> Result<Option<UserCredentials>>;
    async fn credentials_by_id(&self, user_id: i64) -> Result<Option<UserCredentials>>;
    /// Stores a new Argon2id hash.
    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<()>;
    /// Offers a TOTP secret at enrolment (replacing any earlier offer; the active one, if
    /// any, keeps working until the new one is confirmed).
    async fn set_totp_pending(&self, user_id: i64, secret: &str) -> Result<()>;
    /// Makes the pending secret the active one, records `step` as used, and replaces the
    /// recovery codes, in one transaction. `NotFound` if nothing is pending.
    async fn activate_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_code_hashes: &[String],
    ) -> Result<()>;
    /// Removes the second factor and its recovery codes (an administrator's reset).
    async fn reset_mfa(&self, user_id: i64) -> Result<()>;
    /// Records `step` as used if it is later than the last one; `false` means a replay.
    /// Atomic, so two requests racing with one code cannot both succeed.
    async fn claim_totp_step(&self, user_id: i64, step: i64) -> Result<bool>;
    /// Uses up an unused recovery code; `false` if there is none with this hash.
    async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool>;
    /// How many unused recovery codes remain.
    async fn recovery_codes_left(&self, user_id: i64) -> Result<u32>;

    // --- login defences ----------------------------------------------------------------
    /// The failures recorded for this key (a normalised e-mail address).
    async fn login_failures(&self, key: &str) -> Result<LoginFailures>;
    /// Adds one failure atomically and returns the new state. Failures whose last one is
    /// older than `now - reset_after` start over from one.
    async fn record_login_failure(
        &self,
        key: &str,
        now: Timestamp,
        reset_after: jiff::SignedDuration,
    ) -> Result<LoginFailures>;
    async fn clear_login_failures(&self, key: &str) -> Result<()>;

    // --- sessions ----------------------------------------------------------------------
    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<Session>;
    /// The live session with this secret hash and its (active) user: not revoked, before
    /// its absolute end, and seen within `idle_timeout`. Moves `last_seen_at` to `now`
    /// (at most once a minute, to spare the writer).
    async fn session_by_hash(
        &self,
        secret_hash: &str,
        now: Timestamp,
        idle_timeout: jiff::SignedDuration,
    ) -> Result<Option<(Session, User)>>;
    /// The user's live sessions, newest first.
    async fn list_sessions(
        &self,
        user_id: i64,
        now: Timestamp,
        idle_timeout: jiff::SignedDuration,
    ) -> Result<Vec<Session>>;
    /// Revokes one of the user's sessions; `false` if there is no such live session.
    async fn revoke_session(&self, user_id: i64, session_id: i64, now: Timestamp) -> Result<bool>;
    /// Revokes all the user's sessions but `keep`; returns how many.
    async fn revoke_sessions_except(
        &self,
        user_id: i64,
        keep: Option<i64>,
        now: Timestamp,
    ) -> Result<u64>;
    /// Moves a session on from MFA enrolment to fully logged in.
    async fn promote_session(&self, session_id: i64) -> Result<()>;

    // --- API tokens and enrolment links -------------------------------------------------
    /// Stores a token by the hash of its secret.
    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        scope: &TokenScope,
        secret_hash: &str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Result<ApiToken>;
    /// The active user owning an unexpired, unrevoked token with this hash, and its scope.
    async fn user_by_token_hash(
        &self,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(User, TokenScope)>>;
    /// The user's tokens (revoked and expired ones too), newest first.
    async fn list_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>>;
    /// Revokes one of the user's tokens; `false` if there is no such unrevoked token.
    async fn revoke_token(&self, user_id: i64, token_id: i64, now: Timestamp) -> Result<bool>;
    /// Every user's unrevoked tokens (expired ones too), newest first: the administrators'
    /// overview.
    async fn list_unrevoked_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Revokes any user's token (an administrator's act); the token as revoked, or `None`
    /// if there is no such unrevoked token.
    async fn revoke_any_token(&self, token_id: i64, now: Timestamp) -> Result<Option<ApiToken>>;
    /// A one-time link that lets a new user set their password.
    async fn create_enrolment(
        &self,
        user_id: i64,
        secret_hash: &str,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// Uses up an unexpired enrolment link; returns its user. A second use finds nothing.
    async fn consume_enrolment(&self, secret_hash: &str, now: Timestamp) -> Result<Option<i64>>;

    // --- need-to-know ------------------------------------------------------------------
    /// Adds a member (adding one twice keeps the first).
    async fn add_member(&self, incident_id: i64, user_id: i64, now: Timestamp) -> Result<()>;
    /// `false` if they were not a member.
    async fn remove_member(&self, incident_id: i64, user_id: i64) -> Result<bool>;
    async fn list_members(&self, incident_id: i64) -> Result<Vec<Member>>;
    async fn is_member(&self, incident_id: i64, user_id: i64) -> Result<bool>;
    /// Makes `user_id` the owner of `lane` (adding them as a member first when they are not
    /// one), replacing any earlier owner of that lane; `None` leaves the lane unowned. One
    /// transaction. `NotFound` for an unknown incident or user.
    async fn set_lane_owner(
        &self,
        incident_id: i64,
        lane: Lane,
        user_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()>;
    /// The incident's lane owners, in lane order.
    async fn list_lane_owners(&self, incident_id: i64) -> Result<Vec<LaneOwner>>;

    // --- audit log ---------------------------------------------------------------------
    /// Appends the events in order, each sealed onto the chain, and moves the sealed head,
    /// in one transaction that excludes other appenders (so the chain never forks). Each
    /// event's time is cut to whole microseconds before sealing, so what is stored is what
    /// was sealed; the returned records show the cut time.
    async fn append_audit(
        &self,
        events: &[AuditEvent],
        sealer: &dyn AuditSealer,
    ) -> Result<Vec<AuditRecord>>;
    /// Records with `seq > after_seq`, in order, at most `limit`.
    async fn list_audit(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>>;
    async fn audit_head(&self) -> Result<Option<AuditHead>>;

    // --- incidents ---------------------------------------------------------------------
    /// Creates the incident together with its initial legal clocks, in one transaction.
    async fn create_incident(
        &self,
        fields: &IncidentFields,
        clocks: &[LegalClockFields],
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<Incident>;
    async fn get_incident(&self, id: i64) -> Result<Option<Incident>>;
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>>;
    /// Writes `fields` if the stored version is still `expected_version`; bumps the version.
    /// Fails with `Conflict` (changing nothing) otherwise, `NotFound` if there is no such incident.
    ///
    /// In the same transaction, brings the statutory clocks in line with the new fields: a clock
    /// of each kind in `statutory_clocks` that is not yet met is updated to those terms, a
    /// missing one is added, and a met one is left as it is (one per kind and incident).
    async fn update_incident(
        &self,
        id: i64,
        expected_version: i64,
        fields: &IncidentFields,
        statutory_clocks: &[LegalClockFields],
        now: Timestamp,
    ) -> Result<Incident>;
    /// How many incidents `viewer` can see (`None`: all).
    async fn count_incidents(&self, viewer: Option<&Viewer>) -> Result<u64>;

    // --- timeline ----------------------------------------------------------------------
    async fn add_timeline_entry(
        &self,
        incident_id: i64,
        entry: &TimelineEntryFields,
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<TimelineEntry>;
    /// Adds many entries in one transaction (imports, hunting results).
    async fn add_timeline_entries(
        &self,
        incident_id: i64,
        entries: &[TimelineEntryFields],
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<Vec<TimelineEntry>>;
    /// The number and the highest id of an incident's entries. Entries are only ever added,
    /// so this pair changes exactly when the timeline does (caches key on it).
    async fn timeline_stamp(&self, incident_id: i64) -> Result<(u64, i64)>;
    /// Entries in time order (ties by id).
    async fn list_timeline(
        &self,
        incident_id: i64,
        query: &TimelineQuery,
    ) -> Result<Vec<TimelineEntry>>;

    // --- tasks -------------------------------------------------------------------------
    /// Adds all tasks in one transaction (applying a playbook is all or nothing).
    async fn add_tasks(&self, incident_id: i64, tasks: &[NewTask]) -> Result<Vec<Task>>;
    async fn list_tasks(&self, incident_id: i64) -> Result<Vec<Task>>;
    /// Marks an open task done and adds its timeline entry in one transaction.
    /// A task already done is left as it is (`Duplicate`).
    async fn complete_task(
        &self,
        incident_id: i64,
        task_id: i64,
        completion: &TaskCompletion,
    ) -> Result<(Task, TimelineEntry)>;

    /// Ticks or unticks one checklist item and/or sets the status to open or skipped, in one
    /// statement, so two people ticking different items never undo each other. The index must
    /// be in range (the server checks it against the task it read; checklists never change
    /// length). `NotFound` for a task not in this incident.
    async fn update_task(
        &self,
        incident_id: i64,
        task_id: i64,
        update: &TaskUpdate,
    ) -> Result<Task>;

    // --- decisions ---------------------------------------------------------------------
    async fn add_decision(
        &self,
        incident_id: i64,
        decision: &NewDecision,
        now: Timestamp,
    ) -> Result<Decision>;
    async fn list_decisions(&self, incident_id: i64) -> Result<Vec<Decision>>;
    async fn get_decision(&self, incident_id: i64, decision_id: i64) -> Result<Option<Decision>>;
    /// Records the outcome of an undecided decision (`Duplicate` if already decided).
    /// An empty outcome rationale keeps the rationale written when the decision was opened.
    async fn decide(
        &self,
        incident_id: i64,
        decision_id: i64,
        outcome: &DecisionOutcome,
        at: Timestamp,
    ) -> Result<Decision>;

    // --- parties -----------------------------------------------------------------------
    async fn add_party(&self, incident_id: i64, party: &NewParty) -> Result<Party>;
    async fn list_parties(&self, incident_id: i64) -> Result<Vec<Party>>;
    /// Changes only the fields given (so two people fixing different details of one contact
    /// do not undo each other). `NotFound` for a party not in this incident.
    async fn update_party(
        &self,
        incident_id: i64,
        party_id: i64,
        patch: &PartyPatch,
    ) -> Result<Party>;

    // --- evidence ----------------------------------------------------------------------
    /// Adds the item and its first custody event ("collected") in one transaction.
    async fn add_evidence(
        &self,
        incident_id: i64,
        evidence: &NewEvidence,
        collected_at: Timestamp,
        now: Timestamp,
    ) -> Result<EvidenceItem>;
    async fn list_evidence(&self, incident_id: i64) -> Result<Vec<EvidenceItem>>;
    /// Appends a custody event and moves the item's location when one is given.
    async fn add_custody_event(
        &self,
        incident_id: i64,
        evidence_id: i64,
        event: &CustodyRecord,
    ) -> Result<CustodyEvent>;

    // --- observables -------------------------------------------------------------------
    /// Adds an observable; the same normalised value twice on one incident returns the existing one.
    async fn add_observable(
        &self,
        incident_id: i64,
        observable: &NewObservable,
        normalized: &str,
        first_seen: Timestamp,
    ) -> Result<Observable>;
    async fn list_observables(&self, incident_id: i64) -> Result<Vec<Observable>>;
    /// Observables of every incident, oldest first, at most `limit` (for sweeping new logs
    /// with what is already known).
    async fn list_all_observables(
        &self,
        limit: u32,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<Observable>>;
    /// Other incidents holding an observable of this kind and normalised value, among
    /// those `viewer` can see.
    async fn incidents_sharing(
        &self,
        kind: ObservableKind,
        normalized: &str,
        except_incident: Option<i64>,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<SharedObservable>>;

    // --- legal clocks ------------------------------------------------------------------
    /// A second statutory clock of the same kind on one incident is `Duplicate`.
    async fn add_legal_clock(
        &self,
        incident_id: i64,
        clock: &LegalClockFields,
    ) -> Result<LegalClock>;
    async fn list_legal_clocks(&self, incident_id: i64) -> Result<Vec<LegalClock>>;
    /// Marks the obligation met; marking it again keeps the first time.
    async fn mark_legal_clock_met(
        &self,
        incident_id: i64,
        clock_id: i64,
        at: Timestamp,
    ) -> Result<LegalClock>;

    // --- review and lessons ------------------------------------------------------------
    /// The incident's review; version 0 with an empty narrative when none is saved yet.
    /// `NotFound` for a missing incident.
    async fn get_review(&self, incident_id: i64) -> Result<Review>;
    /// Saves the narrative if the stored version is still `expected_version` (0 for the
    /// first save); `Stale` otherwise, changing nothing.
    async fn save_review(
        &self,
        incident_id: i64,
        expected_version: i64,
        narrative: &ReviewNarrative,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<Review>;
    async fn add_lesson(
        &self,
        incident_id: i64,
        lesson: &LessonFields,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<Lesson>;
    async fn list_lessons(&self, incident_id: i64) -> Result<Vec<Lesson>>;
    /// Rewrites a lesson if it is still at `expected_version` (`Stale` otherwise).
    async fn update_lesson(
        &self,
        incident_id: i64,
        lesson_id: i64,
        expected_version: i64,
        lesson: &LessonFields,
        now: Timestamp,
    ) -> Result<Lesson>;
    /// Lessons of every incident `viewer` can see, newest first; exercises left out.
    async fn search_lessons(
        &self,
        query: &LessonQuery,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<LessonHit>>;

    // --- corrective actions ------------------------------------------------------------
    /// `NotFound` for a lesson not in this incident.
    async fn add_corrective_action(
        &self,
        incident_id: i64,
        lesson_id: i64,
        action: &CorrectiveActionState,
        now: Timestamp,
    ) -> Result<CorrectiveAction>;
    async fn get_corrective_action(&self, action_id: i64) -> Result<Option<CorrectiveAction>>;
    /// Writes the new state if the action is still at `expected_version` (`Stale` otherwise).
    async fn update_corrective_action(
        &self,
        action_id: i64,
        expected_version: i64,
        action: &CorrectiveActionState,
        now: Timestamp,
    ) -> Result<CorrectiveAction>;
    /// Actions of incidents `viewer` can see, by due date then id.
    async fn list_corrective_actions(
        &self,
        query: &ActionQuery,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<CorrectiveAction>>;

    // --- tabletop exercises ------------------------------------------------------------
    /// Creates the exercise's incident (marked as an exercise), its legal clocks and the
    /// exercise, in one transaction.
    async fn create_exercise(
        &self,
        fields: &IncidentFields,
        clocks: &[LegalClockFields],
        exercise: &NewExercise,
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<(Incident, ExerciseRecord)>;
    async fn get_exercise(&self, exercise_id: i64) -> Result<Option<ExerciseRecord>>;
    /// Exercises whose incident `viewer` can see, newest first.
    async fn list_exercises(&self, viewer: Option<&Viewer>) -> Result<Vec<ExerciseRecord>>;
    /// Writes injects `released..released + entries.len()` to the exercise's timeline and
    /// moves the high-water mark, if it still stands at `released` and the exercise is
    /// running. `None` when another request got there first: each inject lands once. The
    /// exercise's version is left alone, so a facilitator's jump is not refused as stale
    /// just because time released an inject meanwhile.
    async fn release_injects(
        &self,
        exercise_id: i64,
        released: u32,
        entries: &[TimelineEntryFields],
        now: Timestamp,
    ) -> Result<Option<ExerciseRecord>>;
    /// Sets the case minutes skipped, if the exercise is still at `expected_version`.
    async fn set_exercise_skip(
        &self,
        exercise_id: i64,
        expected_version: i64,
        skipped_minutes: i64,
    ) -> Result<ExerciseRecord>;
    /// Stores a participant's action and its timeline entry together.
    async fn add_exercise_action(
        &self,
        exercise_id: i64,
        action: &str,
        entry: &TimelineEntryFields,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<ExerciseActionRecord>;
    async fn list_exercise_actions(&self, exercise_id: i64) -> Result<Vec<ExerciseActionRecord>>;
    /// Ends a running exercise and keeps its outcome; `Duplicate` if it has already ended.
    async fn end_exercise(
        &self,
        exercise_id: i64,
        outcome: &str,
        now: Timestamp,
    ) -> Result<ExerciseRecord>;

    // --- uploaded playbook versions --------------------------------------------------------
    /// Stores a new version. `Duplicate` when an equal or higher version of the same id is
    /// already stored (judged in the writing statement, so two racing uploads cannot both
    /// win); `NotFound` for an unknown uploader.
    async fn add_playbook_version(&self, new: &NewPlaybookVersion) -> Result<StoredPlaybook>;
    /// Every stored version of every playbook, by `seq`.
    async fn list_playbook_versions(&self) -> Result<Vec<StoredPlaybook>>;
    /// The highest `seq` stored, 0 when nothing was uploaded: cheap enough to ask on every
    /// read of the catalogue.
    async fn playbook_upload_seq(&self) -> Result<i64>;

    // --- job queue (notifications, escalations, reminders) -----------------------------------
    // See `notify` for why this gives exactly-once effects across replicas.
    /// Adds a job. A job whose dedupe key is already stored is not added: the stored one is
    /// returned (whatever its state). `NotFound` for an unknown incident.
    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<Job>;
    /// Claims up to `limit` jobs that are due (`queued` with `run_at <= now`) or whose
    /// worker's lease ran out (`running` with `lease_until <= now`), earliest `run_at` first:
    /// marks them `running` for `worker` until `now + lease` and counts an attempt. Two
    /// claimers never get the same job.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Job>>;
    /// Marks a job `worker` holds (running, its lease not run out at `now`) done and writes
    /// `effects`, in one transaction. `LeaseLost` (writing nothing) when the worker does not
    /// hold it; `NotFound` for an unknown job; any failing effect rolls everything back.
    async fn finish_job(
        &self,
        job_id: i64,
        worker: &str,
        effects: &JobEffects,
        now: Timestamp,
    ) -> Result<FinishedJob>;
    /// Puts a job `worker` holds back in the queue to run at `next_run_at`, keeping the
    /// error. `LeaseLost` / `NotFound` as for `finish_job`.
    async fn retry_job(
        &self,
        job_id: i64,
        worker: &str,
        next_run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<Job>;
    /// Gives a job `worker` holds up (`dead`: kept and listed). `LeaseLost` / `NotFound` as
    /// for `finish_job`.
    async fn fail_job(&self, job_id: i64, worker: &str, error: &str, now: Timestamp)
    -> Result<Job>;
    async fn get_job(&self, job_id: i64) -> Result<Option<Job>>;
    /// Jobs matching the filter, newest first (the administrators' view).
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;

    // --- notifications -----------------------------------------------------------------------
    /// The incident's notifications, by id.
    async fn list_notifications(&self, incident_id: i64) -> Result<Vec<Notification>>;
    async fn get_notification(&self, notification_id: i64) -> Result<Option<Notification>>;
    /// Records a successful send (an acknowledged notification stays acknowledged).
    async fn mark_notification_sent(
        &self,
        notification_id: i64,
        now: Timestamp,
    ) -> Result<Notification>;
    /// Records a failed send and its error (an acknowledged notification stays acknowledged).
    async fn mark_notification_failed(
        &self,
        notification_id: i64,
        error: &str,
    ) -> Result<Notification>;
    /// Acknowledges a notification. The first acknowledgement wins and writes `entry` to the
    /// incident's timeline in the same transaction; later ones change nothing and answer
    /// `first: false`. `NotFound` for an unknown notification.
    async fn acknowledge_notification(
        &self,
        notification_id: i64,
        by: Option<i64>,
        via: AckVia,
        entry: Option<&TimelineEntryFields>,
        now: Timestamp,
    ) -> Result<Acknowledged>;
    /// When the incident's first notification was acknowledged, if any was: any
    /// acknowledgement stops the escalation chain.
    async fn incident_acknowledged_at(&self, incident_id: i64) -> Result<Option<Timestamp>>;

    // --- phone tree ------------------------------------------------------------------------
    /// The incident's call list: its phone-tree notifications, each with its calls.
    async fn phone_tree(&self, incident_id: i64) -> Result<Vec<PhoneTreeLine>>;
    /// Records a call on a line if the line is still at `expected_version`, with `entry` on
    /// the timeline, in one transaction. `Stale` if someone recorded a call meanwhile;
    /// `NotFound` for a line that is not a phone-tree notification of this incident.
    async fn record_call(
        &self,
        incident_id: i64,
        notification_id: i64,
        expected_version: i64,
        call: &NewPhoneCall,
        entry: Option<&TimelineEntryFields>,
    ) -> Result<PhoneTreeLine>;

    // --- notification configuration --------------------------------------------------------
    /// Stores a rule (its `id` is ignored and assigned), at version 1.
    async fn create_rule(&self, rule: &NotificationRule, now: Timestamp) -> Result<StoredRule>;
    async fn get_rule(&self, rule_id: i64) -> Result<Option<StoredRule>>;
    /// Every rule, by id.
    async fn list_rules(&self) -> Result<Vec<StoredRule>>;
    /// Rewrites a rule still at `expected_version`; `Stale` otherwise, `NotFound` if gone.
    async fn update_rule(
        &self,
        rule_id: i64,
        expected_version: i64,
        rule: &NotificationRule,
        now: Timestamp,
    ) -> Result<StoredRule>;
    /// Deletes a rule still at `expected_version`; `Stale` / `NotFound` otherwise.
    async fn delete_rule(&self, rule_id: i64, expected_version: i64) -> Result<()>;
    /// The organisation's escalation chain, `None` until one is saved.
    async fn escalation_chain(&self) -> Result<Option<StoredChain>>;
    /// Saves the chain if it is still at `expected_version` (0 for the first save).
    async fn save_escalation_chain(
        &self,
        expected_version: i64,
        chain: &EscalationChain,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<StoredChain>;
    /// The stored template, or the built-in one (version 0) when none is stored.
    async fn get_template(&self, kind: TemplateKind, language: Language) -> Result<StoredTemplate>;
    /// Every kind in every language, stored or built-in, in `TemplateKind::ALL` and
    /// `Language::ALL` order.
    async fn list_templates(&self) -> Result<Vec<StoredTemplate>>;
    /// Saves a template (already parsed by the server) if it is still at `expected_version`
    /// (0 while it is the built-in one).
    #[allow(clippy::too_many_arguments)]
    async fn save_template(
        &self,
        kind: TemplateKind,
        language: Language,
        expected_version: i64,
        subject: &str,
        body: &str,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<StoredTemplate>;
    /// Goes back to the built-in template; `false` if it was the built-in one already.
    async fn reset_template(&self, kind: TemplateKind, language: Language) -> Result<bool>;
    async fn create_rotation(&self, spec: &RotationSpec, now: Timestamp) -> Result<StoredRotation>;
    async fn get_rotation(&self, rotation_id: i64) -> Result<Option<StoredRotation>>;
    /// Every rotation, by id.
    async fn list_rotations(&self) -> Result<Vec<StoredRotation>>;
    /// Rewrites a rotation still at `expected_version`; `Stale` / `NotFound` otherwise.
    async fn update_rotation(
        &self,
        rotation_id: i64,
        expected_version: i64,
        spec: &RotationSpec,
        now: Timestamp,
    ) -> Result<StoredRotation>;
    async fn delete_rotation(&self, rotation_id: i64, expected_version: i64) -> Result<()>;
    /// Appends an override whatever the version (two people covering different nights do
    /// not undo each other) and bumps the version. `NotFound` for an unknown rotation.
    async fn add_rotation_override(
        &self,
        rotation_id: i64,
        cover: &Override,
        now: Timestamp,
    ) -> Result<StoredRotation>;
    async fn create_webhook_target(
        &self,
        fields: &WebhookTargetFields,
        now: Timestamp,
    ) -> Result<WebhookTarget>;
    /// Every target, by id, without secrets.
    async fn list_webhook_targets(&self) -> Result<Vec<WebhookTarget>>;
    async fn get_webhook_target(&self, target_id: i64) -> Result<Option<WebhookTarget>>;
    /// The signing secret, for the sender only.
    async fn webhook_secret(&self, target_id: i64) -> Result<Option<String>>;
    /// Rewrites a target still at `expected_version` (a `None` secret keeps the stored one).
    async fn update_webhook_target(
        &self,
        target_id: i64,
        expected_version: i64,
        fields: &WebhookTargetFields,
        now: Timestamp,
    ) -> Result<WebhookTarget>;
    /// `false` if there was no such target. Notifications sent through it keep its id.
    async fn delete_webhook_target(&self, target_id: i64) -> Result<bool>;
}

//! Tabletop exercises: replay a reference case or a past incident on an accelerated clock.
//!
//! An exercise runs on an incident of its own, marked as an exercise, whose calendar *is*
//! case time: case minute `m` is `m` minutes after 00:00 of the exercise incident's Day 1.
//! Injects and participants' moves land on that incident's timeline at their case time, so
//! the three-lane view and Day-N labels read like the original's, and the playbook's due
//! times are set in the same calendar.
//!
//! Injects are released lazily: every call that touches an exercise first writes the
//! injects whose time has come, through a conditional store call that lets each inject land
//! exactly once however many requests race. No background task is needed, and a test moves
//! the injected clock to make time pass.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::exercise::{ExerciseRecord, ExerciseSource, ExerciseState};
use kizuki_domain::incident::{DetectionSource, NewIncident};
use kizuki_domain::settings::Language;
use kizuki_domain::task::TaskStatus;
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields};
use kizuki_exercise::{
    Comparison, ExerciseAction, ExerciseClock, ExerciseError, ExerciseTask, Pace, Script,
};
use kizuki_store::{NewExercise, TimelineQuery};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::access::{Principal, check_incident_visible};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// Case minutes per real minute when the facilitator does not say: an hour of the case in
/// a minute, so a day plays in 24 minutes.
const DEFAULT_SPEED: u32 = 60;

/// What the log of an exercise holds, in order: participants' moves and the facilitator's
/// jumps of the clock (kept so a past real instant maps back to the case time it had).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LogEntry {
    Action(ExerciseAction),
    Skip { at: Timestamp, skipped_minutes: i64 },
}

fn engine_error(e: ExerciseError) -> ApiError {
    match e.field() {
        Some(field) => kizuki_domain::ValidationError::one(field, e.to_string()).into(),
        None => kizuki_domain::ValidationError::one("source", e.to_string()).into(),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("stored exercise {what} cannot be read: {e}"))
}

/// A loaded exercise with its script and log.
struct Loaded {
    record: ExerciseRecord,
    script: Script,
    log: Vec<LogEntry>,
    start_date: Date,
}

impl Loaded {
    fn pace(&self) -> Pace {
        Pace {
            started_at: self.record.started_at,
            speed: self.record.speed,
            skipped_minutes: self.record.skipped_minutes,
        }
    }

    fn clock(&self) -> ApiResult<ExerciseClock<'_>> {
        ExerciseClock::new(&self.script, self.pace()).map_err(|e| corrupt("pace", e))
    }

    /// The case time a past real instant had: the clock as it ran then, with the skips
    /// made before it.
    fn case_offset_at(&self, at: Timestamp) -> ApiResult<i64> {
        let skipped = self
            .log
            .iter()
            .filter_map(|e| match e {
                LogEntry::Skip {
                    at: when,
                    skipped_minutes,
                } if *when <= at => Some(*skipped_minutes),
                _ => None,
            })
            .next_back()
            .unwrap_or(0);
        let pace = Pace {
            skipped_minutes: skipped,
            ..self.pace()
        };
        Ok(ExerciseClock::new(&self.script, pace)
            .map_err(|e| corrupt("pace", e))?
            .case_offset_at(at))
    }

    fn actions(&self) -> Vec<ExerciseAction> {
        self.log
            .iter()
            .filter_map(|e| match e {
                LogEntry::Action(a) => Some(a.clone()),
                LogEntry::Skip { .. } => None,
            })
            .collect()
    }
}

/// The instant of case minute `offset` in the exercise incident's calendar.
fn case_instant(state: &AppState, start_date: Date, offset: i64) -> ApiResult<Timestamp> {
    let midnight = start_date
        .to_datetime(jiff::civil::Time::midnight())
        .to_zoned_datetime(state.settings.time_zone.clone())
        .map_err(|e| ApiError::Internal(format!("exercise start date: {e}")))?
        .timestamp();
    midnight
        .checked_add(SignedDuration::from_mins(offset))
        .map_err(|e| ApiError::Internal(format!("case time out of range: {e}")))
}

/// Who is acting: a signed-in user, or the operator at the command line (`None`), who sees
/// everything, as with the CLI's other commands.
type Caller<'a> = Option<&'a Principal>;

fn caller_id(caller: Caller<'_>) -> Option<i64> {
    caller.map(|p| p.user.id)
}

fn caller_name(caller: Caller<'_>, lang: Language) -> String {
    match caller {
        Some(p) => p.user.display_name.clone(),
        None => match lang {
            Language::Ja => "運用者（CLI）".to_owned(),
            Language::En => "Operator (CLI)".to_owned(),
        },
    }
}

async fn visible_incident(
    state: &AppState,
    caller: Caller<'_>,
    id: i64,
) -> ApiResult<kizuki_domain::incident::Incident> {
    match caller {
        Some(p) => check_incident_visible(state, p, id).await,
        None => state
            .store
            .get_incident(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("incident {id} not found"))),
    }
}

async fn load(state: &AppState, caller: Caller<'_>, exercise_id: i64) -> ApiResult<Loaded> {
    let not_found = || ApiError::NotFound(format!("exercise {exercise_id} not found"));
    let record = state
        .store
        .get_exercise(exercise_id)
        .await?
        .ok_or_else(not_found)?;
    let incident = visible_incident(state, caller, record.incident_id)
        .await
        .map_err(|_| not_found())?;
    let script: Script = serde_json::from_str(&record.script).map_err(|e| corrupt("script", e))?;
    let log = state
        .store
        .list_exercise_actions(exercise_id)
        .await?
        .into_iter()
        .map(|r| serde_json::from_str::<LogEntry>(&r.action).map_err(|e| corrupt("log", e)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Loaded {
        record,
        script,
        log,
        start_date: incident.start_date,
    })
}

/// Writes the injects whose time has come to the exercise's timeline (each exactly once).
async fn release_due(state: &AppState, ex: &mut Loaded, now: Timestamp) -> ApiResult<()> {
    if ex.record.state != ExerciseState::Running {
        return Ok(());
    }
    loop {
        let due = ex.clock()?.released(now).len();
        let done = usize::try_from(ex.record.released).unwrap_or(usize::MAX);
        if due <= done {
            return Ok(());
        }
        let mut entries = Vec::with_capacity(due - done);
        for inject in ex.script.injects.get(done..due).unwrap_or(&[]) {
            entries.push(inject.timeline_entry().into_fields(
                ex.start_date,
                &state.settings.time_zone,
                now,
            )?);
        }
        match state
            .store
            .release_injects(ex.record.id, ex.record.released, &entries, now)
            .await?
        {
            Some(record) => {
                ex.record = record;
                return Ok(());
            }
            // Someone else released first: read where the mark stands now and go again.
            None => {
                ex.record = state
                    .store
                    .get_exercise(ex.record.id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound("exercise vanished".into()))?;
                if ex.record.state != ExerciseState::Running {
                    return Ok(());
                }
            }
        }
    }
}

// --- views -----------------------------------------------------------------------------------

/// An inject the participants have seen.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InjectView {
    pub index: usize,
    /// The original's moment, e.g. "Day 3 14:00".
    pub label: String,
    pub offset_minutes: i64,
    pub background: bool,
    pub lane: Lane,
    pub kind: EntryKind,
    pub actor: String,
    pub text: String,
}

/// A decision point that has opened: the question, never the original's answer (that
/// comes with the report).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionPointView {
    pub index: usize,
    pub label: String,
    pub lane: Option<Lane>,
    pub question: Option<String>,
}

/// When the next inject comes out; its content stays hidden until then.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NextInjectView {
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub wait_seconds: i64,
    pub case_minutes_away: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExerciseView {
    pub id: i64,
    /// The exercise's own incident: its timeline, tasks and decisions are the exercise's.
    pub incident_id: i64,
    pub title: String,
    pub source: ExerciseSource,
    pub speed: u32,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    pub state: ExerciseState,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Timestamp>,
    /// Case time now (or at the end), in minutes from Day 1 00:00.
    pub case_offset_minutes: i64,
    /// Case time now, e.g. "Day 2 09:30" / "2日目 09:30".
    pub case_time: String,
    pub injects_total: usize,
    pub released: Vec<InjectView>,
    pub next_inject: Option<NextInjectView>,
    pub open_decision_points: Vec<DecisionPointView>,
    pub actions_recorded: usize,
    pub version: i64,
}

fn view(ex: &Loaded, now: Timestamp, lang: Language) -> ApiResult<ExerciseView> {
    let clock = ex.clock()?;
    let at = match ex.record.ended_at {
        Some(end) => ex.case_offset_at(end)?,
        None => clock.case_offset_at(now),
    };
    let shown = usize::try_from(ex.record.released).unwrap_or(usize::MAX);
    let released = ex
        .script
        .injects
        .iter()
        .take(shown)
        .map(|i| InjectView {
            index: i.index,
            label: i.label(lang).to_owned(),
            offset_minutes: i.offset_minutes,
            background: i.background,
            lane: i.lane,
            kind: i.kind,
            actor: i.actor.clone(),
            text: i.text.clone(),
        })
        .collect();
    let next_inject = match ex.record.state {
        ExerciseState::Running => clock.next_inject(now).map(|n| NextInjectView {
            due_at: n.due_at,
            wait_seconds: n.wait_seconds,
            case_minutes_away: n.case_minutes_away,
        }),
        ExerciseState::Ended => None,
    };
    let open_decision_points = ex
        .script
        .decision_points
        .iter()
        .filter(|p| p.opens_at_minutes <= at)
        .map(|p| DecisionPointView {
            index: p.index,
            label: p.label(lang).to_owned(),
            lane: p.lane,
            question: p.question.clone(),
        })
        .collect();
    Ok(ExerciseView {
        id: ex.record.id,
        incident_id: ex.record.incident_id,
        title: ex.record.title.clone(),
        source: ex.record.source,
        speed: ex.record.speed,
        started_at: ex.record.started_at,
        state: ex.record.state,
        ended_at: ex.record.ended_at,
        case_offset_minutes: at,
        case_time: kizuki_exercise::case_time_label(at, lang),
        injects_total: ex.script.injects.len(),
        released,
        next_inject,
        open_decision_points,
        actions_recorded: ex.actions().len(),
        version: ex.record.version,
    })
}

// --- what the API and the CLI both do ------------------------------------------------------

/// What a facilitator sends to start an exercise.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartExercise {
    /// A reference case (`{"kind":"reference_case","number":8}`) or a past incident
    /// (`{"kind":"incident","incident_id":12}`).
    pub source: ExerciseSource,
    /// Case minutes per real minute (1–10,000; default 60).
    #[serde(default)]
    pub speed: Option<u32>,
    /// Language of a reference case's injects; defaults to the organisation's.
    #[serde(default)]
    pub lang: Option<Language>,
    /// A playbook to apply to the exercise (default: the first for the case's category).
    /// `""` applies none.
    #[serde(default)]
    pub playbook: Option<String>,
}

/// Starts an exercise: its incident, the playbook's tasks, and the background injects.
pub async fn start_exercise(
    state: &AppState,
    caller: Caller<'_>,
    req: StartExercise,
) -> ApiResult<ExerciseView> {
    let now = state.clock.now();
    let lang = req.lang.unwrap_or(state.settings.language);
    let speed = req.speed.unwrap_or(DEFAULT_SPEED);
    let (script, category) = match req.source {
        ExerciseSource::ReferenceCase { number } => {
            let case = state.reference.case(&number.to_string()).ok_or_else(|| {
                kizuki_domain::ValidationError::one(
                    "source.number",
                    format!(
                        "there is no reference case {number}; the library has cases 1–{}",
                        state.reference.cases().len()
                    ),
                )
            })?;
            (
                Script::from_case(case, lang).map_err(engine_error)?,
                case.category,
            )
        }
        ExerciseSource::Incident { incident_id } => {
            let incident = visible_incident(state, caller, incident_id).await?;
            let timeline = state
                .store
                .list_timeline(incident_id, &TimelineQuery::default())
                .await?;
            (
                Script::from_incident(&incident, &timeline, &state.settings.time_zone)
                    .map_err(engine_error)?,
                incident.category,
            )
        }
    };
    let pace = Pace::new(now, speed).map_err(engine_error)?;
    let catalogue = state.playbooks.current().await;
    let playbook = match req.playbook.as_deref() {
        Some("") => None,
        Some(id) => Some(catalogue.get(id).ok_or_else(|| {
            kizuki_domain::ValidationError::one("playbook", format!("unknown playbook `{id}`"))
        })?),
        None => catalogue.for_category(category).into_iter().next(),
    };
    let title = match lang {
        Language::Ja => format!("【演習】{}", script.title),
        Language::En => format!("[Exercise] {}", script.title),
    };
    let start_date = now
        .to_zoned_datetime(state.settings.time_zone.clone())
        .date();
    let fields = NewIncident {
        title: title.chars().take(200).collect(),
        summary: String::new(),
        category,
        severity: None,
        phase: None,
        detection_source: DetectionSource::Unknown,
        start_date: Some(start_date),
        start_basis: None,
        aware_at: Some(now),
        affected_units: Vec::new(),
        affected_assets: Vec::new(),
        impact: Default::default(),
        restricted: false,
    }
    .into_fields(
        &state.settings.severity,
        now,
        &state.settings.time_zone,
        state.settings.start_basis,
    )?;
    let script_json =
        serde_json::to_string(&script).map_err(|e| ApiError::Internal(e.to_string()))?;
    // No legal clocks: a rehearsal must never remind anyone of a real deadline.
    let (incident, record) = state
        .store
        .create_exercise(
            &fields,
            &[],
            &NewExercise {
                source: req.source,
                title: fields.title.clone(),
                speed: pace.speed,
                started_at: pace.started_at,
                skipped_minutes: pace.skipped_minutes,
                script: script_json,
            },
            caller_id(caller),
            now,
        )
        .await?;
    let mut ex = Loaded {
        record,
        script,
        log: Vec::new(),
        start_date: incident.start_date,
    };
    if let Some(playbook) = playbook {
        // Due times count from the exercise's opening in case time, as they would from the
        // moment a real responder applied the playbook.
        let applied_at = case_instant(state, start_date, ex.script.opening_offset())?;
        let tasks = playbook.plan(
            start_date,
            applied_at,
            &state.settings.time_zone,
            state.settings.language,
        );
        state.store.add_tasks(incident.id, &tasks).await?;
    }
    release_due(state, &mut ex, now).await?;
    tracing::info!(
        exercise = ex.record.id,
        incident = incident.id,
        user = caller_id(caller),
        "exercise started"
    );
    view(&ex, now, lang)
}

/// The exercise as the participants see it now (releasing what is due first).
pub async fn show_exercise(
    state: &AppState,
    caller: Caller<'_>,
    exercise_id: i64,
    lang: Language,
) -> ApiResult<ExerciseView> {
    let now = state.clock.now();
    let mut ex = load(state, caller, exercise_id).await?;
    release_due(state, &mut ex, now).await?;
    view(&ex, now, lang)
}

/// Every exercise the caller can see, newest first.
pub async fn list_exercises(
    state: &AppState,
    caller: Caller<'_>,
    lang: Language,
) -> ApiResult<Vec<ExerciseView>> {
    let now = state.clock.now();
    let viewer = caller.map(Principal::viewer);
    let mut out = Vec::new();
    for record in state.store.list_exercises(viewer.as_ref()).await? {
        let ex = load(state, caller, record.id).await?;
        out.push(view(&ex, now, lang)?);
    }
    Ok(out)
}

/// Jumps the clock to the next inject. `version` guards against two facilitators jumping
/// at once; `None` (the CLI) takes the current one.
pub async fn advance_exercise(
    state: &AppState,
    caller: Caller<'_>,
    exercise_id: i64,
    version: Option<i64>,
) -> ApiResult<ExerciseView> {
    let now = state.clock.now();
    let mut ex = load(state, caller, exercise_id).await?;
    if ex.record.state == ExerciseState::Ended {
        return Err(ApiError::AlreadyDone {
            field: "exercise".into(),
            message: format!("exercise {exercise_id} has ended"),
        });
    }
    let mut clock = ex.clock()?;
    let Some(skipped) = clock.skip_to_next(now) else {
        return Err(ApiError::AlreadyDone {
            field: "exercise".into(),
            message: "every inject has been released".into(),
        });
    };
    let at = clock.case_offset_at(now);
    ex.record = state
        .store
        .set_exercise_skip(exercise_id, version.unwrap_or(ex.record.version), skipped)
        .await?;
    let lang = state.settings.language;
    let when = kizuki_exercise::case_time_label(at, lang);
    let text = match lang {
        Language::Ja => format!("ファシリテーターが演習の時計を {when} に進めた"),
        Language::En => format!("The facilitator moved the exercise clock on to {when}"),
    };
    let entry = TimelineEntryFields {
        occurred_at: case_instant(state, ex.start_date, at)?,
        precision: TimePrecision::Minute,
        day_part: None,
        lane: Lane::CisoCsirt,
        actor: caller_name(caller, lang),
        kind: EntryKind::Other,
        text,
        source: EntrySource::Manual,
    };
    let skip = LogEntry::Skip {
        at: now,
        skipped_minutes: skipped,
    };
    let json = serde_json::to_string(&skip).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .add_exercise_action(exercise_id, &json, &entry, caller_id(caller), now)
        .await?;
    ex.log.push(skip);
    release_due(state, &mut ex, now).await?;
    tracing::info!(
        exercise = exercise_id,
        user = caller_id(caller),
        "exercise clock advanced"
    );
    view(&ex, now, lang)
}

/// A participant's move.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordAction {
    pub lane: Lane,
    pub kind: EntryKind,
    pub text: String,
    /// Who acts; defaults to the user's name.
    #[serde(default)]
    pub actor: Option<String>,
    /// The open decision point this decision answers (see `open_decision_points`).
    #[serde(default)]
    pub decision_point: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordedAction {
    pub case_offset_minutes: i64,
    pub case_time: String,
    pub lane: Lane,
    pub kind: EntryKind,
    pub text: String,
    pub actor: String,
    pub decision_point: Option<usize>,
}

/// Records a move at the current case time, on the log and the exercise's timeline.
pub async fn record_exercise_action(
    state: &AppState,
    caller: Caller<'_>,
    exercise_id: i64,
    req: RecordAction,
) -> ApiResult<RecordedAction> {
    let now = state.clock.now();
    let mut ex = load(state, caller, exercise_id).await?;
    if ex.record.state == ExerciseState::Ended {
        return Err(ApiError::AlreadyDone {
            field: "exercise".into(),
            message: format!("exercise {exercise_id} has ended; its report is ready"),
        });
    }
    release_due(state, &mut ex, now).await?;
    let at = ex.clock()?.case_offset_at(now);
    let lang = state.settings.language;
    let actor = req
        .actor
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| caller_name(caller, lang));
    let action = ExerciseAction {
        case_offset_minutes: at,
        lane: req.lane,
        kind: req.kind,
        text: req.text,
        actor,
        decision_point: req.decision_point,
    };
    action.validate(&ex.script)?;
    let entry = TimelineEntryFields {
        occurred_at: case_instant(state, ex.start_date, at)?,
        precision: TimePrecision::Minute,
        day_part: None,
        lane: action.lane,
        actor: action.actor.trim().to_owned(),
        kind: action.kind,
        text: action.text.clone(),
        source: EntrySource::Manual,
    };
    let json = serde_json::to_string(&LogEntry::Action(action.clone()))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .add_exercise_action(exercise_id, &json, &entry, caller_id(caller), now)
        .await?;
    Ok(RecordedAction {
        case_offset_minutes: at,
        case_time: kizuki_exercise::case_time_label(at, lang),
        lane: action.lane,
        kind: action.kind,
        text: action.text,
        actor: action.actor,
        decision_point: action.decision_point,
    })
}

/// The comparison as of `until` (the end, or now for a preview).
async fn comparison(state: &AppState, ex: &Loaded, until: Timestamp) -> ApiResult<Comparison> {
    let zero = case_instant(state, ex.start_date, 0)?;
    let minutes_from_day1 = |t: Timestamp| t.duration_since(zero).as_mins();
    let mut tasks = Vec::new();
    for t in state.store.list_tasks(ex.record.incident_id).await? {
        let done_at = match (t.status, t.completed_at) {
            (TaskStatus::Done, Some(at)) => Some(ex.case_offset_at(at)?),
            _ => None,
        };
        tasks.push(ExerciseTask {
            key: t.id.to_string(),
            title: t.title,
            lane: t.lane,
            status: t.status,
            due_offset_minutes: t.due_at.map(minutes_from_day1),
            done_at_offset_minutes: done_at,
        });
    }
    let ended_at = ex.case_offset_at(until)?;
    kizuki_exercise::compare(&ex.script, &ex.actions(), &tasks, ended_at).map_err(engine_error)
}

/// Ends the exercise and keeps its comparison, so the report never changes afterwards.
pub async fn end_exercise(
    state: &AppState,
    caller: Caller<'_>,
    exercise_id: i64,
) -> ApiResult<Comparison> {
    let now = state.clock.now();
    let mut ex = load(state, caller, exercise_id).await?;
    release_due(state, &mut ex, now).await?;
    let outcome = comparison(state, &ex, now).await?;
    let json = serde_json::to_string(&outcome).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.store.end_exercise(exercise_id, &json, now).await?;
    tracing::info!(
        exercise = exercise_id,
        user = caller_id(caller),
        "exercise ended"
    );
    Ok(outcome)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseReportFormat {
    #[default]
    Html,
    Md,
    Json,
}

/// The comparison report: final once the exercise has ended, a preview before. Returns the
/// document, its media type and its file extension.
pub async fn exercise_report(
    state: &AppState,
    caller: Caller<'_>,
    exercise_id: i64,
    format: ExerciseReportFormat,
    lang: Language,
) -> ApiResult<(Vec<u8>, &'static str, &'static str)> {
    let now = state.clock.now();
    let mut ex = load(state, caller, exercise_id).await?;
    let outcome = match &ex.record.outcome {
        Some(json) => serde_json::from_str(json).map_err(|e| corrupt("outcome", e))?,
        None => {
            release_due(state, &mut ex, now).await?;
            comparison(state, &ex, now).await?
        }
    };
    Ok(match format {
        ExerciseReportFormat::Html => (
            kizuki_exercise::report::html(&outcome, lang).into_bytes(),
            "text/html; charset=utf-8",
            "html",
        ),
        ExerciseReportFormat::Md => (
            kizuki_exercise::report::markdown(&outcome, lang).into_bytes(),
            "text/markdown; charset=utf-8",
            "md",
        ),
        ExerciseReportFormat::Json => (
            serde_json::to_vec_pretty(&outcome).map_err(|e| ApiError::Internal(e.to_string()))?,
            "application/json",
            "json",
        ),
    })
}

// --- routes ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LangParam {
    /// `ja` or `en`; defaults to the organisation's language.
    pub lang: Option<Language>,
}

#[utoipa::path(post, path = "/api/v1/exercises", tag = "exercises", request_body = StartExercise,
    responses((status = 201, body = ExerciseView),
        (status = 404, description = "No such incident to replay", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn start(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<StartExercise>,
) -> ApiResult<(StatusCode, Json<ExerciseView>)> {
    let view = start_exercise(&state, Some(&principal), req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/exercises", tag = "exercises", params(LangParam),
    responses((status = 200, description = "Exercises you can see, newest first", body = Vec<ExerciseView>)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<LangParam>,
) -> ApiResult<Json<Vec<ExerciseView>>> {
    let lang = p.lang.unwrap_or(state.settings.language);
    Ok(Json(list_exercises(&state, Some(&principal), lang).await?))
}

#[utoipa::path(get, path = "/api/v1/exercises/{exercise_id}", tag = "exercises",
    params(("exercise_id" = i64, Path, description = "Exercise id"), LangParam),
    responses((status = 200, body = ExerciseView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(exercise_id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<LangParam>,
) -> ApiResult<Json<ExerciseView>> {
    let lang = p.lang.unwrap_or(state.settings.language);
    Ok(Json(
        show_exercise(&state, Some(&principal), exercise_id, lang).await?,
    ))
}

/// The facilitator's jump to the next inject.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// The exercise version read before deciding to jump, so two facilitators clicking at
    /// once jump once.
    pub version: i64,
}

#[utoipa::path(post, path = "/api/v1/exercises/{exercise_id}/advance", tag = "exercises",
    params(("exercise_id" = i64, Path, description = "Exercise id")), request_body = Advance,
    responses((status = 200, body = ExerciseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version, or the exercise has ended or has nothing left", body = Problem, content_type = "application/problem+json")))]
pub async fn advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(exercise_id): ApiPath<i64>,
    ApiJson(req): ApiJson<Advance>,
) -> ApiResult<Json<ExerciseView>> {
    Ok(Json(
        advance_exercise(&state, Some(&principal), exercise_id, Some(req.version)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/exercises/{exercise_id}/actions", tag = "exercises",
    params(("exercise_id" = i64, Path, description = "Exercise id")), request_body = RecordAction,
    responses((status = 201, body = RecordedAction),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The exercise has ended", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_action(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(exercise_id): ApiPath<i64>,
    ApiJson(req): ApiJson<RecordAction>,
) -> ApiResult<(StatusCode, Json<RecordedAction>)> {
    let recorded = record_exercise_action(&state, Some(&principal), exercise_id, req).await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

#[utoipa::path(post, path = "/api/v1/exercises/{exercise_id}/end", tag = "exercises",
    params(("exercise_id" = i64, Path, description = "Exercise id")),
    responses((status = 200, description = "The exercise's comparison with the original and the playbook (JSON)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already ended", body = Problem, content_type = "application/problem+json")))]
pub async fn end(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(exercise_id): ApiPath<i64>,
) -> ApiResult<Json<Comparison>> {
    Ok(Json(
        end_exercise(&state, Some(&principal), exercise_id).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExerciseReportParams {
    /// `html` (default), `md` or `json`.
    pub format: Option<ExerciseReportFormat>,
    /// `ja` or `en`; defaults to the organisation's language.
    pub lang: Option<Language>,
}

#[utoipa::path(get, path = "/api/v1/exercises/{exercise_id}/report", tag = "exercises",
    params(("exercise_id" = i64, Path, description = "Exercise id"), ExerciseReportParams),
    responses((status = 200, description = "The comparison report: final once the exercise has ended, a preview before",
            content(("text/html"), ("text/markdown"), ("application/json"))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn report(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(exercise_id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<ExerciseReportParams>,
) -> ApiResult<Response> {
    let lang = p.lang.unwrap_or(state.settings.language);
    let (body, media_type, ext) = exercise_report(
        &state,
        Some(&principal),
        exercise_id,
        p.format.unwrap_or_default(),
        lang,
    )
    .await?;
    Ok(super::review::document(
        body,
        media_type,
        &format!("exercise-{exercise_id}-report-{lang}.{ext}"),
    ))
}

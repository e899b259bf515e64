//! Reviews, lessons, corrective actions and tabletop exercises (migration 0004).
//!
//! Kept apart from `lib.rs` because none of it is on the hot path of a live incident; the
//! trait methods in `lib.rs` forward here.
//!
//! Several replicas may write at once, so every versioned write checks the version in the
//! statement that writes (`UPDATE … WHERE version = $n RETURNING …`): of two editors of one
//! version exactly one gets a row back. Only when nothing was written does a second query
//! run, to tell the loser whether the row moved on (`Stale`) or never existed (`NotFound`).

use jiff::Timestamp;
use kizuki_domain::access::Viewer;
use kizuki_domain::exercise::{ExerciseActionRecord, ExerciseRecord, ExerciseState};
use kizuki_domain::review::{
    ActionQuery, ActionStatus, CorrectiveAction, CorrectiveActionState, Lesson, LessonFields,
    LessonHit, LessonQuery, Review, ReviewNarrative,
};
use kizuki_domain::timeline::TimelineEntryFields;
use kizuki_store::{NewExercise, Result, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, PgExecutor, PgPool, Postgres, QueryBuilder};

use crate::rows::{Cols, json_err, to_db_date, to_db_opt_ts, to_db_ts};
use crate::{
    child_err, collect, db_err, incident_not_found, insert_timeline, not_found, push_visible,
};

// --- shared lookups --------------------------------------------------------------------------

async fn incident_exists(conn: impl PgExecutor<'_>, incident_id: i64) -> Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM incidents WHERE id = $1)")
        .bind(incident_id)
        .fetch_one(conn)
        .await
        .map_err(db_err)
}

/// After a row of an incident was not found: a missing incident is named as such, so that a
/// caller can tell "no such incident" from "no such lesson in this incident".
async fn missing(
    conn: impl PgExecutor<'_>,
    incident_id: i64,
    entity: &'static str,
    id: i64,
) -> StoreError {
    match incident_exists(conn, incident_id).await {
        Ok(true) => not_found(entity, id),
        Ok(false) => incident_not_found(incident_id),
        Err(e) => e,
    }
}

fn stale(entity: &'static str, id: i64, expected: i64, current: i64) -> StoreError {
    StoreError::Stale {
        entity,
        id,
        expected,
        current,
    }
}

// --- reviews ---------------------------------------------------------------------------------

const REVIEW_COLS: &str = "narrative, version, updated_by, updated_at";

fn review(incident_id: i64, row: &PgRow) -> Result<Review> {
    let c = Cols::new(row, "incident_reviews");
    Ok(Review {
        incident_id,
        narrative: c.narrative("narrative")?,
        version: c.get("version")?,
        updated_at: Some(c.ts("updated_at")?),
        updated_by: c.get("updated_by")?,
    })
}

pub(crate) async fn get_review(pool: &PgPool, incident_id: i64) -> Result<Review> {
    let sql = format!("SELECT {REVIEW_COLS} FROM incident_reviews WHERE incident_id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    match row {
        Some(row) => review(incident_id, &row),
        None if incident_exists(pool, incident_id).await? => Ok(Review {
            incident_id,
            narrative: ReviewNarrative::default(),
            version: 0,
            updated_at: None,
            updated_by: None,
        }),
        None => Err(incident_not_found(incident_id)),
    }
}

pub(crate) async fn save_review(
    pool: &PgPool,
    incident_id: i64,
    expected_version: i64,
    narrative: &ReviewNarrative,
    by: Option<i64>,
    now: Timestamp,
) -> Result<Review> {
    let text = serde_json::to_string(narrative).map_err(json_err)?;
    // The first save inserts and every later one updates; either way the version is part of
    // the statement, so two first saves racing each other cannot both land.
    let sql = if expected_version == 0 {
        format!(
            "INSERT INTO incident_reviews (incident_id, narrative, version, updated_by, updated_at) \
             VALUES ($1, $2::jsonb, 1, $3, $4) ON CONFLICT (incident_id) DO NOTHING \
             RETURNING {REVIEW_COLS}"
        )
    } else {
        format!(
            "UPDATE incident_reviews SET narrative = $2::jsonb, version = version + 1, \
                 updated_by = $3, updated_at = $4 \
             WHERE incident_id = $1 AND version = $5 RETURNING {REVIEW_COLS}"
        )
    };
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(text)
        .bind(by)
        .bind(to_db_ts(now)?);
    if expected_version != 0 {
        q = q.bind(expected_version);
    }
    let row = q
        .fetch_optional(pool)
        .await
        .map_err(|e| child_err(e, incident_id, by))?;
    if let Some(row) = row {
        return review(incident_id, &row);
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM incident_reviews WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    match current {
        Some(current) => Err(stale(
            "review of incident",
            incident_id,
            expected_version,
            current,
        )),
        None if incident_exists(pool, incident_id).await? => Err(stale(
            "review of incident",
            incident_id,
            expected_version,
            0,
        )),
        None => Err(incident_not_found(incident_id)),
    }
}

// --- lessons ---------------------------------------------------------------------------------

/// Qualified, because searches join `incidents`, which has columns of the same names.
const LESSON_COLS: &str = "l.id, l.incident_id, l.text, l.categories, l.version, \
     l.created_by, l.created_at, l.updated_at";

fn lesson(row: &PgRow) -> Result<Lesson> {
    let c = Cols::new(row, "lessons");
    Ok(Lesson {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        text: c.get("text")?,
        categories: c.lesson_categories("categories")?,
        version: c.get("version")?,
        created_by: c.get("created_by")?,
        created_at: c.ts("created_at")?,
        updated_at: c.ts("updated_at")?,
    })
}

fn lesson_hit(row: &PgRow) -> Result<LessonHit> {
    Ok(LessonHit {
        lesson: lesson(row)?,
        incident_title: Cols::new(row, "incidents").get("incident_title")?,
    })
}

/// The stored text and its search copy: lower-cased here, by Unicode's rules, because the
/// database's `lower()` follows its locale and folds only ASCII under `C`.
fn lesson_text(lesson: &LessonFields) -> (String, String) {
    let text = lesson.text.trim();
    (text.to_owned(), text.to_lowercase())
}

pub(crate) async fn add_lesson(
    pool: &PgPool,
    incident_id: i64,
    lesson_fields: &LessonFields,
    by: Option<i64>,
    now: Timestamp,
) -> Result<Lesson> {
    let (text, search) = lesson_text(lesson_fields);
    let sql = format!(
        "INSERT INTO lessons AS l (incident_id, text, text_search, categories, version, \
             created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4::jsonb, 1, $5, $6, $6) RETURNING {LESSON_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(text)
        .bind(search)
        .bind(serde_json::to_string(&lesson_fields.categories).map_err(json_err)?)
        .bind(by)
        .bind(to_db_ts(now)?)
        .fetch_one(pool)
        .await
        .map_err(|e| child_err(e, incident_id, by))?;
    lesson(&row)
}

pub(crate) async fn list_lessons(pool: &PgPool, incident_id: i64) -> Result<Vec<Lesson>> {
    let sql = format!("SELECT {LESSON_COLS} FROM lessons l WHERE l.incident_id = $1 ORDER BY l.id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    collect(rows, lesson)
}

pub(crate) async fn update_lesson(
    pool: &PgPool,
    incident_id: i64,
    lesson_id: i64,
    expected_version: i64,
    lesson_fields: &LessonFields,
    now: Timestamp,
) -> Result<Lesson> {
    let (text, search) = lesson_text(lesson_fields);
    let sql = format!(
        "UPDATE lessons AS l SET text = $4, text_search = $5, categories = $6::jsonb, \
             version = l.version + 1, updated_at = $7 \
         WHERE l.id = $1 AND l.incident_id = $2 AND l.version = $3 RETURNING {LESSON_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(lesson_id)
        .bind(incident_id)
        .bind(expected_version)
        .bind(text)
        .bind(search)
        .bind(serde_json::to_string(&lesson_fields.categories).map_err(json_err)?)
        .bind(to_db_ts(now)?)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    if let Some(row) = row {
        return lesson(&row);
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM lessons WHERE id = $1 AND incident_id = $2")
            .bind(lesson_id)
            .bind(incident_id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    match current {
        Some(current) => Err(stale("lesson", lesson_id, expected_version, current)),
        None => Err(missing(pool, incident_id, "lesson", lesson_id).await),
    }
}

pub(crate) async fn search_lessons(
    pool: &PgPool,
    query: &LessonQuery,
    viewer: Option<&Viewer>,
) -> Result<Vec<LessonHit>> {
    // Exercises are rehearsals: what a team "learned" in one must not read as experience.
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {LESSON_COLS}, i.title AS incident_title \
         FROM lessons l JOIN incidents i ON i.id = l.incident_id WHERE NOT i.exercise"
    ));
    if let Some(c) = query.category {
        // `@>` with a one-element array is what the GIN index on `categories` answers.
        let one = serde_json::to_string(&[c]).map_err(json_err)?;
        qb.push(" AND l.categories @> ")
            .push_bind(one)
            .push("::jsonb");
    }
    if let Some(text) = &query.text {
        for word in text.split_whitespace() {
            qb.push(" AND strpos(l.text_search, ")
                .push_bind(word.to_lowercase())
                .push(") > 0");
        }
    }
    push_visible(&mut qb, "i", viewer);
    qb.push(" ORDER BY l.id DESC LIMIT ")
        .push_bind(i64::from(query.limit.clamp(1, 500)));
    let rows = qb.build().fetch_all(pool).await.map_err(db_err)?;
    collect(rows, lesson_hit)
}

// --- corrective actions ----------------------------------------------------------------------

const ACTION_COLS: &str = "a.id, a.lesson_id, a.incident_id, a.title, a.owner, \
     a.owner_user_id, a.due_date, a.status, a.notes, a.closed_at, a.version, a.created_at, \
     a.updated_at";

fn action(row: &PgRow) -> Result<CorrectiveAction> {
    let c = Cols::new(row, "corrective_actions");
    Ok(CorrectiveAction {
        id: c.get("id")?,
        lesson_id: c.get("lesson_id")?,
        incident_id: c.get("incident_id")?,
        title: c.get("title")?,
        owner: c.get("owner")?,
        owner_user_id: c.get("owner_user_id")?,
        due_date: c.date("due_date")?,
        status: c.parse("status")?,
        notes: c.get("notes")?,
        closed_at: c.opt_ts("closed_at")?,
        version: c.get("version")?,
        created_at: c.ts("created_at")?,
        updated_at: c.ts("updated_at")?,
    })
}

pub(crate) async fn add_corrective_action(
    pool: &PgPool,
    incident_id: i64,
    lesson_id: i64,
    a: &CorrectiveActionState,
    now: Timestamp,
) -> Result<CorrectiveAction> {
    // Inserting from the lesson's row checks, in the same statement, that the lesson belongs
    // to this incident: no row means it does not (or that nothing exists at all).
    let sql = format!(
        "INSERT INTO corrective_actions AS a (lesson_id, incident_id, title, owner, \
             owner_user_id, due_date, status, notes, closed_at, version, created_at, updated_at) \
         SELECT l.id, l.incident_id, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10 \
         FROM lessons l WHERE l.id = $1 AND l.incident_id = $2 \
         RETURNING {ACTION_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(lesson_id)
        .bind(incident_id)
        .bind(&a.title)
        .bind(&a.owner)
        .bind(a.owner_user_id)
        .bind(to_db_date(a.due_date)?)
        .bind(a.status.as_str())
        .bind(&a.notes)
        .bind(to_db_opt_ts(a.closed_at)?)
        .bind(to_db_ts(now)?)
        .fetch_optional(pool)
        .await
        .map_err(|e| child_err(e, incident_id, a.owner_user_id))?;
    match row {
        Some(row) => action(&row),
        None => Err(missing(pool, incident_id, "lesson", lesson_id).await),
    }
}

pub(crate) async fn get_corrective_action(
    pool: &PgPool,
    action_id: i64,
) -> Result<Option<CorrectiveAction>> {
    let sql = format!("SELECT {ACTION_COLS} FROM corrective_actions a WHERE a.id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(action_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.as_ref().map(action).transpose()
}

pub(crate) async fn update_corrective_action(
    pool: &PgPool,
    action_id: i64,
    expected_version: i64,
    a: &CorrectiveActionState,
    now: Timestamp,
) -> Result<CorrectiveAction> {
    let sql = format!(
        "UPDATE corrective_actions AS a SET title = $3, owner = $4, owner_user_id = $5, \
             due_date = $6, status = $7, notes = $8, closed_at = $9, version = a.version + 1, \
             updated_at = $10 \
         WHERE a.id = $1 AND a.version = $2 RETURNING {ACTION_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(action_id)
        .bind(expected_version)
        .bind(&a.title)
        .bind(&a.owner)
        .bind(a.owner_user_id)
        .bind(to_db_date(a.due_date)?)
        .bind(a.status.as_str())
        .bind(&a.notes)
        .bind(to_db_opt_ts(a.closed_at)?)
        .bind(to_db_ts(now)?)
        .fetch_optional(pool)
        .await
        .map_err(|e| child_err(e, 0, a.owner_user_id))?;
    if let Some(row) = row {
        return action(&row);
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM corrective_actions WHERE id = $1")
            .bind(action_id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    match current {
        Some(current) => Err(stale(
            "corrective action",
            action_id,
            expected_version,
            current,
        )),
        None => Err(not_found("corrective action", action_id)),
    }
}

/// The most a list returns; the ordering puts what is due first at the top.
const MAX_ACTIONS: i64 = 1000;

pub(crate) async fn list_corrective_actions(
    pool: &PgPool,
    query: &ActionQuery,
    viewer: Option<&Viewer>,
) -> Result<Vec<CorrectiveAction>> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {ACTION_COLS} FROM corrective_actions a \
         JOIN incidents i ON i.id = a.incident_id WHERE TRUE"
    ));
    if query.open_only {
        // Literals, so that the planner can match the partial index on open actions.
        let open = [ActionStatus::Open, ActionStatus::InProgress]
            .map(|s| format!("'{}'", s.as_str()))
            .join(", ");
        qb.push(format!(" AND a.status IN ({open})"));
    }
    if let Some(owner) = query.owner_user_id {
        qb.push(" AND a.owner_user_id = ").push_bind(owner);
    }
    if let Some(due) = query.due_by {
        qb.push(" AND a.due_date <= ").push_bind(to_db_date(due)?);
    }
    if let Some(incident) = query.incident_id {
        qb.push(" AND a.incident_id = ").push_bind(incident);
    }
    if let Some(lesson) = query.lesson_id {
        qb.push(" AND a.lesson_id = ").push_bind(lesson);
    }
    push_visible(&mut qb, "i", viewer);
    qb.push(" ORDER BY a.due_date, a.id LIMIT ")
        .push_bind(MAX_ACTIONS);
    let rows = qb.build().fetch_all(pool).await.map_err(db_err)?;
    collect(rows, action)
}

// --- exercises -------------------------------------------------------------------------------

const EXERCISE_COLS: &str = "e.id, e.incident_id, e.source, e.title, e.speed, e.started_at, \
     e.skipped_minutes, e.released, e.state, e.ended_at, e.script, e.outcome, e.created_by, \
     e.version";

fn exercise(row: &PgRow) -> Result<ExerciseRecord> {
    let c = Cols::new(row, "exercises");
    Ok(ExerciseRecord {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        source: c.exercise_source("source")?,
        title: c.get("title")?,
        speed: c.u32("speed")?,
        started_at: c.ts("started_at")?,
        skipped_minutes: c.get("skipped_minutes")?,
        released: c.u32("released")?,
        state: c.parse("state")?,
        ended_at: c.opt_ts("ended_at")?,
        script: c.get("script")?,
        outcome: c.get("outcome")?,
        created_by: c.get("created_by")?,
        version: c.get("version")?,
    })
}

/// The exercise row of an incident that the caller has just created in `conn`'s transaction.
pub(crate) async fn insert_exercise(
    conn: &mut PgConnection,
    incident_id: i64,
    e: &NewExercise,
    created_by: Option<i64>,
) -> Result<ExerciseRecord> {
    let sql = format!(
        "INSERT INTO exercises AS e (incident_id, source, title, speed, started_at, \
             skipped_minutes, released, state, script, created_by, version) \
         VALUES ($1, $2::jsonb, $3, $4, $5, $6, 0, $7, $8, $9, 1) RETURNING {EXERCISE_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(serde_json::to_string(&e.source).map_err(json_err)?)
        .bind(&e.title)
        .bind(i64::from(e.speed))
        .bind(to_db_ts(e.started_at)?)
        .bind(e.skipped_minutes)
        .bind(ExerciseState::Running.as_str())
        .bind(&e.script)
        .bind(created_by)
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| child_err(err, incident_id, created_by))?;
    exercise(&row)
}

pub(crate) async fn get_exercise(
    conn: impl PgExecutor<'_>,
    exercise_id: i64,
) -> Result<Option<ExerciseRecord>> {
    let sql = format!("SELECT {EXERCISE_COLS} FROM exercises e WHERE e.id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(exercise_id)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(exercise).transpose()
}

/// The most a list returns (newest first).
const MAX_EXERCISES: i64 = 500;

pub(crate) async fn list_exercises(
    pool: &PgPool,
    viewer: Option<&Viewer>,
) -> Result<Vec<ExerciseRecord>> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {EXERCISE_COLS} FROM exercises e JOIN incidents i ON i.id = e.incident_id \
         WHERE TRUE"
    ));
    push_visible(&mut qb, "i", viewer);
    qb.push(" ORDER BY e.id DESC LIMIT ")
        .push_bind(MAX_EXERCISES);
    let rows = qb.build().fetch_all(pool).await.map_err(db_err)?;
    collect(rows, exercise)
}

pub(crate) async fn release_injects(
    pool: &PgPool,
    exercise_id: i64,
    released: u32,
    entries: &[TimelineEntryFields],
    now: Timestamp,
) -> Result<Option<ExerciseRecord>> {
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let mut tx = pool.begin().await.map_err(db_err)?;
    // Racing releases of one mark queue on the row lock; under READ COMMITTED each waiter
    // re-checks `released = $2` against the committed row, so only the first matches, and
    // only the winner goes on to write the entries, in the same transaction.
    let sql = format!(
        "UPDATE exercises AS e SET released = e.released + $3 \
         WHERE e.id = $1 AND e.released = $2 AND e.state = $4 RETURNING {EXERCISE_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(exercise_id)
        .bind(i64::from(released))
        .bind(count)
        .bind(ExerciseState::Running.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        drop(tx);
        return match get_exercise(pool, exercise_id).await? {
            Some(_) => Ok(None),
            None => Err(not_found("exercise", exercise_id)),
        };
    };
    let record = exercise(&row)?;
    insert_timeline(&mut tx, record.incident_id, entries, None, now).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(Some(record))
}

pub(crate) async fn set_exercise_skip(
    pool: &PgPool,
    exercise_id: i64,
    expected_version: i64,
    skipped_minutes: i64,
) -> Result<ExerciseRecord> {
    let sql = format!(
        "UPDATE exercises AS e SET skipped_minutes = $3, version = e.version + 1 \
         WHERE e.id = $1 AND e.version = $2 RETURNING {EXERCISE_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(exercise_id)
        .bind(expected_version)
        .bind(skipped_minutes)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    if let Some(row) = row {
        return exercise(&row);
    }
    match get_exercise(pool, exercise_id).await? {
        Some(current) => Err(stale(
            "exercise",
            exercise_id,
            expected_version,
            current.version,
        )),
        None => Err(not_found("exercise", exercise_id)),
    }
}

fn already_ended(exercise_id: i64) -> StoreError {
    StoreError::Duplicate {
        what: format!("the end of exercise {exercise_id}"),
    }
}

pub(crate) async fn add_exercise_action(
    pool: &PgPool,
    exercise_id: i64,
    action_json: &str,
    entry: &TimelineEntryFields,
    by: Option<i64>,
    now: Timestamp,
) -> Result<ExerciseActionRecord> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    // The share lock holds off a concurrent `end_exercise` until this action is in, so an
    // action is either recorded before the end (and part of the outcome) or refused.
    let found: Option<(i64, String)> =
        sqlx::query_as("SELECT incident_id, state FROM exercises WHERE id = $1 FOR SHARE")
            .bind(exercise_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    let Some((incident_id, state)) = found else {
        return Err(not_found("exercise", exercise_id));
    };
    if state != ExerciseState::Running.as_str() {
        return Err(already_ended(exercise_id));
    }
    insert_timeline(&mut tx, incident_id, std::slice::from_ref(entry), by, now).await?;
    let row = sqlx::query(
        "INSERT INTO exercise_actions (exercise_id, action, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4) RETURNING id, exercise_id, action, recorded_by, recorded_at",
    )
    .bind(exercise_id)
    .bind(action_json)
    .bind(by)
    .bind(to_db_ts(now)?)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| child_err(e, incident_id, by))?;
    let recorded = exercise_action(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(recorded)
}

fn exercise_action(row: &PgRow) -> Result<ExerciseActionRecord> {
    let c = Cols::new(row, "exercise_actions");
    Ok(ExerciseActionRecord {
        id: c.get("id")?,
        exercise_id: c.get("exercise_id")?,
        action: c.get("action")?,
        recorded_by: c.get("recorded_by")?,
        recorded_at: c.ts("recorded_at")?,
    })
}

pub(crate) async fn list_exercise_actions(
    pool: &PgPool,
    exercise_id: i64,
) -> Result<Vec<ExerciseActionRecord>> {
    let rows = sqlx::query(
        "SELECT id, exercise_id, action, recorded_by, recorded_at FROM exercise_actions \
         WHERE exercise_id = $1 ORDER BY id",
    )
    .bind(exercise_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    collect(rows, exercise_action)
}

pub(crate) async fn end_exercise(
    pool: &PgPool,
    exercise_id: i64,
    outcome: &str,
    now: Timestamp,
) -> Result<ExerciseRecord> {
    // Conditional on the state, so of two racing ends exactly one keeps its outcome.
    let sql = format!(
        "UPDATE exercises AS e SET state = $2, ended_at = $3, outcome = $4, \
             version = e.version + 1 \
         WHERE e.id = $1 AND e.state = $5 RETURNING {EXERCISE_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(exercise_id)
        .bind(ExerciseState::Ended.as_str())
        .bind(to_db_ts(now)?)
        .bind(outcome)
        .bind(ExerciseState::Running.as_str())
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    match row {
        Some(row) => exercise(&row),
        None => match get_exercise(pool, exercise_id).await? {
            Some(_) => Err(already_ended(exercise_id)),
            None => Err(not_found("exercise", exercise_id)),
        },
    }
}

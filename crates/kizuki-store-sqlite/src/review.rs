//! Reviews, lessons, corrective actions and tabletop exercises (migration 0005).
//!
//! Kept apart from `lib.rs` because none of it is on the hot path of a live incident; the
//! trait methods in `lib.rs` forward here.

use jiff::Timestamp;
use jiff::civil::Date;
use kizuki_domain::access::Viewer;
use kizuki_domain::exercise::{ExerciseActionRecord, ExerciseRecord, ExerciseState};
use kizuki_domain::review::{
    ActionQuery, CorrectiveAction, CorrectiveActionState, Lesson, LessonCategory, LessonFields,
    LessonHit, LessonQuery, Review, ReviewNarrative,
};
use kizuki_domain::timeline::TimelineEntryFields;
use kizuki_store::{NewExercise, Result, StoreError};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite, SqlitePool};

use crate::rows::{corrupt, int, json, micros, opt_ts, parse_enum, to_json, ts};
use crate::{db, ensure_incident, insert_entry, missing, not_found, push_visible};

// --- reviews -------------------------------------------------------------------------------

pub(crate) async fn get_review(pool: &SqlitePool, incident_id: i64) -> Result<Review> {
    let row: Option<(String, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT narrative, version, updated_by, updated_at FROM incident_reviews \
         WHERE incident_id = ?",
    )
    .bind(incident_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    match row {
        Some(row) => review(incident_id, row),
        None => {
            let mut conn = pool.acquire().await.map_err(db)?;
            ensure_incident(&mut conn, incident_id).await?;
            Ok(Review {
                incident_id,
                narrative: ReviewNarrative::default(),
                version: 0,
                updated_at: None,
                updated_by: None,
            })
        }
    }
}

fn review(
    incident_id: i64,
    (narrative, version, by, at): (String, i64, Option<i64>, i64),
) -> Result<Review> {
    const T: &str = "incident_reviews";
    Ok(Review {
        incident_id,
        narrative: json(T, "narrative", &narrative)?,
        version,
        updated_at: Some(ts(T, "updated_at", at)?),
        updated_by: by,
    })
}

pub(crate) async fn save_review(
    conn: &mut SqliteConnection,
    incident_id: i64,
    expected_version: i64,
    narrative: &ReviewNarrative,
    by: Option<i64>,
    now: Timestamp,
) -> Result<Review> {
    ensure_incident(conn, incident_id).await?;
    let text = to_json("review", narrative)?;
    // Insert for version 0, update otherwise; both only when the version still matches.
    let written: Option<(String, i64, Option<i64>, i64)> = if expected_version == 0 {
        sqlx::query_as(
            "INSERT INTO incident_reviews (incident_id, narrative, version, updated_by, updated_at) \
             VALUES (?, ?, 1, ?, ?) ON CONFLICT (incident_id) DO NOTHING \
             RETURNING narrative, version, updated_by, updated_at",
        )
        .bind(incident_id)
        .bind(&text)
        .bind(by)
        .bind(micros(now))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
    } else {
        sqlx::query_as(
            "UPDATE incident_reviews SET narrative = ?, version = version + 1, updated_by = ?, \
             updated_at = ? WHERE incident_id = ? AND version = ? \
             RETURNING narrative, version, updated_by, updated_at",
        )
        .bind(&text)
        .bind(by)
        .bind(micros(now))
        .bind(incident_id)
        .bind(expected_version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
    };
    match written {
        Some(row) => review(incident_id, row),
        None => {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM incident_reviews WHERE incident_id = ?")
                    .bind(incident_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db)?;
            Err(StoreError::Stale {
                entity: "review of incident",
                id: incident_id,
                expected: expected_version,
                current: current.unwrap_or(0),
            })
        }
    }
}

// --- lessons -------------------------------------------------------------------------------

const LESSON_COLS: &str = "lessons.id, lessons.incident_id, lessons.text, lessons.categories, lessons.version, \
     lessons.created_by, lessons.created_at, lessons.updated_at";

#[derive(sqlx::FromRow)]
struct LessonRow {
    id: i64,
    incident_id: i64,
    text: String,
    categories: String,
    version: i64,
    created_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl LessonRow {
    fn into_domain(self) -> Result<Lesson> {
        const T: &str = "lessons";
        Ok(Lesson {
            id: self.id,
            incident_id: self.incident_id,
            text: self.text,
            categories: json(T, "categories", &self.categories)?,
            version: self.version,
            created_by: self.created_by,
            created_at: ts(T, "created_at", self.created_at)?,
            updated_at: ts(T, "updated_at", self.updated_at)?,
        })
    }
}

async fn write_categories(
    conn: &mut SqliteConnection,
    lesson_id: i64,
    categories: &[LessonCategory],
) -> Result<()> {
    sqlx::query("DELETE FROM lesson_categories WHERE lesson_id = ?")
        .bind(lesson_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    for c in categories {
        sqlx::query("INSERT OR IGNORE INTO lesson_categories (lesson_id, category) VALUES (?, ?)")
            .bind(lesson_id)
            .bind(c.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

pub(crate) async fn add_lesson(
    conn: &mut SqliteConnection,
    incident_id: i64,
    lesson: &LessonFields,
    by: Option<i64>,
    now: Timestamp,
) -> Result<Lesson> {
    ensure_incident(conn, incident_id).await?;
    let sql = format!(
        "INSERT INTO lessons (incident_id, text, text_search, categories, version, created_by, \
         created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?) RETURNING {LESSON_COLS}"
    );
    let row: LessonRow = sqlx::query_as(AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(lesson.text.trim())
        .bind(lesson.text.trim().to_lowercase())
        .bind(to_json("lesson categories", &lesson.categories)?)
        .bind(by)
        .bind(micros(now))
        .bind(micros(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    write_categories(conn, row.id, &lesson.categories).await?;
    row.into_domain()
}

pub(crate) async fn list_lessons(pool: &SqlitePool, incident_id: i64) -> Result<Vec<Lesson>> {
    let sql = format!("SELECT {LESSON_COLS} FROM lessons WHERE incident_id = ? ORDER BY id");
    let rows: Vec<LessonRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.into_iter().map(LessonRow::into_domain).collect()
}

pub(crate) async fn update_lesson(
    conn: &mut SqliteConnection,
    incident_id: i64,
    lesson_id: i64,
    expected_version: i64,
    lesson: &LessonFields,
    now: Timestamp,
) -> Result<Lesson> {
    let sql = format!(
        "UPDATE lessons SET text = ?, text_search = ?, categories = ?, version = version + 1, \
         updated_at = ? WHERE id = ? AND incident_id = ? AND version = ? RETURNING {LESSON_COLS}"
    );
    let row: Option<LessonRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(lesson.text.trim())
        .bind(lesson.text.trim().to_lowercase())
        .bind(to_json("lesson categories", &lesson.categories)?)
        .bind(micros(now))
        .bind(lesson_id)
        .bind(incident_id)
        .bind(expected_version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    match row {
        Some(row) => {
            write_categories(conn, row.id, &lesson.categories).await?;
            row.into_domain()
        }
        None => {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM lessons WHERE id = ? AND incident_id = ?")
                    .bind(lesson_id)
                    .bind(incident_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db)?;
            match current {
                Some(current) => Err(StoreError::Stale {
                    entity: "lesson",
                    id: lesson_id,
                    expected: expected_version,
                    current,
                }),
                None => Err(missing(conn, incident_id, "lesson", lesson_id).await),
            }
        }
    }
}

pub(crate) async fn search_lessons(
    pool: &SqlitePool,
    query: &LessonQuery,
    viewer: Option<&Viewer>,
) -> Result<Vec<LessonHit>> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {LESSON_COLS}, incidents.title AS incident_title FROM lessons \
         JOIN incidents ON incidents.id = lessons.incident_id WHERE incidents.exercise = 0"
    ));
    if let Some(c) = query.category {
        qb.push(" AND lessons.id IN (SELECT lesson_id FROM lesson_categories WHERE category = ")
            .push_bind(c.as_str())
            .push(")");
    }
    if let Some(text) = &query.text {
        for word in text.split_whitespace() {
            qb.push(" AND instr(lessons.text_search, ")
                .push_bind(word.to_lowercase())
                .push(") > 0");
        }
    }
    push_visible(&mut qb, "incidents", viewer);
    qb.push(" ORDER BY lessons.id DESC LIMIT ")
        .push_bind(i64::from(query.limit.clamp(1, 500)));
    let rows = qb.build().fetch_all(pool).await.map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        use sqlx::{FromRow, Row};
        let title: String = row.try_get("incident_title").map_err(db)?;
        let lesson = LessonRow::from_row(&row).map_err(db)?.into_domain()?;
        out.push(LessonHit {
            lesson,
            incident_title: title,
        });
    }
    Ok(out)
}

// --- corrective actions --------------------------------------------------------------------

const ACTION_COLS: &str = "corrective_actions.id, corrective_actions.lesson_id, \
     corrective_actions.incident_id, corrective_actions.title, corrective_actions.owner, \
     corrective_actions.owner_user_id, corrective_actions.due_date, corrective_actions.status, \
     corrective_actions.notes, corrective_actions.closed_at, corrective_actions.version, \
     corrective_actions.created_at, corrective_actions.updated_at";

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: i64,
    lesson_id: i64,
    incident_id: i64,
    title: String,
    owner: String,
    owner_user_id: Option<i64>,
    due_date: String,
    status: String,
    notes: String,
    closed_at: Option<i64>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl ActionRow {
    fn into_domain(self) -> Result<CorrectiveAction> {
        const T: &str = "corrective_actions";
        Ok(CorrectiveAction {
            id: self.id,
            lesson_id: self.lesson_id,
            incident_id: self.incident_id,
            title: self.title,
            owner: self.owner,
            owner_user_id: self.owner_user_id,
            due_date: self
                .due_date
                .parse::<Date>()
                .map_err(|e| corrupt(T, "due_date", e))?,
            status: parse_enum(T, "status", &self.status)?,
            notes: self.notes,
            closed_at: opt_ts(T, "closed_at", self.closed_at)?,
            version: self.version,
            created_at: ts(T, "created_at", self.created_at)?,
            updated_at: ts(T, "updated_at", self.updated_at)?,
        })
    }
}

pub(crate) async fn add_corrective_action(
    conn: &mut SqliteConnection,
    incident_id: i64,
    lesson_id: i64,
    a: &CorrectiveActionState,
    now: Timestamp,
) -> Result<CorrectiveAction> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM lessons WHERE id = ? AND incident_id = ?")
            .bind(lesson_id)
            .bind(incident_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    if found.is_none() {
        return Err(missing(conn, incident_id, "lesson", lesson_id).await);
    }
    let sql = format!(
        "INSERT INTO corrective_actions (lesson_id, incident_id, title, owner, owner_user_id, \
         due_date, status, notes, closed_at, version, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING {ACTION_COLS}"
    );
    let row: ActionRow = sqlx::query_as(AssertSqlSafe(sql))
        .bind(lesson_id)
        .bind(incident_id)
        .bind(&a.title)
        .bind(&a.owner)
        .bind(a.owner_user_id)
        .bind(a.due_date.to_string())
        .bind(a.status.as_str())
        .bind(&a.notes)
        .bind(a.closed_at.map(micros))
        .bind(micros(now))
        .bind(micros(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    row.into_domain()
}

pub(crate) async fn get_corrective_action(
    pool: &SqlitePool,
    action_id: i64,
) -> Result<Option<CorrectiveAction>> {
    let sql = format!("SELECT {ACTION_COLS} FROM corrective_actions WHERE id = ?");
    let row: Option<ActionRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(action_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(ActionRow::into_domain).transpose()
}

pub(crate) async fn update_corrective_action(
    conn: &mut SqliteConnection,
    action_id: i64,
    expected_version: i64,
    a: &CorrectiveActionState,
    now: Timestamp,
) -> Result<CorrectiveAction> {
    let sql = format!(
        "UPDATE corrective_actions SET title = ?, owner = ?, owner_user_id = ?, due_date = ?, \
         status = ?, notes = ?, closed_at = ?, version = version + 1, updated_at = ? \
         WHERE id = ? AND version = ? RETURNING {ACTION_COLS}"
    );
    let row: Option<ActionRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(&a.title)
        .bind(&a.owner)
        .bind(a.owner_user_id)
        .bind(a.due_date.to_string())
        .bind(a.status.as_str())
        .bind(&a.notes)
        .bind(a.closed_at.map(micros))
        .bind(micros(now))
        .bind(action_id)
        .bind(expected_version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    match row {
        Some(row) => row.into_domain(),
        None => {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM corrective_actions WHERE id = ?")
                    .bind(action_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db)?;
            match current {
                Some(current) => Err(StoreError::Stale {
                    entity: "corrective action",
                    id: action_id,
                    expected: expected_version,
                    current,
                }),
                None => Err(not_found("corrective action", action_id)),
            }
        }
    }
}

pub(crate) async fn list_corrective_actions(
    pool: &SqlitePool,
    query: &ActionQuery,
    viewer: Option<&Viewer>,
) -> Result<Vec<CorrectiveAction>> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {ACTION_COLS} FROM corrective_actions \
         JOIN incidents ON incidents.id = corrective_actions.incident_id WHERE 1 = 1"
    ));
    if query.open_only {
        qb.push(" AND corrective_actions.status IN ('open', 'in_progress')");
    }
    if let Some(owner) = query.owner_user_id {
        qb.push(" AND corrective_actions.owner_user_id = ")
            .push_bind(owner);
    }
    if let Some(due) = query.due_by {
        qb.push(" AND corrective_actions.due_date <= ")
            .push_bind(due.to_string());
    }
    if let Some(incident) = query.incident_id {
        qb.push(" AND corrective_actions.incident_id = ")
            .push_bind(incident);
    }
    if let Some(lesson) = query.lesson_id {
        qb.push(" AND corrective_actions.lesson_id = ")
            .push_bind(lesson);
    }
    push_visible(&mut qb, "incidents", viewer);
    qb.push(" ORDER BY corrective_actions.due_date, corrective_actions.id LIMIT 1000");
    let rows: Vec<ActionRow> = qb.build_query_as().fetch_all(pool).await.map_err(db)?;
    rows.into_iter().map(ActionRow::into_domain).collect()
}

// --- exercises -----------------------------------------------------------------------------

const EXERCISE_COLS: &str = "id, incident_id, source, title, speed, started_at, \
     skipped_minutes, released, state, ended_at, script, outcome, created_by, version";

#[derive(sqlx::FromRow)]
struct ExerciseRow {
    id: i64,
    incident_id: i64,
    source: String,
    title: String,
    speed: i64,
    started_at: i64,
    skipped_minutes: i64,
    released: i64,
    state: String,
    ended_at: Option<i64>,
    script: String,
    outcome: Option<String>,
    created_by: Option<i64>,
    version: i64,
}

impl ExerciseRow {
    fn into_domain(self) -> Result<ExerciseRecord> {
        const T: &str = "exercises";
        Ok(ExerciseRecord {
            id: self.id,
            incident_id: self.incident_id,
            source: json(T, "source", &self.source)?,
            title: self.title,
            speed: int(T, "speed", self.speed)?,
            started_at: ts(T, "started_at", self.started_at)?,
            skipped_minutes: self.skipped_minutes,
            released: int(T, "released", self.released)?,
            state: parse_enum(T, "state", &self.state)?,
            ended_at: opt_ts(T, "ended_at", self.ended_at)?,
            script: self.script,
            outcome: self.outcome,
            created_by: self.created_by,
            version: self.version,
        })
    }
}

pub(crate) async fn insert_exercise(
    conn: &mut SqliteConnection,
    incident_id: i64,
    e: &NewExercise,
    created_by: Option<i64>,
) -> Result<ExerciseRecord> {
    sqlx::query("UPDATE incidents SET exercise = 1 WHERE id = ?")
        .bind(incident_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let sql = format!(
        "INSERT INTO exercises (incident_id, source, title, speed, started_at, skipped_minutes, \
         released, state, script, created_by, version) \
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 1) RETURNING {EXERCISE_COLS}"
    );
    let row: ExerciseRow = sqlx::query_as(AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(to_json("exercise source", &e.source)?)
        .bind(&e.title)
        .bind(i64::from(e.speed))
        .bind(micros(e.started_at))
        .bind(e.skipped_minutes)
        .bind(ExerciseState::Running.as_str())
        .bind(&e.script)
        .bind(created_by)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    row.into_domain()
}

pub(crate) async fn get_exercise(
    conn: impl sqlx::SqliteExecutor<'_>,
    exercise_id: i64,
) -> Result<Option<ExerciseRecord>> {
    let sql = format!("SELECT {EXERCISE_COLS} FROM exercises WHERE id = ?");
    let row: Option<ExerciseRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(exercise_id)
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    row.map(ExerciseRow::into_domain).transpose()
}

pub(crate) async fn list_exercises(
    pool: &SqlitePool,
    viewer: Option<&Viewer>,
) -> Result<Vec<ExerciseRecord>> {
    let cols = EXERCISE_COLS
        .split(", ")
        .map(|c| format!("exercises.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut qb = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {cols} FROM exercises JOIN incidents ON incidents.id = exercises.incident_id \
         WHERE 1 = 1"
    ));
    push_visible(&mut qb, "incidents", viewer);
    qb.push(" ORDER BY exercises.id DESC LIMIT 500");
    let rows: Vec<ExerciseRow> = qb.build_query_as().fetch_all(pool).await.map_err(db)?;
    rows.into_iter().map(ExerciseRow::into_domain).collect()
}

pub(crate) async fn release_injects(
    conn: &mut SqliteConnection,
    exercise_id: i64,
    released: u32,
    entries: &[TimelineEntryFields],
    now: Timestamp,
) -> Result<Option<ExerciseRecord>> {
    let Some(current) = get_exercise(&mut *conn, exercise_id).await? else {
        return Err(not_found("exercise", exercise_id));
    };
    let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
    let moved = sqlx::query(
        "UPDATE exercises SET released = released + ? \
         WHERE id = ? AND released = ? AND state = 'running'",
    )
    .bind(i64::from(count))
    .bind(exercise_id)
    .bind(i64::from(released))
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if moved == 0 {
        return Ok(None);
    }
    for e in entries {
        insert_entry(conn, current.incident_id, e, None, now).await?;
    }
    get_exercise(&mut *conn, exercise_id).await
}

pub(crate) async fn set_exercise_skip(
    conn: &mut SqliteConnection,
    exercise_id: i64,
    expected_version: i64,
    skipped_minutes: i64,
) -> Result<ExerciseRecord> {
    let moved = sqlx::query(
        "UPDATE exercises SET skipped_minutes = ?, version = version + 1 \
         WHERE id = ? AND version = ?",
    )
    .bind(skipped_minutes)
    .bind(exercise_id)
    .bind(expected_version)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    let Some(current) = get_exercise(&mut *conn, exercise_id).await? else {
        return Err(not_found("exercise", exercise_id));
    };
    if moved == 0 {
        return Err(StoreError::Stale {
            entity: "exercise",
            id: exercise_id,
            expected: expected_version,
            current: current.version,
        });
    }
    Ok(current)
}

pub(crate) async fn add_exercise_action(
    conn: &mut SqliteConnection,
    exercise_id: i64,
    action: &str,
    entry: &TimelineEntryFields,
    by: Option<i64>,
    now: Timestamp,
) -> Result<ExerciseActionRecord> {
    let Some(current) = get_exercise(&mut *conn, exercise_id).await? else {
        return Err(not_found("exercise", exercise_id));
    };
    if current.state != ExerciseState::Running {
        return Err(StoreError::Duplicate {
            what: format!("the end of exercise {exercise_id}"),
        });
    }
    insert_entry(conn, current.incident_id, entry, by, now).await?;
    let (id, at): (i64, i64) = sqlx::query_as(
        "INSERT INTO exercise_actions (exercise_id, action, recorded_by, recorded_at) \
         VALUES (?, ?, ?, ?) RETURNING id, recorded_at",
    )
    .bind(exercise_id)
    .bind(action)
    .bind(by)
    .bind(micros(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    Ok(ExerciseActionRecord {
        id,
        exercise_id,
        action: action.to_owned(),
        recorded_by: by,
        recorded_at: ts("exercise_actions", "recorded_at", at)?,
    })
}

pub(crate) async fn list_exercise_actions(
    pool: &SqlitePool,
    exercise_id: i64,
) -> Result<Vec<ExerciseActionRecord>> {
    let rows: Vec<(i64, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT id, action, recorded_by, recorded_at FROM exercise_actions \
         WHERE exercise_id = ? ORDER BY id",
    )
    .bind(exercise_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.into_iter()
        .map(|(id, action, by, at)| {
            Ok(ExerciseActionRecord {
                id,
                exercise_id,
                action,
                recorded_by: by,
                recorded_at: ts("exercise_actions", "recorded_at", at)?,
            })
        })
        .collect()
}

pub(crate) async fn end_exercise(
    conn: &mut SqliteConnection,
    exercise_id: i64,
    outcome: &str,
    now: Timestamp,
) -> Result<ExerciseRecord> {
    let moved = sqlx::query(
        "UPDATE exercises SET state = 'ended', ended_at = ?, outcome = ?, version = version + 1 \
         WHERE id = ? AND state = 'running'",
    )
    .bind(micros(now))
    .bind(outcome)
    .bind(exercise_id)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    let Some(current) = get_exercise(&mut *conn, exercise_id).await? else {
        return Err(not_found("exercise", exercise_id));
    };
    if moved == 0 {
        return Err(StoreError::Duplicate {
            what: format!("the end of exercise {exercise_id}"),
        });
    }
    Ok(current)
}

-- Review and learning: the after-action review's narrative, lessons, corrective actions,
-- and tabletop exercises (which run on incidents of their own, marked `exercise`).

ALTER TABLE incidents ADD COLUMN exercise INTEGER NOT NULL DEFAULT 0 CHECK (exercise IN (0, 1));

-- Exercises are few; this keeps "only exercises" from scanning every incident.
CREATE INDEX incidents_exercise ON incidents (id) WHERE exercise = 1;

CREATE TABLE incident_reviews (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    narrative   TEXT    NOT NULL, -- JSON object (ReviewNarrative)
    version     INTEGER NOT NULL,
    updated_by  INTEGER,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE lessons (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    text        TEXT    NOT NULL,
    -- Lower-cased (Unicode) copy for case-insensitive search across incidents.
    text_search TEXT    NOT NULL,
    categories  TEXT    NOT NULL, -- JSON array of lesson categories
    version     INTEGER NOT NULL,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX lessons_incident ON lessons (incident_id, id);

-- One row per (lesson, category), so "lessons about supply chain" is an index lookup.
CREATE TABLE lesson_categories (
    lesson_id INTEGER NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    category  TEXT    NOT NULL,
    PRIMARY KEY (category, lesson_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE corrective_actions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id     INTEGER NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    incident_id   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    owner_user_id INTEGER,
    due_date      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    notes         TEXT    NOT NULL,
    closed_at     INTEGER,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX corrective_actions_lesson ON corrective_actions (lesson_id, id);
-- Reminders walk the open actions by due date.
CREATE INDEX corrective_actions_open_due ON corrective_actions (due_date, id)
    WHERE status IN ('open', 'in_progress');

CREATE TABLE exercises (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     INTEGER NOT NULL UNIQUE REFERENCES incidents (id) ON DELETE CASCADE,
    source          TEXT    NOT NULL, -- JSON object (ExerciseSource)
    title           TEXT    NOT NULL,
    speed           INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    skipped_minutes INTEGER NOT NULL,
    released        INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    ended_at        INTEGER,
    script          TEXT    NOT NULL, -- the exercise engine's JSON
    outcome         TEXT,             -- the comparison, once ended
    created_by      INTEGER,
    version         INTEGER NOT NULL
) STRICT;

CREATE TABLE exercise_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise_id INTEGER NOT NULL REFERENCES exercises (id) ON DELETE CASCADE,
    action      TEXT    NOT NULL, -- the exercise engine's JSON
    recorded_by INTEGER,
    recorded_at INTEGER NOT NULL
) STRICT;

CREATE INDEX exercise_actions_exercise ON exercise_actions (exercise_id, id);

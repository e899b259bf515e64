-- Kizuki PostgreSQL schema, version 4: the after-action review, lessons learned, corrective
-- actions and tabletop exercises. Same conventions as 0001 (named constraints, TIMESTAMPTZ,
-- DATE, JSONB documents, CHECKs listing the domain's vocabularies).

-- --- exercises run on incidents of their own ------------------------------------------------
-- Existing rows are real incidents. Every list and count leaves exercises out unless asked,
-- and there are few of them: a partial index answers "only exercises" without a scan.
ALTER TABLE incidents ADD COLUMN exercise BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX incidents_exercise_idx ON incidents (id) WHERE exercise;

-- --- the review: one narrative per incident ---------------------------------------------------
-- No row means nothing was saved yet (the store reports version 0).
CREATE TABLE incident_reviews (
    incident_id BIGINT      NOT NULL,
    narrative   JSONB       NOT NULL,
    version     BIGINT      NOT NULL,
    updated_by  BIGINT,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT incident_reviews_pkey PRIMARY KEY (incident_id),
    CONSTRAINT incident_reviews_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT incident_reviews_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT incident_reviews_narrative_check CHECK (jsonb_typeof(narrative) = 'object'),
    CONSTRAINT incident_reviews_version_check CHECK (version >= 1)
);

-- --- lessons learned --------------------------------------------------------------------------
-- `text_search` is the text lower-cased by the store (Unicode rules, in Rust), so a search is
-- case-insensitive whatever the database's locale; `lower()` under LC_CTYPE=C would only fold
-- ASCII. `categories` keeps the writer's order; the GIN index answers "lessons filed under X"
-- (`categories @> '["x"]'`), and the CHECK keeps every element inside the appendix's list.
CREATE TABLE lessons (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id BIGINT      NOT NULL,
    text        TEXT        NOT NULL,
    text_search TEXT        NOT NULL,
    categories  JSONB       NOT NULL,
    version     BIGINT      NOT NULL,
    created_by  BIGINT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT lessons_pkey PRIMARY KEY (id),
    CONSTRAINT lessons_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT lessons_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT lessons_version_check CHECK (version >= 1),
    CONSTRAINT lessons_categories_array_check CHECK (jsonb_typeof(categories) = 'array'),
    CONSTRAINT lessons_categories_check CHECK (categories <@ '["ceo", "management",
        "goal_setting", "business_recovery", "staffing_training", "employee_education",
        "customers", "supply_chain", "culture", "organisation", "information_asset_management",
        "incident_procedures", "damage_mitigation", "detection_environment",
        "information_sharing", "factories_production"]')
);
CREATE INDEX lessons_incident_idx ON lessons (incident_id, id);
CREATE INDEX lessons_categories_idx ON lessons USING gin (categories jsonb_path_ops);

-- --- corrective actions -----------------------------------------------------------------------
-- `incident_id` repeats the lesson's incident so that need-to-know joins one table, not two.
CREATE TABLE corrective_actions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY,
    lesson_id     BIGINT      NOT NULL,
    incident_id   BIGINT      NOT NULL,
    title         TEXT        NOT NULL,
    owner         TEXT        NOT NULL,
    owner_user_id BIGINT,
    due_date      DATE        NOT NULL,
    status        TEXT        NOT NULL,
    notes         TEXT        NOT NULL DEFAULT '',
    closed_at     TIMESTAMPTZ,
    version       BIGINT      NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT corrective_actions_pkey PRIMARY KEY (id),
    CONSTRAINT corrective_actions_lesson_id_fkey FOREIGN KEY (lesson_id) REFERENCES lessons (id) ON DELETE CASCADE,
    CONSTRAINT corrective_actions_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT corrective_actions_owner_user_id_fkey FOREIGN KEY (owner_user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT corrective_actions_version_check CHECK (version >= 1),
    CONSTRAINT corrective_actions_status_check CHECK (status IN ('open', 'in_progress', 'done',
        'cancelled'))
);
CREATE INDEX corrective_actions_lesson_idx ON corrective_actions (lesson_id, id);
CREATE INDEX corrective_actions_incident_idx ON corrective_actions (incident_id, id);
CREATE INDEX corrective_actions_owner_idx ON corrective_actions (owner_user_id, due_date, id)
    WHERE owner_user_id IS NOT NULL;
-- Reminders walk the open actions by due date.
CREATE INDEX corrective_actions_open_due_idx ON corrective_actions (due_date, id)
    WHERE status IN ('open', 'in_progress');

-- --- tabletop exercises -----------------------------------------------------------------------
-- `script`, `outcome` and each action are the exercise engine's JSON, kept as TEXT: the store
-- never reads them, and the report built from a finished exercise must get back the exact
-- bytes it was given (JSONB would reorder keys and drop duplicates).
-- `released` is a high-water mark: it only moves by a conditional UPDATE naming its old value.
CREATE TABLE exercises (
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id     BIGINT      NOT NULL,
    source          JSONB       NOT NULL,
    title           TEXT        NOT NULL,
    speed           BIGINT      NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    skipped_minutes BIGINT      NOT NULL,
    released        BIGINT      NOT NULL DEFAULT 0,
    state           TEXT        NOT NULL,
    ended_at        TIMESTAMPTZ,
    script          TEXT        NOT NULL,
    outcome         TEXT,
    created_by      BIGINT,
    version         BIGINT      NOT NULL,
    CONSTRAINT exercises_pkey PRIMARY KEY (id),
    CONSTRAINT exercises_incident_id_key UNIQUE (incident_id),
    CONSTRAINT exercises_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT exercises_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT exercises_source_check CHECK (jsonb_typeof(source) = 'object'),
    CONSTRAINT exercises_speed_check CHECK (speed BETWEEN 0 AND 4294967295),
    CONSTRAINT exercises_released_check CHECK (released BETWEEN 0 AND 4294967295),
    CONSTRAINT exercises_version_check CHECK (version >= 1),
    CONSTRAINT exercises_state_check CHECK (state IN ('running', 'ended'))
);

CREATE TABLE exercise_actions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    exercise_id BIGINT      NOT NULL,
    action      TEXT        NOT NULL,
    recorded_by BIGINT,
    recorded_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT exercise_actions_pkey PRIMARY KEY (id),
    CONSTRAINT exercise_actions_exercise_id_fkey FOREIGN KEY (exercise_id) REFERENCES exercises (id) ON DELETE CASCADE,
    CONSTRAINT exercise_actions_recorded_by_fkey FOREIGN KEY (recorded_by) REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX exercise_actions_exercise_idx ON exercise_actions (exercise_id, id);

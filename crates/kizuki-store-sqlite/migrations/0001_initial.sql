-- Kizuki SQLite schema, version 1.
--
-- Conventions:
--   * ids are INTEGER PRIMARY KEY AUTOINCREMENT (never reused, so ids seen in audit trails,
--     links and keyset pagination keep meaning the same row);
--   * instants are INTEGER microseconds since the Unix epoch (UTC);
--   * calendar dates are TEXT 'YYYY-MM-DD';
--   * closed vocabularies are stored as their snake_case text and checked when read back;
--   * lists and small structs are JSON TEXT;
--   * every child of an incident is deleted with it (ON DELETE CASCADE);
--   * references to users (created_by, completed_by) are plain integers without a foreign
--     key: the audit trail must survive even if an account is ever removed.

CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    email        TEXT    NOT NULL UNIQUE,
    display_name TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    title            TEXT    NOT NULL,
    summary          TEXT    NOT NULL,
    -- Lower-cased (Unicode) copies of title and summary for case-insensitive search;
    -- SQLite's own lower() and LIKE only fold ASCII.
    title_search     TEXT    NOT NULL,
    summary_search   TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    severity         INTEGER NOT NULL,
    phase            TEXT    NOT NULL,
    detection_source TEXT    NOT NULL,
    start_date       TEXT    NOT NULL,
    start_basis      TEXT    NOT NULL,
    aware_at         INTEGER NOT NULL,
    affected_units   TEXT    NOT NULL, -- JSON array of strings
    affected_assets  TEXT    NOT NULL, -- JSON array of strings
    impact           TEXT    NOT NULL, -- JSON object (Impact)
    restricted       INTEGER NOT NULL CHECK (restricted IN (0, 1)),
    version          INTEGER NOT NULL,
    created_by       INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

-- List filters, each ending in id so "newest first" can walk the index.
CREATE INDEX incidents_phase    ON incidents (phase, id);
CREATE INDEX incidents_category ON incidents (category, id);
CREATE INDEX incidents_severity ON incidents (severity, id);
-- open_only: walks the open incidents newest first without touching closed ones.
CREATE INDEX incidents_open     ON incidents (id) WHERE phase <> 'closed';

CREATE TABLE timeline_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    occurred_at INTEGER NOT NULL,
    precision   TEXT    NOT NULL,
    day_part    TEXT,
    lane        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX timeline_entries_incident_time ON timeline_entries (incident_id, occurred_at, id);

CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    playbook     TEXT,
    phase        TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    lane         TEXT    NOT NULL,
    checklist    TEXT    NOT NULL, -- JSON array of {text, done}
    due_at       INTEGER,
    rationale    TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    completed_by INTEGER,
    completed_at INTEGER,
    position     INTEGER NOT NULL
) STRICT;

CREATE INDEX tasks_incident ON tasks (incident_id, position, id);

CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    question    TEXT    NOT NULL,
    options     TEXT    NOT NULL, -- JSON array of {label, scenario}
    chosen      INTEGER,
    decided_by  TEXT    NOT NULL,
    decided_at  INTEGER,
    rationale   TEXT    NOT NULL,
    decide_by   INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX decisions_incident ON decisions (incident_id, id);

CREATE TABLE parties (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id      INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    organisation     TEXT    NOT NULL,
    role             TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    phone            TEXT    NOT NULL,
    fallback_channel TEXT    NOT NULL,
    notes            TEXT    NOT NULL
) STRICT;

CREATE INDEX parties_incident ON parties (incident_id, id);

CREATE TABLE evidence_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    sha256      TEXT,
    location    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX evidence_items_incident ON evidence_items (incident_id, id);

CREATE TABLE custody_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    evidence_id INTEGER NOT NULL REFERENCES evidence_items (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    handler     TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    note        TEXT    NOT NULL
) STRICT;

CREATE INDEX custody_events_evidence ON custody_events (evidence_id, at, id);

CREATE TABLE observables (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    normalized  TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    first_seen  INTEGER NOT NULL,
    UNIQUE (incident_id, kind, normalized)
) STRICT;

-- Correlation: which incidents hold this indicator.
CREATE INDEX observables_value ON observables (kind, normalized, incident_id);

CREATE TABLE legal_clocks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    due_hours     INTEGER NOT NULL,
    overdue_hours INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    met_at        INTEGER
) STRICT;

CREATE INDEX legal_clocks_incident ON legal_clocks (incident_id, id);

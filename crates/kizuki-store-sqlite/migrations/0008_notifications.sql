-- Notifications, escalation and reminders (issue #5): the durable job queue, the
-- notifications and phone-tree calls they produce, and the configuration behind them.
--
-- Every pending send, retry, escalation and reminder is a row of `jobs`, so it survives a
-- crash. A worker claims rows by one UPDATE on the single writer, and writes a job's effects
-- in the transaction that marks it done (see kizuki_store::notify).
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL CHECK (kind IN ('plan_incident_notifications',
                    'send_notification', 'escalate', 'clock_reminder')),
    payload     TEXT    NOT NULL CHECK (json_valid(payload)),
    incident_id INTEGER REFERENCES incidents (id) ON DELETE CASCADE,
    run_at      INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_owner TEXT,
    lease_until INTEGER,
    last_error  TEXT,
    dedupe_key  TEXT    UNIQUE,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL))
) STRICT;

-- What a claim scans: only live jobs, in the order they are due.
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_incident ON jobs (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    rule_ids        TEXT    NOT NULL CHECK (json_valid(rule_ids)),
    escalation_step INTEGER CHECK (escalation_step >= 0),
    user_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    party_id        INTEGER REFERENCES parties (id) ON DELETE SET NULL,
    address         TEXT    NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'webhook', 'phone_tree')),
    -- The target's id as it was; a deleted target does not rewrite history.
    webhook_id      INTEGER,
    language        TEXT    NOT NULL CHECK (language IN ('ja', 'en')),
    template        TEXT    NOT NULL CHECK (template IN ('new_incident', 'escalation',
                        'clock_due_soon', 'clock_overdue', 'action_reminder')),
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed',
                        'acknowledged')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    acknowledged_at INTEGER,
    acknowledged_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    ack_via         TEXT    CHECK (ack_via IN ('link', 'ui')),
    -- Moves with every phone-tree call recorded, so two callers cannot both tick a line.
    calls_version   INTEGER NOT NULL DEFAULT 0,
    CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL)),
    CHECK ((state = 'acknowledged') = (acknowledged_at IS NOT NULL))
) STRICT;

CREATE INDEX notifications_incident ON notifications (incident_id, id);

CREATE TABLE phone_calls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('reached', 'voicemail', 'no_answer',
                        'wrong_number')),
    note            TEXT    NOT NULL,
    called_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    called_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX phone_calls_notification ON phone_calls (notification_id, id);

CREATE TABLE notification_rules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    min_severity INTEGER NOT NULL CHECK (min_severity BETWEEN 0 AND 255),
    categories   TEXT    NOT NULL CHECK (json_valid(categories)),
    on_reports   INTEGER NOT NULL CHECK (on_reports IN (0, 1)),
    recipients   TEXT    NOT NULL CHECK (json_valid(recipients)),
    channels     TEXT    NOT NULL CHECK (json_valid(channels)),
    template_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    updated_at   INTEGER NOT NULL
) STRICT;

-- One organisation-wide chain (kizuki-notify counts its steps from an incident's first
-- notification, whichever rule sent it).
CREATE TABLE escalation_chain (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    chain      TEXT    NOT NULL CHECK (json_valid(chain)),
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Only changed templates are stored; a missing row means the built-in text.
CREATE TABLE message_templates (
    kind       TEXT    NOT NULL CHECK (kind IN ('new_incident', 'escalation', 'clock_due_soon',
                   'clock_overdue', 'action_reminder')),
    language   TEXT    NOT NULL CHECK (language IN ('ja', 'en')),
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, language)
) STRICT;

CREATE TABLE oncall_rotations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    spec       TEXT    NOT NULL CHECK (json_valid(spec)),
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_targets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('slack', 'teams', 'mattermost',
                   'signed_json')),
    url        TEXT    NOT NULL,
    secret     TEXT,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_at INTEGER NOT NULL
) STRICT;

-- Security: credentials, second factor, sessions, scoped tokens, enrolment links,
-- need-to-know membership and the chained audit log.
--
-- Secrets are never stored: passwords as Argon2id PHC strings, session and token secrets,
-- enrolment links and recovery codes as hashes. The TOTP secret is the one exception (the
-- server needs it to check codes).

-- --- users ------------------------------------------------------------------------------

ALTER TABLE users ADD COLUMN password_hash TEXT;
-- Base32 secret once enrolment is confirmed; `mfa_enabled` is `totp_secret IS NOT NULL`.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
-- The last TOTP time step accepted (a code for it or an earlier one is a replay).
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));

-- --- API tokens ----------------------------------------------------------------------------

-- JSON TokenScope. Tokens made before scopes existed keep doing everything their user can.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL
    DEFAULT '{"access":"write","resources":["all"]}';

-- --- sessions ------------------------------------------------------------------------------

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash  TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stage        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL, -- the absolute end
    revoked_at   INTEGER,
    address      TEXT,
    user_agent   TEXT    NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id, id);

-- --- second factor ---------------------------------------------------------------------------

CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    UNIQUE (user_id, code_hash)
) STRICT;

-- --- login defences ---------------------------------------------------------------------------

-- Keyed by the normalised e-mail address, known or not.
CREATE TABLE login_failures (
    key             TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- --- enrolment links ----------------------------------------------------------------------------

CREATE TABLE enrolments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash TEXT    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT;

CREATE INDEX enrolments_user ON enrolments (user_id);

-- --- need-to-know ----------------------------------------------------------------------------

CREATE TABLE incident_members (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (incident_id, user_id)
) STRICT, WITHOUT ROWID;

-- "Which incidents is this viewer a member of" (external responders' lists).
CREATE INDEX incident_members_user ON incident_members (user_id, incident_id);
-- "Which incidents did this viewer report" (reporters' lists), newest first.
CREATE INDEX incidents_created_by ON incidents (created_by, id);
-- Deliberately no index on `restricted`: with one, SQLite answers the organisation-wide
-- filter `restricted = 0 OR created_by = ? OR id IN (...)` as a multi-index OR followed by
-- a sort of every visible incident, instead of walking incidents newest first and stopping
-- after one page.

-- --- audit log ------------------------------------------------------------------------------

-- `seq` is assigned by the appender as the head's seq + 1 (not by AUTOINCREMENT), inside the
-- write transaction that also moves the head: a clash is an error, never a silent gap.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 1),
    at        INTEGER NOT NULL,
    actor_id  INTEGER,
    actor     TEXT    NOT NULL,
    address   TEXT,
    action    TEXT    NOT NULL,
    object    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
) STRICT;

-- The sealed head: at most one row.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL,
    seal TEXT    NOT NULL
) STRICT;

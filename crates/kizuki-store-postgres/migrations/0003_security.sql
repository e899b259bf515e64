-- Kizuki PostgreSQL schema, version 3: logins, sessions, scoped tokens, need-to-know and the
-- audit log. Same conventions as 0001 (named constraints, TIMESTAMPTZ, JSONB documents).

-- --- users: what a login checks ---------------------------------------------------------------
-- `mfa_enabled` is not stored: it is `totp_secret IS NOT NULL`, so the two cannot disagree.
ALTER TABLE users
    ADD COLUMN password_hash       TEXT,
    ADD COLUMN totp_secret         TEXT,
    ADD COLUMN totp_pending_secret TEXT,
    ADD COLUMN totp_last_step      BIGINT,
    ADD COLUMN active              BOOLEAN NOT NULL DEFAULT TRUE;

-- --- API tokens: a scope each (tokens made before this migration keep full access) ------------
ALTER TABLE api_tokens
    ADD COLUMN scope JSONB NOT NULL DEFAULT '{"access":"write","resources":["all"]}',
    ADD CONSTRAINT api_tokens_scope_check CHECK (jsonb_typeof(scope) = 'object'
        AND jsonb_typeof(scope -> 'resources') = 'array'),
    ADD CONSTRAINT api_tokens_scope_access_check CHECK (scope ->> 'access' IN ('read', 'write'));

-- --- browser sessions (the cookie's secret is kept only as a hash) ---------------------------
CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id      BIGINT      NOT NULL,
    secret_hash  TEXT        NOT NULL,
    stage        TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    address      TEXT,
    user_agent   TEXT        NOT NULL DEFAULT '',
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT sessions_stage_check CHECK (stage IN ('enrol_mfa', 'full'))
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id, id);

-- --- TOTP recovery codes (hashes; a used code keeps its row with `used_at`) ------------------
CREATE TABLE recovery_codes (
    user_id   BIGINT      NOT NULL,
    code_hash TEXT        NOT NULL,
    used_at   TIMESTAMPTZ,
    CONSTRAINT recovery_codes_pkey PRIMARY KEY (user_id, code_hash),
    CONSTRAINT recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- --- failed logins per normalised e-mail address (known or not) ------------------------------
CREATE TABLE login_failures (
    key             TEXT        NOT NULL,
    failures        BIGINT      NOT NULL,
    last_failure_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT login_failures_pkey PRIMARY KEY (key),
    CONSTRAINT login_failures_failures_check CHECK (failures >= 1)
);

-- --- one-time enrolment links ------------------------------------------------------------------
CREATE TABLE enrolments (
    secret_hash TEXT        NOT NULL,
    user_id     BIGINT      NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    CONSTRAINT enrolments_pkey PRIMARY KEY (secret_hash),
    CONSTRAINT enrolments_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX enrolments_user_id_idx ON enrolments (user_id);

-- --- need-to-know: an incident's members ---------------------------------------------------
-- The primary key answers "is this person a member of this incident"; the second index
-- answers "which incidents is this person a member of" (the visibility filter of every list)
-- from the index alone.
CREATE TABLE incident_members (
    incident_id BIGINT      NOT NULL,
    user_id     BIGINT      NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT incident_members_pkey PRIMARY KEY (incident_id, user_id),
    CONSTRAINT incident_members_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT incident_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX incident_members_user_id_idx ON incident_members (user_id, incident_id);

-- --- the audit log: a hash chain ---------------------------------------------------------------
-- `seq` is not an identity: the appender takes the next number from `audit_head` while holding
-- that row's lock, so numbers have no gaps and two replicas can never both follow one record.
-- There is deliberately no foreign key on `actor_id`: deleting a user must not rewrite (and so
-- break) sealed records. `detail` is TEXT, not JSONB, because the hash covers its exact bytes.
CREATE TABLE audit_log (
    seq       BIGINT      NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    actor_id  BIGINT,
    actor     TEXT        NOT NULL,
    address   TEXT,
    action    TEXT        NOT NULL,
    object    TEXT        NOT NULL,
    outcome   TEXT        NOT NULL,
    detail    TEXT        NOT NULL,
    prev_hash TEXT        NOT NULL,
    hash      TEXT        NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (seq),
    CONSTRAINT audit_log_seq_check CHECK (seq >= 1)
);

-- The sealed head: exactly one row, seeded here so that appenders only ever lock it
-- (`SELECT … FOR UPDATE`) and never race to create it. `seq = 0` means "nothing appended yet"
-- (the store then reports no head); its hash is the genesis hash the first record follows.
CREATE TABLE audit_head (
    id   BOOLEAN NOT NULL DEFAULT TRUE,
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL,
    seal TEXT    NOT NULL,
    CONSTRAINT audit_head_pkey PRIMARY KEY (id),
    CONSTRAINT audit_head_single_row_check CHECK (id),
    CONSTRAINT audit_head_seq_check CHECK (seq >= 0)
);
INSERT INTO audit_head (id, seq, hash, seal)
VALUES (TRUE, 0, '0000000000000000000000000000000000000000000000000000000000000000', '');

-- Kizuki PostgreSQL schema: notifications, escalation and reminders (issue #5).
--
-- Every pending send, retry, escalation and reminder is a row of `jobs`, so it survives a
-- crash and is shared by every replica. Workers claim due rows with
-- `FOR UPDATE SKIP LOCKED` and write a job's effects in the transaction that checks their
-- lease and marks the job done (see kizuki_store::notify), so effects land exactly once.
CREATE TABLE jobs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    kind        TEXT        NOT NULL,
    payload     JSONB       NOT NULL,
    incident_id BIGINT,
    run_at      TIMESTAMPTZ NOT NULL,
    state       TEXT        NOT NULL,
    attempts    BIGINT      NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    last_error  TEXT,
    dedupe_key  TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_dedupe_key_key UNIQUE (dedupe_key),
    CONSTRAINT jobs_incident_id_fkey FOREIGN KEY (incident_id)
        REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT jobs_kind_check CHECK (kind IN ('plan_incident_notifications',
        'send_notification', 'escalate', 'clock_reminder')),
    CONSTRAINT jobs_state_check CHECK (state IN ('queued', 'running', 'done', 'dead')),
    CONSTRAINT jobs_attempts_check CHECK (attempts BETWEEN 0 AND 4294967295),
    CONSTRAINT jobs_lease_check CHECK (state <> 'running'
        OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL))
);

-- What a claim scans: only live jobs, in the order they are due.
CREATE INDEX jobs_due_idx ON jobs (run_at, id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_incident_id_idx ON jobs (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE notifications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id     BIGINT      NOT NULL,
    rule_ids        JSONB       NOT NULL,
    escalation_step BIGINT,
    user_id         BIGINT,
    party_id        BIGINT,
    address         TEXT        NOT NULL,
    channel         TEXT        NOT NULL,
    -- The target's id as it was; a deleted target does not rewrite history.
    webhook_id      BIGINT,
    language        TEXT        NOT NULL,
    template        TEXT        NOT NULL,
    state           TEXT        NOT NULL,
    attempts        BIGINT      NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by BIGINT,
    ack_via         TEXT,
    -- Moves with every phone-tree call recorded, so two callers cannot both tick a line.
    calls_version   BIGINT      NOT NULL DEFAULT 0,
    CONSTRAINT notifications_pkey PRIMARY KEY (id),
    CONSTRAINT notifications_incident_id_fkey FOREIGN KEY (incident_id)
        REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT notifications_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT notifications_party_id_fkey FOREIGN KEY (party_id)
        REFERENCES parties (id) ON DELETE SET NULL,
    CONSTRAINT notifications_acknowledged_by_fkey FOREIGN KEY (acknowledged_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT notifications_rule_ids_check CHECK (jsonb_typeof(rule_ids) = 'array'),
    CONSTRAINT notifications_escalation_step_check CHECK (escalation_step BETWEEN 0 AND 4294967295),
    CONSTRAINT notifications_channel_check CHECK (channel IN ('email', 'webhook', 'phone_tree')),
    CONSTRAINT notifications_webhook_check CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL)),
    CONSTRAINT notifications_language_check CHECK (language IN ('ja', 'en')),
    CONSTRAINT notifications_template_check CHECK (template IN ('new_incident', 'escalation',
        'clock_due_soon', 'clock_overdue', 'action_reminder')),
    CONSTRAINT notifications_state_check CHECK (state IN ('pending', 'sent', 'failed',
        'acknowledged')),
    CONSTRAINT notifications_acknowledged_check CHECK ((state = 'acknowledged')
        = (acknowledged_at IS NOT NULL)),
    CONSTRAINT notifications_ack_via_check CHECK (ack_via IN ('link', 'ui')),
    CONSTRAINT notifications_attempts_check CHECK (attempts BETWEEN 0 AND 4294967295)
);

CREATE INDEX notifications_incident_id_idx ON notifications (incident_id, id);

CREATE TABLE phone_calls (
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    notification_id BIGINT      NOT NULL,
    outcome         TEXT        NOT NULL,
    note            TEXT        NOT NULL,
    called_by       BIGINT,
    called_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT phone_calls_pkey PRIMARY KEY (id),
    CONSTRAINT phone_calls_notification_id_fkey FOREIGN KEY (notification_id)
        REFERENCES notifications (id) ON DELETE CASCADE,
    CONSTRAINT phone_calls_called_by_fkey FOREIGN KEY (called_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT phone_calls_outcome_check CHECK (outcome IN ('reached', 'voicemail',
        'no_answer', 'wrong_number'))
);

CREATE INDEX phone_calls_notification_id_idx ON phone_calls (notification_id, id);

CREATE TABLE notification_rules (
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    name         TEXT        NOT NULL,
    enabled      BOOLEAN     NOT NULL,
    min_severity BIGINT      NOT NULL,
    categories   JSONB       NOT NULL,
    on_reports   BOOLEAN     NOT NULL,
    recipients   JSONB       NOT NULL,
    channels     JSONB       NOT NULL,
    template_id  TEXT        NOT NULL,
    version      BIGINT      NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT notification_rules_pkey PRIMARY KEY (id),
    CONSTRAINT notification_rules_min_severity_check CHECK (min_severity BETWEEN 0 AND 255),
    CONSTRAINT notification_rules_version_check CHECK (version >= 1)
);

-- One organisation-wide chain (kizuki-notify counts its steps from an incident's first
-- notification, whichever rule sent it).
CREATE TABLE escalation_chain (
    id         BIGINT      NOT NULL,
    chain      JSONB       NOT NULL,
    version    BIGINT      NOT NULL,
    updated_by BIGINT,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT escalation_chain_pkey PRIMARY KEY (id),
    CONSTRAINT escalation_chain_id_check CHECK (id = 1),
    CONSTRAINT escalation_chain_version_check CHECK (version >= 1),
    CONSTRAINT escalation_chain_updated_by_fkey FOREIGN KEY (updated_by)
        REFERENCES users (id) ON DELETE SET NULL
);

-- Only changed templates are stored; a missing row means the built-in text.
CREATE TABLE message_templates (
    kind       TEXT        NOT NULL,
    language   TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    version    BIGINT      NOT NULL,
    updated_by BIGINT,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT message_templates_pkey PRIMARY KEY (kind, language),
    CONSTRAINT message_templates_kind_check CHECK (kind IN ('new_incident', 'escalation',
        'clock_due_soon', 'clock_overdue', 'action_reminder')),
    CONSTRAINT message_templates_language_check CHECK (language IN ('ja', 'en')),
    CONSTRAINT message_templates_version_check CHECK (version >= 1),
    CONSTRAINT message_templates_updated_by_fkey FOREIGN KEY (updated_by)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE oncall_rotations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    spec       JSONB       NOT NULL,
    version    BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT oncall_rotations_pkey PRIMARY KEY (id),
    CONSTRAINT oncall_rotations_version_check CHECK (version >= 1)
);

CREATE TABLE webhook_targets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    name       TEXT        NOT NULL,
    format     TEXT        NOT NULL,
    url        TEXT        NOT NULL,
    secret     TEXT,
    enabled    BOOLEAN     NOT NULL,
    version    BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhook_targets_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_targets_format_check CHECK (format IN ('slack', 'teams', 'mattermost',
        'signed_json')),
    CONSTRAINT webhook_targets_version_check CHECK (version >= 1)
);

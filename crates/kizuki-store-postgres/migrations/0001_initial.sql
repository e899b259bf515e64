-- Kizuki PostgreSQL schema, version 1.
--
-- Conventions:
-- * ids are BIGINT identity columns (i64 in Rust);
-- * instants are TIMESTAMPTZ (microsecond precision), days are DATE;
-- * closed vocabularies are TEXT with a named CHECK listing the domain's `as_str()` values
--   (a unit test compares these lists with the Rust enums);
-- * lists and small documents are JSONB.
-- Every constraint is named so that the store can map violations to domain errors.

CREATE TABLE users (
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    email        TEXT        NOT NULL,
    display_name TEXT        NOT NULL,
    role         TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_role_check CHECK (role IN ('admin', 'incident_commander', 'responder',
        'executive', 'pr_legal', 'business_unit', 'reporter', 'external_responder'))
);

CREATE TABLE api_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id     BIGINT      NOT NULL,
    name        TEXT        NOT NULL,
    secret_hash TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT api_tokens_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE incidents (
    id               BIGINT GENERATED ALWAYS AS IDENTITY,
    title            TEXT        NOT NULL,
    summary          TEXT        NOT NULL DEFAULT '',
    category         TEXT        NOT NULL,
    severity         SMALLINT    NOT NULL,
    phase            TEXT        NOT NULL,
    detection_source TEXT        NOT NULL,
    start_date       DATE        NOT NULL,
    start_basis      TEXT        NOT NULL,
    aware_at         TIMESTAMPTZ NOT NULL,
    affected_units   JSONB       NOT NULL DEFAULT '[]',
    affected_assets  JSONB       NOT NULL DEFAULT '[]',
    impact           JSONB       NOT NULL DEFAULT '{}',
    restricted       BOOLEAN     NOT NULL DEFAULT FALSE,
    version          BIGINT      NOT NULL DEFAULT 1,
    created_by       BIGINT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT incidents_pkey PRIMARY KEY (id),
    CONSTRAINT incidents_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT incidents_severity_check CHECK (severity BETWEEN 0 AND 255),
    CONSTRAINT incidents_version_check CHECK (version >= 1),
    CONSTRAINT incidents_affected_units_check CHECK (jsonb_typeof(affected_units) = 'array'),
    CONSTRAINT incidents_affected_assets_check CHECK (jsonb_typeof(affected_assets) = 'array'),
    CONSTRAINT incidents_impact_check CHECK (jsonb_typeof(impact) = 'object'),
    CONSTRAINT incidents_category_check CHECK (category IN ('ransomware', 'web_defacement',
        'unauthorised_access', 'targeted_email', 'supply_chain', 'cloud_exposure', 'crypto_mining',
        'data_leak', 'denial_of_service', 'insider', 'other')),
    CONSTRAINT incidents_phase_check CHECK (phase IN ('reported', 'triage', 'containment',
        'eradication', 'recovery', 'post_incident', 'closed')),
    CONSTRAINT incidents_detection_source_check CHECK (detection_source IN ('edr', 'ids',
        'antivirus', 'monitoring', 'hunting', 'user_report', 'external_jpcert', 'external_customer',
        'external_media', 'external_police', 'external_other', 'unknown')),
    CONSTRAINT incidents_start_basis_check CHECK (start_basis IN ('occurrence', 'detection'))
);
-- Listing is newest first (id DESC) with optional phase / category filters; the primary key
-- serves the unfiltered list, these serve the filtered ones.
CREATE INDEX incidents_phase_id_idx ON incidents (phase, id);
CREATE INDEX incidents_category_id_idx ON incidents (category, id);
CREATE INDEX incidents_created_by_idx ON incidents (created_by) WHERE created_by IS NOT NULL;

-- Case-insensitive substring search (ILIKE '%…%') on title and summary. pg_trgm is a
-- "trusted" extension (PostgreSQL 13+): any role with CREATE on the database may install it.
-- Where it cannot be installed (no contrib files, no privilege) the search still works, only
-- by scanning, so its absence must not stop the server from starting.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%); incident text search will scan', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX incidents_title_trgm_idx ON incidents USING gin (title gin_trgm_ops)';
        EXECUTE 'CREATE INDEX incidents_summary_trgm_idx ON incidents USING gin (summary gin_trgm_ops)';
    END IF;
END
$$;

CREATE TABLE timeline_entries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id BIGINT      NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    "precision" TEXT        NOT NULL,
    day_part    TEXT,
    lane        TEXT        NOT NULL,
    actor       TEXT        NOT NULL DEFAULT '',
    kind        TEXT        NOT NULL,
    text        TEXT        NOT NULL,
    source      TEXT        NOT NULL,
    created_by  BIGINT,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT timeline_entries_pkey PRIMARY KEY (id),
    CONSTRAINT timeline_entries_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT timeline_entries_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT timeline_entries_precision_check CHECK ("precision" IN ('minute', 'day_part', 'day',
        'week', 'month')),
    CONSTRAINT timeline_entries_day_part_check CHECK (day_part IN ('early_morning', 'morning',
        'afternoon', 'evening', 'night')),
    CONSTRAINT timeline_entries_lane_check CHECK (lane IN ('management_pr', 'ciso_csirt',
        'it_business', 'external')),
    CONSTRAINT timeline_entries_kind_check CHECK (kind IN ('detection', 'analysis', 'containment',
        'communication', 'decision', 'recovery', 'disclosure', 'other')),
    CONSTRAINT timeline_entries_source_check CHECK (source IN ('manual', 'task', 'alert',
        'notification', 'import'))
);
CREATE INDEX timeline_entries_incident_time_idx ON timeline_entries (incident_id, occurred_at, id);

CREATE TABLE tasks (
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id  BIGINT      NOT NULL,
    playbook     TEXT,
    phase        TEXT        NOT NULL,
    title        TEXT        NOT NULL,
    lane         TEXT        NOT NULL,
    checklist    JSONB       NOT NULL DEFAULT '[]',
    due_at       TIMESTAMPTZ,
    rationale    TEXT        NOT NULL DEFAULT '',
    status       TEXT        NOT NULL DEFAULT 'open',
    completed_by BIGINT,
    completed_at TIMESTAMPTZ,
    position     BIGINT      NOT NULL DEFAULT 0,
    CONSTRAINT tasks_pkey PRIMARY KEY (id),
    CONSTRAINT tasks_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT tasks_completed_by_fkey FOREIGN KEY (completed_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT tasks_checklist_check CHECK (jsonb_typeof(checklist) = 'array'),
    CONSTRAINT tasks_lane_check CHECK (lane IN ('management_pr', 'ciso_csirt', 'it_business',
        'external')),
    CONSTRAINT tasks_status_check CHECK (status IN ('open', 'done', 'skipped'))
);
CREATE INDEX tasks_incident_position_idx ON tasks (incident_id, position, id);

CREATE TABLE decisions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id BIGINT      NOT NULL,
    question    TEXT        NOT NULL,
    options     JSONB       NOT NULL,
    chosen      BIGINT,
    decided_by  TEXT        NOT NULL DEFAULT '',
    decided_at  TIMESTAMPTZ,
    rationale   TEXT        NOT NULL DEFAULT '',
    decide_by   TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT decisions_pkey PRIMARY KEY (id),
    CONSTRAINT decisions_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT decisions_options_check CHECK (jsonb_typeof(options) = 'array'),
    CONSTRAINT decisions_chosen_check CHECK (chosen BETWEEN 0 AND 4294967295)
);
CREATE INDEX decisions_incident_idx ON decisions (incident_id, id);

CREATE TABLE parties (
    id               BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id      BIGINT NOT NULL,
    kind             TEXT   NOT NULL,
    name             TEXT   NOT NULL,
    organisation     TEXT   NOT NULL DEFAULT '',
    role             TEXT   NOT NULL DEFAULT '',
    email            TEXT   NOT NULL DEFAULT '',
    phone            TEXT   NOT NULL DEFAULT '',
    fallback_channel TEXT   NOT NULL DEFAULT '',
    notes            TEXT   NOT NULL DEFAULT '',
    CONSTRAINT parties_pkey PRIMARY KEY (id),
    CONSTRAINT parties_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT parties_kind_check CHECK (kind IN ('internal', 'vendor_forensics',
        'vendor_antivirus', 'vendor_edr', 'mss', 'hosting', 'jpcert', 'police', 'ppc', 'regulator',
        'nisc', 'ipa', 'customer', 'supplier', 'group_company', 'other'))
);
CREATE INDEX parties_incident_idx ON parties (incident_id, id);

CREATE TABLE evidence_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id BIGINT      NOT NULL,
    name        TEXT        NOT NULL,
    description TEXT        NOT NULL DEFAULT '',
    sha256      TEXT,
    location    TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT evidence_items_pkey PRIMARY KEY (id),
    CONSTRAINT evidence_items_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE
);
CREATE INDEX evidence_items_incident_idx ON evidence_items (incident_id, id);

CREATE TABLE custody_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    evidence_id BIGINT      NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    action      TEXT        NOT NULL,
    handler     TEXT        NOT NULL,
    location    TEXT        NOT NULL DEFAULT '',
    note        TEXT        NOT NULL DEFAULT '',
    CONSTRAINT custody_events_pkey PRIMARY KEY (id),
    CONSTRAINT custody_events_evidence_id_fkey FOREIGN KEY (evidence_id) REFERENCES evidence_items (id) ON DELETE CASCADE,
    CONSTRAINT custody_events_action_check CHECK (action IN ('collected', 'transferred', 'analysed',
        'stored', 'returned', 'destroyed'))
);
CREATE INDEX custody_events_evidence_idx ON custody_events (evidence_id, at, id);

CREATE TABLE observables (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id BIGINT      NOT NULL,
    kind        TEXT        NOT NULL,
    value       TEXT        NOT NULL,
    normalized  TEXT        NOT NULL,
    note        TEXT        NOT NULL DEFAULT '',
    first_seen  TIMESTAMPTZ NOT NULL,
    CONSTRAINT observables_pkey PRIMARY KEY (id),
    CONSTRAINT observables_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT observables_incident_kind_normalized_key UNIQUE (incident_id, kind, normalized),
    CONSTRAINT observables_kind_check CHECK (kind IN ('ip', 'cidr', 'domain', 'url', 'email', 'hash',
        'account', 'file_name'))
);
CREATE INDEX observables_kind_normalized_idx ON observables (kind, normalized);

CREATE TABLE legal_clocks (
    id            BIGINT GENERATED ALWAYS AS IDENTITY,
    incident_id   BIGINT      NOT NULL,
    kind          TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    due_hours     BIGINT      NOT NULL,
    overdue_hours BIGINT      NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    met_at        TIMESTAMPTZ,
    CONSTRAINT legal_clocks_pkey PRIMARY KEY (id),
    CONSTRAINT legal_clocks_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT legal_clocks_kind_check CHECK (kind IN ('appi_preliminary', 'appi_final', 'gdpr',
        'custom'))
);
CREATE INDEX legal_clocks_incident_idx ON legal_clocks (incident_id, id);

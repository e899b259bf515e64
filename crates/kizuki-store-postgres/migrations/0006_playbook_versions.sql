-- Kizuki PostgreSQL schema: playbook versions uploaded by administrators.
--
-- The YAML is kept as uploaded: every replica parses the same text at start-up and whenever
-- the highest `seq` moves on, and an administrator can read the source back. A version is
-- never edited; a change is a higher version. (Numbering leaves 0005 to a parallel branch.)
CREATE TABLE playbook_versions (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY,
    playbook_id TEXT        NOT NULL,
    version     BIGINT      NOT NULL,
    source      TEXT        NOT NULL,
    uploaded_by BIGINT,
    uploaded_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT playbook_versions_pkey PRIMARY KEY (seq),
    CONSTRAINT playbook_versions_id_version_key UNIQUE (playbook_id, version),
    CONSTRAINT playbook_versions_version_check CHECK (version BETWEEN 1 AND 4294967295),
    CONSTRAINT playbook_versions_uploaded_by_fkey FOREIGN KEY (uploaded_by)
        REFERENCES users (id) ON DELETE SET NULL
);

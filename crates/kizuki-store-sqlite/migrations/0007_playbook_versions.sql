-- Playbook versions uploaded by administrators (through the API or the administration page).
--
-- The YAML is kept as uploaded: every replica parses the same text at start-up and whenever
-- `seq` moves on, and an administrator can read the source back. A version is never edited;
-- a change is a higher version. (SQLite numbering leaves 0006 to a parallel branch.)
CREATE TABLE playbook_versions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    playbook_id TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version > 0),
    source      TEXT    NOT NULL,
    uploaded_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    uploaded_at INTEGER NOT NULL,
    UNIQUE (playbook_id, version)
) STRICT;

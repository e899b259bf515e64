-- A person's chosen language for pages and, later, for what Kizuki writes to them.
-- NULL until they choose: the browser's and then the organisation's language apply.
ALTER TABLE users ADD COLUMN language TEXT CHECK (language IN ('ja', 'en'));

-- --- lane owners ---------------------------------------------------------------------------
-- Each lane of an incident's timeline may have one member who keeps it moving (the study's
-- cases stalled where nobody owned the management lane). An owner is always a member: the
-- composite key makes removing the member remove the ownership too.
CREATE TABLE incident_lane_owners (
    incident_id INTEGER NOT NULL,
    lane        TEXT    NOT NULL
        CHECK (lane IN ('management_pr', 'ciso_csirt', 'it_business', 'external')),
    user_id     INTEGER NOT NULL,
    assigned_at INTEGER NOT NULL,
    PRIMARY KEY (incident_id, lane),
    FOREIGN KEY (incident_id, user_id)
        REFERENCES incident_members (incident_id, user_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- "Which incidents does this person own a lane of" (the board's lane-owner filter).
CREATE INDEX incident_lane_owners_user ON incident_lane_owners (user_id, incident_id);

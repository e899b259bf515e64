-- Kizuki PostgreSQL schema, version 5: a person's chosen language, and lane owners.

-- NULL until the person chooses: the browser's and then the organisation's language apply.
ALTER TABLE users ADD COLUMN language TEXT;
ALTER TABLE users ADD CONSTRAINT users_language_check CHECK (language IN ('ja', 'en'));

-- Each lane of an incident's timeline may have one member who keeps it moving (the study's
-- cases stalled where nobody owned the management lane). An owner is always a member: the
-- composite foreign key makes removing the member remove the ownership too.
CREATE TABLE incident_lane_owners (
    incident_id BIGINT      NOT NULL,
    lane        TEXT        NOT NULL,
    user_id     BIGINT      NOT NULL,
    assigned_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT incident_lane_owners_pkey PRIMARY KEY (incident_id, lane),
    CONSTRAINT incident_lane_owners_lane_check CHECK (lane IN ('management_pr', 'ciso_csirt', 'it_business', 'external')),
    CONSTRAINT incident_lane_owners_member_fkey FOREIGN KEY (incident_id, user_id)
        REFERENCES incident_members (incident_id, user_id) ON DELETE CASCADE
);
-- "Which incidents does this person own a lane of" (the board's lane-owner filter).
CREATE INDEX incident_lane_owners_user_id_idx ON incident_lane_owners (user_id, incident_id);

-- A legal-clock reminder names its clock, so the message is rendered with that clock's name
-- and deadline even when two clocks fall due together. A deleted clock leaves the history.
ALTER TABLE notifications ADD COLUMN clock_id BIGINT
    CONSTRAINT notifications_clock_id_fkey REFERENCES legal_clocks (id) ON DELETE SET NULL;

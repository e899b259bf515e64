-- One clock per statutory kind and incident, so a changed impact or awareness time updates
-- the running clock instead of adding a second one. Custom clocks may repeat.
CREATE UNIQUE INDEX legal_clocks_statutory ON legal_clocks (incident_id, kind) WHERE kind <> 'custom';

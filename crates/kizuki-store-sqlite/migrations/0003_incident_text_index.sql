-- Indexed text search over incidents: an FTS5 table with the trigram tokenizer over the
-- lower-cased search columns, so `list_incidents` answers "case-insensitive substring of
-- title or summary" for needles of 3 or more characters without reading every row.
--
--   * external content (`content='incidents'`): the index only, the text stays in
--     `incidents`; kept in sync by the triggers below, inside the writing statement's
--     transaction;
--   * `case_sensitive 1` over the already lower-cased (Unicode, by Rust) columns, queried
--     with the needle lower-cased the same way: matches exactly what
--     `instr(title_search, needle) > 0 OR instr(summary_search, needle) > 0` matches;
--   * `detail=full` keeps token positions, needed for phrase (= substring) queries.

CREATE VIRTUAL TABLE incidents_fts USING fts5 (
    title_search,
    summary_search,
    content = 'incidents',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1',
    detail = full
);

INSERT INTO incidents_fts (incidents_fts) VALUES ('rebuild');

CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts (rowid, title_search, summary_search)
    VALUES (new.id, new.title_search, new.summary_search);
END;

CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title_search, summary_search)
    VALUES ('delete', old.id, old.title_search, old.summary_search);
END;

CREATE TRIGGER incidents_fts_update AFTER UPDATE OF title_search, summary_search ON incidents
WHEN old.title_search IS NOT new.title_search OR old.summary_search IS NOT new.summary_search
BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title_search, summary_search)
    VALUES ('delete', old.id, old.title_search, old.summary_search);
    INSERT INTO incidents_fts (rowid, title_search, summary_search)
    VALUES (new.id, new.title_search, new.summary_search);
END;

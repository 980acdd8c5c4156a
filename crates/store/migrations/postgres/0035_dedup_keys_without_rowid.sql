-- On SQLite this version clusters report_keys and report_bands on their primary keys (WITHOUT ROWID). A
-- PostgreSQL table is always a heap beside its indexes, and intake's searches already read these two through
-- their primary-key indexes: nothing changes here. The version exists so that both backends list the same.
SELECT 1;

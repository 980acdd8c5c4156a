-- The exact keys leave the database as the band keys did (0036): each store holds them in memory beside the band
-- keys (store/src/dedup_index.rs), rebuilt from the fingerprints, which carry them. About three random index
-- pages per report stop being written, and the candidate search reads no table to find what shares a key.
DROP TABLE report_keys;
-- What the search still reads is the case each report found is in now: from this index alone (an index-only
-- scan), rather than a visit to the reports' wide rows for each.
CREATE INDEX reports_id_case ON reports (id) INCLUDE (case_id);

-- The LSH band keys leave the database: each store holds them in memory (store/src/band_index.rs), rebuilt from
-- the fingerprints, which now carry the order they were committed in (`seq`, numbered by intake while it holds
-- the write lock), so that an index catches up by reading the rows after the last it applied. About 680 bytes
-- and twenty random index pages per report stop being written.
ALTER TABLE report_fingerprints ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE report_fingerprints SET seq = rowid;
CREATE UNIQUE INDEX report_fingerprints_seq ON report_fingerprints (seq);
DROP TABLE report_bands;

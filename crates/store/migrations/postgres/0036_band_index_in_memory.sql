-- The LSH band keys leave the database: each store holds them in memory (store/src/band_index.rs), rebuilt from
-- the fingerprints, which now carry the order they were committed in (`seq`, numbered by intake while it holds
-- the intake advisory lock), so that an index catches up by reading the rows after the last it applied.
ALTER TABLE report_fingerprints ADD COLUMN seq BIGINT;
UPDATE report_fingerprints f SET seq = n.seq
    FROM (SELECT report_id, ROW_NUMBER() OVER (ORDER BY report_id) AS seq FROM report_fingerprints) n
    WHERE n.report_id = f.report_id;
ALTER TABLE report_fingerprints ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX report_fingerprints_seq ON report_fingerprints (seq);
DROP TABLE report_bands;

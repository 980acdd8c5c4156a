-- Intake writes about two dozen key and band rows per report. As rowid tables, each row went into the table and
-- into its primary-key index: two B-trees, and a random page of the index for every row. Clustered on the key
-- (WITHOUT ROWID) there is one B-tree, and each row is about half the size.
CREATE TABLE report_keys_clustered (
    key BIGINT NOT NULL,
    report_id BLOB NOT NULL REFERENCES reports (id),
    PRIMARY KEY (key, report_id)
) WITHOUT ROWID;
INSERT INTO report_keys_clustered (key, report_id) SELECT key, report_id FROM report_keys;
DROP TABLE report_keys;
ALTER TABLE report_keys_clustered RENAME TO report_keys;

CREATE TABLE report_bands_clustered (
    band INTEGER NOT NULL,
    key BIGINT NOT NULL,
    report_id BLOB NOT NULL REFERENCES reports (id),
    PRIMARY KEY (band, key, report_id)
) WITHOUT ROWID;
INSERT INTO report_bands_clustered (band, key, report_id) SELECT band, key, report_id FROM report_bands;
DROP TABLE report_bands;
ALTER TABLE report_bands_clustered RENAME TO report_bands;

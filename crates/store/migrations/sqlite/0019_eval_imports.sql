-- Runs imported from Inspect `.eval` logs: the log's own start, header and reductions (JSON, compressed with
-- zstd), so the run exports again as the log it came from. Its samples are its `eval_results`, each record
-- holding the sample's original JSON.
CREATE TABLE eval_imports (
    run_id BLOB PRIMARY KEY NOT NULL REFERENCES eval_runs (id),
    log BLOB NOT NULL
);

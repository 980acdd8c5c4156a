-- A run of a task from the server's suite catalogue names the suite (its path under the suites directory) and
-- the digest of the files the task reads, so a batch run after the directory changed refuses instead of
-- quietly running something else. Both are NULL for a task and dataset posted with the run.
ALTER TABLE eval_runs ADD COLUMN suite TEXT;
ALTER TABLE eval_runs ADD COLUMN suite_digest TEXT;

-- A completed run's results (`evals::runner::Results` as JSON: every reducer and grouping), computed once when
-- the run completes, so that reading the run is one row however many samples it has. NULL until then (and for
-- runs that ended otherwise).
ALTER TABLE eval_runs ADD COLUMN results TEXT;

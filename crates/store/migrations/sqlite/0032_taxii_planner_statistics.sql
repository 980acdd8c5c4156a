-- Nothing on SQLite: PostgreSQL's version of this migration gives its planner statistics for the tables a TAXII
-- page's TLP admission probes. SQLite's plan for that page is its index range in order without statistics (and
-- nothing analyses a Prelaunch SQLite database); the migration exists so that both backends know the same
-- versions.
SELECT 1;

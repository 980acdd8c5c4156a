-- Our reports and cases as STIX objects (`clearinghouse::stix_reports`), in `stix_objects` beside the advisories'.
--   exported_version  the version of the report or case a row of our export was made from (NULL for posted
--                     objects and advisories' objects), so the backfill finds each report and case whose current
--                     version has no objects yet with one indexed probe.
-- A report's objects have report_id set and added_org NULL (posted objects always name who posted them);
-- admission for them is the report's own TLP rule. A case's object has case_id set and advisory_id NULL.
ALTER TABLE stix_objects ADD COLUMN exported_version BIGINT;
CREATE INDEX stix_objects_report_export ON stix_objects (report_id, exported_version) WHERE report_id IS NOT NULL;
CREATE INDEX stix_objects_case_export ON stix_objects (case_id, exported_version) WHERE case_id IS NOT NULL;

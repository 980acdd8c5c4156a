-- Gives the planner statistics for the small tables the TLP admission of a TAXII page (`TaxiiStore::taxii_objects`)
-- probes, so that it reads the page's range of `stix_objects_page` in index order and stops after `limit` rows.
-- PostgreSQL assumes a table never analysed holds ten pages of rows, and autovacuum does not analyse a table
-- before 50 of its rows changed: in a new installation these stay unanalysed for a long time. The admission's
-- `EXISTS` probes of them were then costed as scans of those assumed rows for every object read, which priced a
-- page in index order above a full scan and sort of the collection (chosen for collections of up to about
-- 12,000 objects), and above a sort of everything after the cursor whenever the statistics of `stix_objects`
-- were older than its newest rows (seconds per page at 100,000 objects). Analysed once here, they are costed
-- for what they hold; autovacuum keeps them so as they grow.
ANALYZE cases, case_participants, tlp_people, tlp_clients;

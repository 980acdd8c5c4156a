-- A case's CVE id (CVE-YYYY-NNNN…), set by coordinators or taken from an imported report; unique across cases.
ALTER TABLE cases ADD COLUMN cve TEXT;
CREATE UNIQUE INDEX cases_cve ON cases (cve) WHERE cve IS NOT NULL;

-- The TLP filters of advisory listings and feeds (ROLIE per marking, CSAF by marking) read by marking, newest
-- first.
CREATE INDEX advisories_tlp ON advisories (tlp, published_at, id);

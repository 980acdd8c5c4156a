-- A case's CVE id (CVE-YYYY-NNNN…), set by coordinators or taken from an imported report; unique across cases.
ALTER TABLE cases ADD COLUMN cve TEXT;
CREATE UNIQUE INDEX cases_cve ON cases (cve) WHERE cve IS NOT NULL;

-- The TLP filters of advisory listings and feeds (ROLIE per marking, CSAF by marking) read by marking, newest
-- first.
CREATE INDEX advisories_tlp ON advisories (tlp, published_at, id);

-- Where an imported report came from: the format (csaf, osv), the document's id (CSAF tracking id, OSV id),
-- its version (CSAF tracking version, OSV modified) and the CVE id it names. Written with the report.
CREATE TABLE report_origins (
    report_id UUID PRIMARY KEY REFERENCES reports (id),
    format TEXT NOT NULL CHECK (format IN ('csaf', 'osv')),
    document_id TEXT NOT NULL,
    version TEXT NOT NULL,
    cve TEXT
);

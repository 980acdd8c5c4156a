-- A finding's life after filing: its status (the developer acknowledges, mitigates or disputes; the finding's
-- agency closes or reopens), its version (each edit by the author keeps the previous text in
-- finding_versions), and the response thread between the developer and the finding's agency.
ALTER TABLE findings ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'acknowledged', 'mitigated', 'disputed', 'closed'));
ALTER TABLE findings ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE findings ADD COLUMN edited_at TEXT;

-- Each earlier version of a finding, as it read before an edit replaced it.
CREATE TABLE finding_versions (
    finding_id BLOB NOT NULL REFERENCES findings (id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    domain TEXT NOT NULL,
    severity TEXT NOT NULL,
    description TEXT NOT NULL,
    evidence TEXT NOT NULL,
    written_by BLOB NOT NULL REFERENCES users (id),
    written_at TEXT NOT NULL,
    PRIMARY KEY (finding_id, version)
);

CREATE TABLE finding_responses (
    id BLOB PRIMARY KEY NOT NULL,
    finding_id BLOB NOT NULL REFERENCES findings (id),
    author_id BLOB NOT NULL REFERENCES users (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX finding_responses_finding ON finding_responses (finding_id, id);

-- An assessment is drafted (visible to its agency only) and published by the agency's admin. Existing
-- assessments were published when written. published_at holds the drafting time until publication.
ALTER TABLE assessments ADD COLUMN draft BOOLEAN NOT NULL DEFAULT FALSE;

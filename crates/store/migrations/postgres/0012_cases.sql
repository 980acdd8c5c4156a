-- Coordinated disclosure cases beyond intake: the history of each case's states (for the metrics' stage times)
-- and the advisories' own numbering, PLA-<year>-<n>.

-- Every move of a case from one state to another, with its reason; the audit trail has the same facts, this
-- table lets the metrics find when each case reached each stage with an index.
CREATE TABLE case_state_changes (
    id UUID PRIMARY KEY NOT NULL,
    case_id UUID NOT NULL REFERENCES cases (id),
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL CHECK (to_state IN ('new', 'triaged', 'vendors_notified', 'fix_in_progress', 'fixed',
                                               'published', 'rejected', 'duplicate')),
    reason TEXT,
    -- NULL when the service acted (publication when the embargo ended).
    changed_by UUID REFERENCES users (id),
    changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_state_changes_case ON case_state_changes (case_id, to_state);
CREATE INDEX case_state_changes_state ON case_state_changes (to_state, case_id);

-- The next advisory number of each year, taken atomically (INSERT … ON CONFLICT … RETURNING).
CREATE TABLE advisory_numbers (
    year INTEGER PRIMARY KEY NOT NULL,
    next BIGINT NOT NULL
);

CREATE INDEX case_vendor_status_case ON case_vendor_status (case_id, org_id);
CREATE INDEX reports_kind ON reports (kind, case_id);

-- The clearinghouse: vulnerability and threat reports, the coordinated disclosure cases they are linked into,
-- the advisories cases publish, and the subscriptions that fan advisories out.
--
-- Every shared object has a stable id, a version (bumped on every change), a TLP 2.0 marking and its
-- created/modified times, so that the exchange formats (STIX, CSAF, OSV, CVE) can be derived from the rows.
-- Who may read an object is decided by one SQL fragment, `store::tlp::tlp_admits!`, from the marking, the
-- object's owner, its case's participants, the people (RED) and client organisations (AMBER) named for it.

-- A coordinated disclosure case. Every vulnerability report belongs to one: intake joins the case of a
-- duplicate above the join threshold, or opens a case in state `new` (the triage queue).
CREATE TABLE cases (
    id UUID PRIMARY KEY NOT NULL,
    -- A short human reference, PLC-<year>-<n>, unique; n counts from 1 (see case_numbers).
    reference TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('new', 'triaged', 'vendors_notified', 'fix_in_progress', 'fixed',
                                         'published', 'rejected', 'duplicate')),
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    -- The case this one was merged into (state `duplicate`).
    duplicate_of UUID REFERENCES cases (id),
    -- The target publication date; NULL until a coordinator sets it (triage sets the program default).
    embargo_ends_at TIMESTAMPTZ,
    published_at TIMESTAMPTZ,
    -- Critical-infrastructure sectors concerned, a JSON array of sector names.
    sectors JSONB NOT NULL,
    created_by UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX cases_state ON cases (state, id);
CREATE INDEX cases_embargo ON cases (embargo_ends_at) WHERE published_at IS NULL;

-- The next case number of each year, taken atomically (UPDATE … RETURNING).
CREATE TABLE case_numbers (
    year INTEGER PRIMARY KEY NOT NULL,
    next BIGINT NOT NULL
);

-- The organisations taking part in a case. A participant sees the case and its reports while it is under
-- embargo once notified (notified_at set); the reporter's organisation and coordinators are notified when
-- added.
CREATE TABLE case_participants (
    case_id UUID NOT NULL REFERENCES cases (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    role TEXT NOT NULL CHECK (role IN ('reporter', 'vendor', 'coordinator', 'observer')),
    added_at TIMESTAMPTZ NOT NULL,
    notified_at TIMESTAMPTZ,
    PRIMARY KEY (case_id, org_id)
);
CREATE INDEX case_participants_org ON case_participants (org_id, case_id);

CREATE TABLE reports (
    id UUID PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('vulnerability', 'threat')),
    -- NULL for threat reports, which are shared, not coordinated.
    case_id UUID REFERENCES cases (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    org_id UUID NOT NULL REFERENCES organizations (id),
    reporter_id UUID NOT NULL REFERENCES users (id),
    -- Who found it: a person, an organisation, or a model under a notice (finder_notice_id).
    finder_kind TEXT NOT NULL CHECK (finder_kind IN ('person', 'organization', 'model')),
    finder_name TEXT NOT NULL,
    finder_notice_id UUID REFERENCES notices (id),
    ai_found BOOLEAN NOT NULL,
    cwe INTEGER,
    cvss_v3 TEXT,
    cvss_v3_score DOUBLE PRECISION,
    cvss_v4 TEXT,
    cvss_v4_score DOUBLE PRECISION,
    -- The highest severity of the scores given: none, low, medium, high, critical.
    severity TEXT CHECK (severity IN ('none', 'low', 'medium', 'high', 'critical')),
    location TEXT,
    crash_signature TEXT,
    threat_model TEXT,
    -- Threat reports: indicators (STIX patterns), attack patterns, observed AI misuse, as a JSON object.
    threat JSONB,
    -- Set when the report was found to repeat another (joined automatically, or merged by a coordinator).
    duplicate_of UUID REFERENCES reports (id),
    duplicate_score DOUBLE PRECISION,
    -- The review finding this report was forwarded from; the finding links back through it.
    finding_id UUID UNIQUE REFERENCES findings (id),
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX reports_case ON reports (case_id, id);
CREATE INDEX reports_org ON reports (org_id, id);
CREATE INDEX reports_created ON reports (created_at, id);

CREATE TABLE report_affected (
    report_id UUID NOT NULL REFERENCES reports (id),
    idx INTEGER NOT NULL,
    -- The product as a canonical purl or CPE 2.3 name, its key (without version) and the version range.
    product TEXT NOT NULL,
    product_key TEXT NOT NULL,
    versions TEXT NOT NULL,
    PRIMARY KEY (report_id, idx)
);
CREATE INDEX report_affected_key ON report_affected (product_key);

-- A reproducer, a patch or another file, sealed under the master key (bound to `attachment:<id>`); it
-- carries its own TLP marking, never less restrictive than its report's.
CREATE TABLE report_attachments (
    id UUID PRIMARY KEY NOT NULL,
    report_id UUID NOT NULL REFERENCES reports (id),
    role TEXT NOT NULL CHECK (role IN ('reproducer', 'patch', 'other')),
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 BYTEA NOT NULL,
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    sealed BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_attachments_report ON report_attachments (report_id, id);

-- Duplicate detection: the fingerprint of each vulnerability report, its exact keys and its LSH band keys.
-- A fixed number of rows per report, so correlation storage grows linearly with reports.
CREATE TABLE report_fingerprints (
    report_id UUID PRIMARY KEY NOT NULL REFERENCES reports (id),
    fingerprint BYTEA NOT NULL
);
CREATE TABLE report_keys (
    key BIGINT NOT NULL,
    report_id UUID NOT NULL REFERENCES reports (id),
    PRIMARY KEY (key, report_id)
);
CREATE TABLE report_bands (
    band INTEGER NOT NULL,
    key BIGINT NOT NULL,
    report_id UUID NOT NULL REFERENCES reports (id),
    PRIMARY KEY (band, key, report_id)
);
-- What intake found for a report: its candidate duplicates and their scores, shown to coordinators.
CREATE TABLE report_candidates (
    report_id UUID NOT NULL REFERENCES reports (id),
    candidate_id UUID NOT NULL REFERENCES reports (id),
    score DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (report_id, candidate_id)
);

-- TLP:RED: the people an object (report, attachment, case) is shared with by name.
CREATE TABLE tlp_people (
    object_id UUID NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id),
    PRIMARY KEY (object_id, user_id)
);
-- TLP:AMBER: the client organisations a recipient organisation names for an object.
CREATE TABLE tlp_clients (
    object_id UUID NOT NULL,
    org_id UUID NOT NULL REFERENCES organizations (id),
    client_org_id UUID NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (object_id, client_org_id, org_id)
);

-- A vendor's status and statement for one vulnerability (report) of a case.
CREATE TABLE case_vendor_status (
    case_id UUID NOT NULL REFERENCES cases (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    report_id UUID NOT NULL REFERENCES reports (id),
    status TEXT NOT NULL CHECK (status IN ('affected', 'not_affected', 'fixed', 'under_investigation')),
    statement TEXT NOT NULL,
    updated_by UUID NOT NULL REFERENCES users (id),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, org_id, report_id)
);

-- The case's threaded discussion among participants.
CREATE TABLE case_posts (
    id UUID PRIMARY KEY NOT NULL,
    case_id UUID NOT NULL REFERENCES cases (id),
    reply_to UUID REFERENCES case_posts (id),
    author_id UUID NOT NULL REFERENCES users (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_posts_case ON case_posts (case_id, id);

-- Every change of a case's target publication date, with its reason.
CREATE TABLE case_embargo_changes (
    id UUID PRIMARY KEY NOT NULL,
    case_id UUID NOT NULL REFERENCES cases (id),
    previous TIMESTAMPTZ,
    embargo_ends_at TIMESTAMPTZ NOT NULL,
    reason TEXT NOT NULL,
    changed_by UUID REFERENCES users (id),
    changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_embargo_changes_case ON case_embargo_changes (case_id, id);

-- A vendor's disclosure policy: its embargo, how it treats AI-found reports, what it requires before it is
-- notified, the pace of reports it accepts, and the products it answers for (purl or CPE prefixes, JSON).
CREATE TABLE vendor_policies (
    org_id UUID PRIMARY KEY NOT NULL REFERENCES organizations (id),
    embargo_days INTEGER,
    ai_found_public BOOLEAN NOT NULL,
    require_reproducer BOOLEAN NOT NULL,
    reports_per_day INTEGER,
    products JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The advisory a case publishes: its document (summary, affected and fixed versions, scores, CWE, credits,
-- references, remediation) as JSON.
CREATE TABLE advisories (
    id UUID PRIMARY KEY NOT NULL,
    case_id UUID NOT NULL UNIQUE REFERENCES cases (id),
    reference TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    severity TEXT CHECK (severity IN ('none', 'low', 'medium', 'high', 'critical')),
    document JSONB NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX advisories_published ON advisories (published_at, id);

-- What an organisation wants to be sent: advisories of a sector, for products under a prefix, of at least a
-- severity (each criterion optional; all given must match).
CREATE TABLE subscriptions (
    id UUID PRIMARY KEY NOT NULL,
    org_id UUID NOT NULL REFERENCES organizations (id),
    sector TEXT,
    product_prefix TEXT,
    min_severity TEXT CHECK (min_severity IN ('none', 'low', 'medium', 'high', 'critical')),
    created_by UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscriptions_org ON subscriptions (org_id, id);

-- Intake counters: reports accepted per scope (an organisation, or a vendor's pace) and window, incremented
-- atomically by the statement that checks them.
CREATE TABLE intake_counters (
    scope TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (scope, window_start)
);

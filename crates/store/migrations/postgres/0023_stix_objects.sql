-- Every STIX object a TAXII collection serves, one row per object version. Our advisories' objects are written
-- when an advisory is published (and by a batched backfill for advisories published before this table);
-- posted objects when a TAXII envelope is accepted. Reads page by the keyset (tlp, date_added, stix_id,
-- version) with TLP admission (`tlp_admits!`) compiled into the query.
--   version    the object's `modified` (or `created`), normalised to UTC with nine fractional digits, so
--              that text order is time order;
--   date_added set by us, millisecond precision;
--   added_org, added_by  who posted it (NULL for our own exports);
--   advisory_id, case_id the advisory and case it derives from (NULL for posted objects); admission reads the
--              case's creator, participants and publication as for the advisory itself;
--   report_id  the report a posted vulnerability or indicator was filed as.
CREATE TABLE stix_objects (
    id UUID PRIMARY KEY NOT NULL,
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    stix_id TEXT COLLATE "C" NOT NULL,
    stix_type TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    date_added TIMESTAMPTZ NOT NULL,
    body TEXT NOT NULL,
    added_org UUID REFERENCES organizations (id),
    added_by UUID REFERENCES users (id),
    advisory_id UUID REFERENCES advisories (id),
    case_id UUID REFERENCES cases (id),
    report_id UUID REFERENCES reports (id),
    UNIQUE (stix_id, version, tlp)
);
CREATE INDEX stix_objects_page ON stix_objects (tlp, date_added, stix_id, version);
CREATE INDEX stix_objects_advisory ON stix_objects (advisory_id) WHERE advisory_id IS NOT NULL;

-- The envelopes posted to a collection: the status resource their poster reads.
CREATE TABLE taxii_statuses (
    id UUID PRIMARY KEY NOT NULL,
    tlp TEXT NOT NULL,
    org_id UUID NOT NULL REFERENCES organizations (id),
    user_id UUID NOT NULL REFERENCES users (id),
    request_timestamp TIMESTAMPTZ NOT NULL,
    total_count BIGINT NOT NULL,
    successes TEXT NOT NULL,
    failures TEXT NOT NULL
);

DROP TABLE stix_ids;

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
    id BLOB PRIMARY KEY NOT NULL,
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    stix_id TEXT NOT NULL,
    stix_type TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    version TEXT NOT NULL,
    date_added TEXT NOT NULL,
    body TEXT NOT NULL,
    added_org BLOB REFERENCES organizations (id),
    added_by BLOB REFERENCES users (id),
    advisory_id BLOB REFERENCES advisories (id),
    case_id BLOB REFERENCES cases (id),
    report_id BLOB REFERENCES reports (id),
    UNIQUE (stix_id, version, tlp)
);
CREATE INDEX stix_objects_page ON stix_objects (tlp, date_added, stix_id, version);
CREATE INDEX stix_objects_advisory ON stix_objects (advisory_id) WHERE advisory_id IS NOT NULL;

-- The envelopes posted to a collection: the status resource their poster reads.
CREATE TABLE taxii_statuses (
    id BLOB PRIMARY KEY NOT NULL,
    tlp TEXT NOT NULL,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    request_timestamp TEXT NOT NULL,
    total_count INTEGER NOT NULL,
    successes TEXT NOT NULL,
    failures TEXT NOT NULL
);

DROP TABLE stix_ids;

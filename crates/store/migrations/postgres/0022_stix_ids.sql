-- The STIX ids of each advisory's objects (UUID v5 of the advisory's id, `clearinghouse::stix::object_id`),
-- which SQL cannot compute, so that TAXII finds objects by id (`match[id]`, object by id, versions). Derived
-- data: filled by the application for advisories that lack them, before a read by id.
CREATE TABLE stix_ids (
    stix_id TEXT PRIMARY KEY NOT NULL,
    advisory_id UUID NOT NULL REFERENCES advisories (id),
    kind TEXT NOT NULL CHECK (kind IN ('report', 'vulnerability')),
    UNIQUE (advisory_id, kind)
);

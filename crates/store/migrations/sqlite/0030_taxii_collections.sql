-- TAXII collections beyond the one per TLP marking.
-- A sharing community: organisations that share STIX objects among themselves in the community's collection,
-- defined by a program administrator or coordinator. An object posted to it keeps its own TLP marking and is
-- read only by members (`stix_objects.community_id`); objects of no community have it NULL.
CREATE TABLE taxii_communities (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by BLOB NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX taxii_communities_name ON taxii_communities (lower(name));

CREATE TABLE taxii_community_members (
    community_id BLOB NOT NULL REFERENCES taxii_communities (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (community_id, org_id)
);
CREATE INDEX taxii_community_members_org ON taxii_community_members (org_id);

-- A read-only collection a program administrator defines by a filter over the stored objects: STIX types
-- (a comma-separated list; empty for every type), a TLP ceiling, and optionally one community. It narrows what
-- the caller may read anyway; it never admits anything.
CREATE TABLE taxii_filter_collections (
    id BLOB PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    stix_types TEXT NOT NULL,
    tlp_ceiling TEXT NOT NULL CHECK (tlp_ceiling IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    community_id BLOB REFERENCES taxii_communities (id),
    created_by BLOB NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);

ALTER TABLE stix_objects ADD COLUMN community_id BLOB REFERENCES taxii_communities (id);
CREATE INDEX stix_objects_community ON stix_objects (community_id, date_added, stix_id, version)
    WHERE community_id IS NOT NULL;

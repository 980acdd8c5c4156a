//! The clearinghouse's domain, without HTTP or SQL: CVSS v3.x and v4.0 scoring (`cvss`), affected products as
//! purl or CPE with version ranges (`product`), the fingerprints that find duplicate reports (`dedup`), the TLP 2.0
//! marking (`tlp`), CSAF 2.0 documents (`csaf`), and the coordinated disclosure case: its states, vendor statuses and embargo (`case`).

pub mod case;
pub mod csaf;
pub mod cvss;
pub mod dedup;
pub mod pattern;
pub mod product;
pub mod stix;
pub mod stix_import;
pub mod stix_reports;
pub mod tlp;

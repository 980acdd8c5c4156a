//! The clearinghouse's domain, without HTTP or SQL: CVSS v3.x and v4.0 scoring (`cvss`), affected products as
//! purl or CPE with version ranges (`product`), the fingerprints that find duplicate reports (`dedup`), and the TLP 2.0 marking (`tlp`).

pub mod cvss;
pub mod dedup;
pub mod pattern;
pub mod product;
pub mod tlp;

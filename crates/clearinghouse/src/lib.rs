//! The clearinghouse's domain, without HTTP or SQL: CVSS v3.x and v4.0 scoring (`cvss`), affected products as
//! purl or CPE with version ranges (`product`), and the fingerprints that find duplicate reports (`dedup`).

pub mod cvss;
pub mod dedup;
pub mod product;

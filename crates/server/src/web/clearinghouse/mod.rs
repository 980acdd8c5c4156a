//! The clearinghouse's pages: advisories (public for TLP:CLEAR). Every read goes through the same `app`
//! operation as the API, so the marking decides who reads once, in the query.

pub mod advisories;
pub mod reports;

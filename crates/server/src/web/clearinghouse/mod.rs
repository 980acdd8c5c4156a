//! The clearinghouse's pages: advisories (public for TLP:CLEAR), the report form and a report's page, and a
//! case's page. Every read and write goes through the same `app` operation as the API, so the marking decides
//! once, in the query, who reads; an object the reader may not read is the not-found page.

pub mod advisories;
pub mod case_actions;
pub mod cases;
pub mod inbox;
pub mod reports;
pub mod triage;

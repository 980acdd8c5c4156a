//! The clearinghouse's pages: advisories (public for TLP:CLEAR), the report form and a report's page, a
//! case's page, an organisation's subscriptions and vendor disclosure policy (`settings`), and the metrics. Every read and write goes through the same `app` operation as the API, so the marking decides
//! once, in the query, who reads; an object the reader may not read is the not-found page.

pub mod advisories;
pub mod case_actions;
pub mod cases;
pub mod inbox;
pub mod metrics;
pub mod reports;
pub mod settings;
pub mod triage;

//! The integration suite: one binary, every test against a real server over real HTTP, on the backend named
//! by `PRELAUNCH_TEST_BACKEND` (sqlite by default, or postgres with `PRELAUNCH_TEST_PG_URL`).

// Test code states its expectations by panicking; clippy's in-test allowances reach only `#[test]` functions,
// not the helpers of an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod accessibility;
mod accounts;
mod api_conveniences;
mod audit;
mod auth_hardening;
mod authz;
mod bad_input;
mod browser;
mod cases;
mod cases_advisories;
mod cli;
mod clients;
mod csaf;
mod csaf_sign;
mod csaf_v21;
mod cvss;
mod dashboards;
mod dedup_index;
mod dedup_quality;
mod eval_agents;
mod eval_cli;
mod eval_interop;
mod eval_io;
mod eval_runs;
mod eval_scale;
mod exchange_import;
mod exchange_osv;
mod exchange_osv_archive;
mod federation;
mod federation_hostile;
mod findings_life;
mod gateway;
mod gateway_inproc;
mod gateway_latency;
mod gateway_limits;
mod gateway_web;
mod inspect_log;
mod intake_groups;
mod jobs;
mod launch_dates;
mod ledger;
mod ledger_pages;
mod list_search;
mod notice_edit;
mod notifications;
mod openapi;
mod pagination;
mod parsers;
mod platform;
mod report_access;
mod reports;
mod review_quality;
mod sandbox;
mod schemathesis;
mod smoke;
mod store_reads;
mod structure;
mod support;
mod taxii;
mod taxii_collections;
mod taxii_reports;
mod taxii_write;
mod taxii_write_atomic;
mod tlp_clients;
mod tlp_matrix;
mod tlp_mixed_case;
mod upstream;
mod upstream_answers;
mod visibility;
mod web;
mod web_clearinghouse;
mod web_clearinghouse_actions;
mod web_clearinghouse_metrics;
mod web_clearinghouse_settings;
mod web_errors;
mod web_eval_runs;
mod webhooks;
mod windows;

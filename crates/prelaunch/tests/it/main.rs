//! The integration suite: one binary, every test against a real server over real HTTP, on the backend named
//! by `PRELAUNCH_TEST_BACKEND` (sqlite by default, or postgres with `PRELAUNCH_TEST_PG_URL`).

// Test code throughout, helpers included: a broken expectation is meant to fail the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod browser;
mod openapi;
mod smoke;
mod support;

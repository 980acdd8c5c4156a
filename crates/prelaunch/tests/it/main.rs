//! The integration suite: one binary, every test against a real server over real HTTP, on the backend named
//! by `PRELAUNCH_TEST_BACKEND` (sqlite by default, or postgres with `PRELAUNCH_TEST_PG_URL`).

mod browser;
mod openapi;
mod smoke;
mod support;

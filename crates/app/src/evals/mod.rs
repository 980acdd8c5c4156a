//! The evaluation engine's operations: the models a run can target (an OpenAI-compatible endpoint over HTTP for
//! reference models; a notice's model through the gateway's in-process call API), the sandbox each agentic
//! sample runs in, runs on the server (`runs`: stored, split into jobs, recorded item by item), and runs as
//! Inspect logs, exported and imported (`logs`).

pub(crate) mod batch;
mod compare;
mod endpoint;
mod gateway_model;
pub mod logs;
pub mod runs;
mod sandboxed;
pub mod suites;

pub use batch::SampleCache;
pub use compare::{ComparedItem, EvalComparison, EvalSampleView, MAX_COMPARED};
pub use endpoint::Endpoint;
pub use gateway_model::{GatewayModel, model_error};
pub use logs::{IMPORT_LIMIT, LogDownload};
pub use runs::{AccuracyView, EVAL_BATCH, EVAL_SANDBOX_BATCH, EvalResultView, EvalRunView, NewEvalRun};
pub use sandboxed::{SandboxPool, Sandboxed};
pub use suites::{Catalogue, SuiteView};

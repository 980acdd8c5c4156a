//! The evaluation engine's operations: the models a run can target (an OpenAI-compatible endpoint over HTTP for
//! reference models; the gateway's in-process call API for a notice's model comes with server-side runs), and the
//! sandbox each agentic sample runs in.

mod endpoint;
mod sandboxed;

pub use endpoint::Endpoint;
pub use sandboxed::Sandboxed;

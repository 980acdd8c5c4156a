//! The evaluation engine's operations: the models a run can target (an OpenAI-compatible endpoint over HTTP for
//! reference models; the gateway's in-process call API for a notice's model comes with server-side runs).

mod endpoint;

pub use endpoint::Endpoint;

//! The model access gateway's core: everything about relaying an evaluator's call to a developer's model that
//! does not depend on the HTTP server or the database.
//!
//! - `settings`: a model connection's validated settings (API style, base URL, limits, post-launch access,
//!   retention).
//! - `sealed`: the master key and XChaCha20-Poly1305 sealing of credentials and transcripts.
//! - `limits`: per-token requests and tokens per minute, and concurrency caps.
//! - `relay`: request and response rewriting, server-sent events, usage, stripping the upstream's identity.
//! - `upstream`: the HTTP client that calls the developer's API.
//! - `error`: refusals and failures in the OpenAI and Anthropic error shapes.
//!
//! # The path of a call, and what it costs
//! Authorisation (`app::gateway`) is answered from a short-lived in-process cache of the token's grant, so a
//! call normally touches the database only once: to record its usage. That record must survive a `kill -9`
//! once the evaluator has the response, so it is written *before the response completes*: a non-streamed
//! response is sent after its record is committed; a stream is relayed as it arrives, and only its last event
//! (`data: [DONE]`, or Anthropic's `message_stop`) waits for the commit. Records are written by one task in
//! batches (group commit): calls finishing together share one transaction, so the cost under load is one
//! commit per batch, paid at the end of each call and never before its first token. The trade-off: every call
//! ends at least one commit later than it could (on SQLite in WAL mode a commit is a write to the OS, not a
//! disk flush — it survives the process being killed, not the machine losing power); in return no usage
//! record can be lost to a crash once its response was delivered, and no separate journal needs replaying.
//!
//! Cross-style calls are refused, not translated: an OpenAI-style call to a model whose upstream speaks the
//! Anthropic messages API (or the reverse) gets a 400 `unsupported_api_style` naming the endpoint to use.

pub mod error;
pub mod limits;
pub mod relay;
pub mod sealed;
pub mod settings;
pub mod upstream;

pub use error::{ErrorType, GatewayError};
pub use limits::{Permit, RateLimiter, Refusal};
pub use relay::{CallRequest, Identity, Relayed, StreamRewriter, Usage};
pub use sealed::{MasterKey, SealError, SecretBox};
pub use settings::{ApiStyle, Limits, Retention};
pub use upstream::{Probe, Target, Upstream};

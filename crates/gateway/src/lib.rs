//! The model access gateway's core: everything about relaying an evaluator's call to a developer's model that
//! does not depend on the HTTP server or the database.
//!
//! - `settings`: a model connection's validated settings (API style, base URL, limits, post-launch access,
//!   retention).
//! - `sealed`: the master key and XChaCha20-Poly1305 sealing of credentials and transcripts.
//! - `limits`: requests and tokens per minute and calls in flight, per evaluator and per agency, shared by
//!   every server process through leases from budgets in the database.
//! - `relay`: request and response rewriting, usage, the limits on what an upstream may send.
//! - `sse`: server-sent events, parsed in linear time with a bound on each event.
//! - `scrub`: keeping the developer's secrets and the upstream's identity from evaluators.
//! - `transcode`: rewriting a whole JSON response in one pass, without building its tree.
//! - `upstream`: the HTTP client that calls the developer's API.
//! - `error`: refusals and failures in the OpenAI and Anthropic error shapes.
//!
//! # The path of a call, and what it costs
//! Authorisation (`app::gateway`) is answered from a short-lived in-process cache of the token's grant, so a
//! call normally does not touch the database at all. Its usage record must survive a `kill -9` once the
//! evaluator has the response, so it is written *before the response completes* — not to the database, but to
//! an append-only journal file in the data directory (`app::journal`): a non-streamed response is sent after
//! its record is appended; a stream is relayed as it arrives, and only its last event (`data: [DONE]`, or
//! Anthropic's `message_stop`) waits for the append. An append is one `write` to the kernel (microseconds) and
//! survives the process being killed, not the machine losing power. A background task copies the journal into
//! the database in batches, and the next start copies whatever a killed process left. The database's own
//! pauses (a SQLite checkpoint, a busy lock, a slow PostgreSQL) therefore never reach an answer; they only delay
//! when a call shows in the usage tables (a read of usage first waits for this process's records).
//!
//! Cross-style calls are refused, not translated: an OpenAI-style call to a model whose upstream speaks the
//! Anthropic messages API (or the reverse) gets a 400 `unsupported_api_style` naming the endpoint to use.

pub mod egress;
pub mod error;
pub mod limits;
pub mod relay;
pub mod scrub;
pub mod sealed;
pub mod settings;
pub mod sse;
mod transcode;
pub mod upstream;

pub use error::{ErrorType, GatewayError};
pub use limits::{Admission, Caps, Limiter, Permit, Refusal};
pub use relay::{CallRequest, Relayed, StreamRewriter, Usage};
pub use scrub::Scrubber;
pub use sealed::{MasterKey, SealError, SecretBox};
pub use settings::{AgencyLimits, ApiStyle, Limits, ResponseLimits, Retention};
pub use upstream::{Failure, Probe, StreamCheck, Target, Upstream};

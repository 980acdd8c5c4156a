//! What every domain shares (the review program, the model access gateway, and the clearinghouse and
//! evaluation engine to come): the error naming a caller's wrong field and the text checks behind each
//! domain's values (`validate`), ids (`id`), and who reads what (`audience`). It depends on no domain, so a
//! new domain's crate depends on this and not on another domain's.

pub mod audience;
pub mod id;
pub mod validate;

pub use audience::{Audience, EventReaders, TlpAudience};
pub use id::{new_id, parse_id};
pub use validate::ValidationError;

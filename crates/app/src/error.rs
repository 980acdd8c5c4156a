//! What an operation can answer besides success. The HTTP edge maps each kind to a status and a stable
//! problem type; nothing here knows about HTTP.

use review::ValidationError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credential was presented.
    #[error("authentication required")]
    Unauthenticated,
    /// The object does not exist or the caller may not know that it exists.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may see the object (or the collection) but not do this to it.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A field is wrong; the error names it.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request is well-formed but conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts; try again after the given number of seconds.
    #[error("too many failed attempts; try again in {0} seconds")]
    Throttled(i64),
    /// A rate limit is reached; the detail says which, and when to retry (also in seconds).
    #[error("{detail}")]
    Limited { retry_after: i64, detail: String },
    /// The server is at its bound for this kind of work (archive builds); the detail says which, and when to
    /// retry (also in seconds). Nothing was done.
    #[error("{detail}")]
    Busy { retry_after: i64, detail: String },
    /// A document the caller sent breaks rules of its format (a CSAF mandatory test, the OSV schema): each
    /// problem names its rule and the JSON pointer of the value at fault.
    #[error("{detail}")]
    Rejected {
        detail: String,
        problems: Vec<DocumentProblem>,
    },
    /// We failed. The cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One rule a document breaks: the rule (`6.1.1`, `osv`), the JSON pointer, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocumentProblem {
    pub rule: String,
    pub path: String,
    pub message: String,
}

impl AppError {
    /// Stored data that breaks an invariant we keep (a row its foreign key promises is missing, a value that
    /// does not read back): our failure, answered 500 with the cause logged, never a 404 or a 409 that would
    /// send the caller looking for their own mistake.
    pub fn corrupt(what: impl Into<String>) -> Self {
        AppError::Internal(what.into().into())
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
            // Another change got there first: the caller's view is out of date.
            StoreError::Stale(what) => {
                AppError::Conflict(format!("the {what} changed meanwhile; reload and retry"))
            }
            // A failed database, corrupt data: ours.
            other @ (StoreError::Corrupt(_)
            | StoreError::CorruptValue { .. }
            | StoreError::Url(_)
            | StoreError::Database(_)
            | StoreError::Migrate(_)) => AppError::Internal(Box::new(other)),
        }
    }
}

impl From<accounts::secret::HashError> for AppError {
    fn from(error: accounts::secret::HashError) -> Self {
        AppError::Internal(Box::new(error))
    }
}

impl From<review::window::DateError> for AppError {
    fn from(error: review::window::DateError) -> Self {
        use review::window::DateError;
        match error {
            DateError::LaunchInPast | DateError::LaunchTooFar { .. } => {
                AppError::Invalid(ValidationError::new("planned_launch_at", error.to_string()))
            }
            DateError::Withdrawn | DateError::AlreadyLaunched => AppError::Conflict(error.to_string()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

//! CVSS scoring as an operation: for callers that only need a score (`POST /api/v1/cvss`), and the one way
//! every path turns a vector into a `Score` with a problem named against the caller's field.

use crate::{App, AppResult, Caller};
use clearinghouse::cvss::{self, CvssError, Score};
use review::ValidationError;

/// Scores a vector; a malformed one is a mistake in `field`, with the reason the parser gives.
pub fn score_vector(field: &str, vector: &str) -> Result<Score, ValidationError> {
    cvss::score(vector).map_err(|CvssError::Invalid(reason)| ValidationError::new(field, reason))
}

impl App {
    /// Any signed-in member may score a vector (the scores are public knowledge, the API is for members);
    /// nothing is read or stored.
    pub fn score_cvss(&self, _caller: &Caller, vector: &str) -> AppResult<Score> {
        Ok(score_vector("vector", vector)?)
    }
}

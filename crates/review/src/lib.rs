//! The review program's rules, free of HTTP and SQL.
//!
//! A release notice is voluntary and advisory: nothing here can block, delay or approve a launch. The window
//! and the state of a notice are derived from dates and from the developer's own actions.

pub mod dates;
pub mod markdown;
pub mod validate;
pub mod window;

pub use validate::{
    AssessmentLevels, Domain, EvidenceLinks, FindingStatus, FindingText, ModelCard, ModelName, ModelVersion,
    ResponseText, RiskLevel, Severity, ValidationError,
};
pub use window::{
    DEFAULT_LAUNCH_HORIZON_DAYS, DEFAULT_WINDOW_DAYS, MAX_LAUNCH_HORIZON_DAYS, MAX_WINDOW_DAYS, NoticeDates,
    NoticeState, Window,
};

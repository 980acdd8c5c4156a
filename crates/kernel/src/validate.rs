//! Validated values every domain shares: the error that names a caller's wrong field, and the checks of
//! one-line and multi-line text that the domains' own value types build on.

/// A caller's mistake in one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks a single-line text: trimmed, non-empty, bounded, no control characters.
pub fn line(field: &str, value: &str, max_chars: usize) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Checks a multi-line text: bounded, no control characters other than line breaks and tabs.
pub fn text(field: &str, value: &str, max_bytes: usize, required: bool) -> Result<String, ValidationError> {
    if required && value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_bytes} bytes"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(value.replace("\r\n", "\n"))
}

/// A short title: one line, at most 300 characters.
pub fn title(field: &str, value: &str) -> Result<String, ValidationError> {
    line(field, value, 300)
}

/// An optional one-line reason, at most 1,000 characters; blank means none.
pub fn reason(field: &str, value: Option<&str>) -> Result<Option<String>, ValidationError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => line(field, value, 1000).map(Some),
    }
}

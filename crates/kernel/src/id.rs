//! Identifiers: every object's id is a UUID, version 7 (time-ordered, so ids sort by creation and keyset
//! pages by id are stable), given once when the object is made.

use crate::validate::ValidationError;
use uuid::Uuid;

/// A fresh id for a new object.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// An id as a caller gives it (in a path, a query or a form); a malformed one is the caller's mistake in
/// `field`, saying which object it should name (`what`, e.g. "an organisation").
pub fn parse_id(field: &str, value: &str, what: &str) -> Result<Uuid, ValidationError> {
    value
        .trim()
        .parse::<Uuid>()
        .map_err(|_| ValidationError::new(field, format!("must be the id of {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_or_name_the_field() {
        let id = new_id();
        let cases = [
            (id.to_string(), Some(id)),
            (format!(" {id} "), Some(id)),
            (id.simple().to_string(), Some(id)),
            (String::new(), None),
            ("42".into(), None),
            (format!("{id}x"), None),
        ];
        for (raw, expected) in cases {
            let parsed = parse_id("org_id", &raw, "an organisation");
            assert_eq!(parsed.as_ref().ok(), expected.as_ref(), "{raw:?}");
            if let Err(error) = parsed {
                assert_eq!(error.field, "org_id");
                assert_eq!(error.message, "must be the id of an organisation");
            }
        }
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let (a, b) = (new_id(), new_id());
        assert!(a < b);
        assert_eq!(a.get_version_num(), 7);
    }
}

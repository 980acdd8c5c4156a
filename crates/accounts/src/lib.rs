//! Organisations, people and their credentials.

pub mod password;
pub mod secret;

pub use password::check_new_password;
pub use secret::{PasswordHash, Secret, TokenDigest, TokenKind};

use kernel::ValidationError;
use serde::{Deserialize, Serialize};

/// The five kinds of organisation in the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// An AI lab that files release notices.
    Developer,
    /// A government evaluator.
    Agency,
    /// A software maintainer receiving vulnerability cases.
    Vendor,
    /// A critical-infrastructure operator or ISAC.
    Operator,
    /// The program's own staff.
    Clearinghouse,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] = [
        OrgKind::Developer,
        OrgKind::Agency,
        OrgKind::Vendor,
        OrgKind::Operator,
        OrgKind::Clearinghouse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Developer => "developer",
            OrgKind::Agency => "agency",
            OrgKind::Vendor => "vendor",
            OrgKind::Operator => "operator",
            OrgKind::Clearinghouse => "clearinghouse",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    "must be one of: developer, agency, vendor, operator, clearinghouse",
                )
            })
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgKind::Developer => "AI developer",
            OrgKind::Agency => "Evaluating agency",
            OrgKind::Vendor => "Software vendor",
            OrgKind::Operator => "Infrastructure operator",
            OrgKind::Clearinghouse => "Clearinghouse",
        }
    }
}

/// A stored value, read back (a value outside the set is corrupt data, not a default).
impl TryFrom<String> for OrgKind {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, ValidationError> {
        OrgKind::parse("kind", &value)
    }
}

/// A person's role inside their organisation. In the clearinghouse an `admin` is a program administrator and a
/// `member` a coordinator; in an agency a `member` is an evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        match value {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(ValidationError::new(field, "must be one of: admin, member")),
        }
    }

    /// What the role is called in an organisation of this kind.
    pub fn title(self, kind: OrgKind) -> &'static str {
        match (kind, self) {
            (OrgKind::Clearinghouse, Role::Admin) => "Administrator",
            (OrgKind::Clearinghouse, Role::Member) => "Coordinator",
            (OrgKind::Agency, Role::Member) => "Evaluator",
            (_, Role::Admin) => "Organisation admin",
            (_, Role::Member) => "Member",
        }
    }
}

/// A stored value, read back (a value outside the set is corrupt data, not a default).
impl TryFrom<String> for Role {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, ValidationError> {
        Role::parse("role", &value)
    }
}

/// A normalised e-mail address (trimmed, lower-cased, one `@`, bounded).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let value = value.trim().to_lowercase();
        let bad = || ValidationError::new(field, "must be an e-mail address like name@example.org");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad());
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organisation or person's display name.
pub fn display_name(field: &str, value: &str) -> Result<String, ValidationError> {
    kernel::validate::title(field, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let cases = [
            ("Ana@Lab.Example", Some("ana@lab.example")),
            (" bo@x.org ", Some("bo@x.org")),
            ("no-at.example", None),
            ("a@b", None),
            ("a@@b.org", None),
            ("@b.org", None),
            ("a b@c.org", None),
            ("a@.org", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Email::parse("email", input).ok().map(|e| e.0),
                expected.map(String::from),
                "{input}"
            );
        }
    }

    #[test]
    fn kinds_round_trip() {
        for kind in OrgKind::ALL {
            assert_eq!(OrgKind::parse("kind", kind.as_str()).unwrap(), kind);
        }
        assert_eq!(OrgKind::parse("kind", "bank").unwrap_err().field, "kind");
    }
}

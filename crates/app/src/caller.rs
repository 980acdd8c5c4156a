//! Who is acting: an authenticated person of an organisation, or the operator at the command line.

use accounts::{OrgKind, Role};
use store::{Organization, User};
use uuid::Uuid;

/// An authenticated, active person of an active organisation. `Debug` leaves the CSRF token out (and `User`'s
/// leaves the password hash out).
#[derive(Clone)]
pub struct Caller {
    pub user: User,
    pub org: Organization,
    pub kind: OrgKind,
    pub role: Role,
    /// Set for browser sessions: the token every form must echo.
    pub csrf_token: Option<String>,
    /// Set for browser sessions: the session's public id (its own is marked in the list of sessions).
    pub session_id: Option<Uuid>,
    /// For pages: how many notifications the person has not read (the header shows it).
    pub unread_notifications: Option<i64>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.user)
            .field("org", &self.org)
            .field("kind", &self.kind)
            .field("role", &self.role)
            .field("csrf_token", &self.csrf_token.as_ref().map(|_| store::REDACTED))
            .finish()
    }
}

impl Caller {
    pub fn from_rows(user: User, org: Organization) -> Option<Caller> {
        if !user.active || !org.active {
            return None;
        }
        let kind = org.kind;
        let role = user.role;
        Some(Caller {
            user,
            org,
            kind,
            role,
            csrf_token: None,
            session_id: None,
            unread_notifications: None,
        })
    }

    pub fn user_id(&self) -> Uuid {
        self.user.id
    }

    pub fn org_id(&self) -> Uuid {
        self.org.id
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn is(&self, kind: OrgKind) -> bool {
        self.kind == kind
    }
}

/// Whom the audit trail names for a change.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Person {
        user_id: Uuid,
        org_id: Uuid,
    },
    /// The operator, through `prelaunch admin …` or the first start.
    Operator,
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Self {
        Actor::Person {
            user_id: caller.user.id,
            org_id: caller.org.id,
        }
    }
}

impl Actor {
    pub fn user_id(self) -> Option<Uuid> {
        match self {
            Actor::Person { user_id, .. } => Some(user_id),
            Actor::Operator => None,
        }
    }

    pub fn org_id(self) -> Option<Uuid> {
        match self {
            Actor::Person { org_id, .. } => Some(org_id),
            Actor::Operator => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn secrets_never_print() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let org = Organization {
            id: Uuid::now_v7(),
            kind: OrgKind::Developer,
            name: "Frontier Lab".into(),
            active: true,
            created_at: at,
        };
        let user = User {
            id: Uuid::now_v7(),
            org_id: org.id,
            email: "ada@lab.example".into(),
            display_name: "Ada".into(),
            role: Role::Admin,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into()),
            active: true,
            created_at: at,
        };
        let mut caller = Caller::from_rows(user, org).unwrap();
        caller.csrf_token = Some("plc_thesessionsformtoken".into());
        let shown = format!("{caller:?} {caller:#?}");
        for secret in ["argon2", "aGFzaGhhc2hoYXNo", "plc_thesessionsformtoken"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("ada@lab.example"),
            "the rest still prints: {shown}"
        );
    }
}

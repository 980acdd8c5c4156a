//! Who is acting: an authenticated person of an organisation, or the operator at the command line.

use accounts::{OrgKind, Role};
use store::{Organization, User};
use uuid::Uuid;

/// An authenticated, active person of an active organisation.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub org: Organization,
    pub kind: OrgKind,
    pub role: Role,
    /// Set for browser sessions: the token every form must echo.
    pub csrf_token: Option<String>,
}

impl Caller {
    pub fn from_rows(user: User, org: Organization) -> Option<Caller> {
        if !user.active || !org.active {
            return None;
        }
        let kind = OrgKind::parse("kind", &org.kind).ok()?;
        let role = Role::parse("role", &user.role).ok()?;
        Some(Caller {
            user,
            org,
            kind,
            role,
            csrf_token: None,
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

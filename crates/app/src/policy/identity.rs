//! Who may see and manage the people of an organisation.

use super::is_program_admin;
use crate::caller::Caller;
use uuid::Uuid;

/// Managing the people of an organisation: its own admins, and program administrators.
pub fn can_manage_people(caller: &Caller, org_id: Uuid) -> bool {
    is_program_admin(caller) || (caller.is_admin() && caller.org_id() == org_id)
}

/// Changing a person's role: whoever manages their organisation's people, but not for themselves (so that
/// an organisation is never left without an admin by its last one).
pub fn can_change_role(caller: &Caller, org_id: Uuid, person: Uuid) -> bool {
    can_manage_people(caller, org_id) && caller.user_id() != person
}

/// Seeing the people of an organisation: anyone in it, and program administrators.
pub fn can_view_people(caller: &Caller, org_id: Uuid) -> bool {
    is_program_admin(caller) || caller.org_id() == org_id
}

/// Which organisation's people a listing may show: `None` means every organisation.
pub fn people_scope(caller: &Caller, requested: Option<Uuid>) -> Option<Option<Uuid>> {
    match requested {
        Some(org_id) if can_view_people(caller, org_id) => Some(Some(org_id)),
        Some(_) => None,
        None if is_program_admin(caller) => Some(None),
        None => Some(Some(caller.org_id())),
    }
}

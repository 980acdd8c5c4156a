//! Who may operate the shared platform: the job queue and an organisation's webhook endpoints.

use super::is_program_admin;
use crate::caller::Caller;
use uuid::Uuid;

/// Seeing the job queue and retrying failed jobs.
pub fn can_administer_jobs(caller: &Caller) -> bool {
    is_program_admin(caller)
}

/// Registering, seeing and changing an organisation's webhook endpoints and their delivery logs: its admins.
pub fn can_manage_webhooks(caller: &Caller, org_id: Uuid) -> bool {
    caller.is_admin() && caller.org_id() == org_id
}

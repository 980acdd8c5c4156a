//! Who may start, see and cancel evaluation runs. A run is its evaluator's work product: it is seen as their
//! findings are (the notice's developer and the evaluator's agency; `store::audience::work_visible!`).

use crate::caller::Caller;
use accounts::OrgKind;
use store::EvalRunRow;

/// Starting a run on a notice: an evaluator assigned to it, for themselves (the run's calls are theirs).
pub fn can_start_eval_run(caller: &Caller, is_assigned: bool) -> bool {
    caller.is(OrgKind::Agency) && is_assigned
}

/// Listing the server's suite catalogue: evaluation agencies' people (those who run evaluations).
pub fn can_list_eval_suites(caller: &Caller) -> bool {
    caller.is(OrgKind::Agency)
}

/// Cancelling a run: its evaluator, or an admin of their agency.
pub fn can_cancel_eval_run(caller: &Caller, run: &EvalRunRow) -> bool {
    can_cancel_eval_run_of(caller, run.org_id, run.user_id)
}

/// The same rule, given the run's agency and evaluator (what a page offering the button knows).
pub fn can_cancel_eval_run_of(caller: &Caller, org_id: uuid::Uuid, user_id: uuid::Uuid) -> bool {
    caller.is(OrgKind::Agency)
        && caller.org_id() == org_id
        && (caller.user_id() == user_id || caller.is_admin())
}

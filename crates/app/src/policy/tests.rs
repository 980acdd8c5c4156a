//! The policy as tables: for each action, which persona may take it.

use super::*;
use crate::caller::Caller;
use ::clearinghouse::tlp::Tlp;
use accounts::{OrgKind, Role};
use chrono::DateTime;
use store::{GatewayCall, GatewayToken, Notice, Organization, User};
use uuid::Uuid;

/// The organisations of the cast: two developers, two agencies, the clearinghouse, a vendor, an operator.
struct Orgs {
    lab: Uuid,
    other_lab: Uuid,
    agency: Uuid,
    other_agency: Uuid,
    clearinghouse: Uuid,
    vendor: Uuid,
    operator: Uuid,
}

const PERSONAS: [&str; 11] = [
    "dev admin",
    "dev member",
    "other dev",
    "agency admin",
    "evaluator",
    "other agency admin",
    "other evaluator",
    "program admin",
    "coordinator",
    "vendor",
    "operator",
];

fn caller(kind: OrgKind, org_id: Uuid, role: Role) -> Caller {
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let org = Organization {
        id: org_id,
        kind,
        name: "Org".into(),
        active: true,
        created_at: at,
    };
    let user = User {
        id: Uuid::now_v7(),
        org_id,
        email: "someone@org.example".into(),
        display_name: "Someone".into(),
        role,
        password_hash: None,
        active: true,
        created_at: at,
    };
    Caller::from_rows(user, org).unwrap()
}

fn cast() -> (Orgs, Vec<Caller>) {
    let orgs = Orgs {
        lab: Uuid::now_v7(),
        other_lab: Uuid::now_v7(),
        agency: Uuid::now_v7(),
        other_agency: Uuid::now_v7(),
        clearinghouse: Uuid::now_v7(),
        vendor: Uuid::now_v7(),
        operator: Uuid::now_v7(),
    };
    let callers = vec![
        caller(OrgKind::Developer, orgs.lab, Role::Admin),
        caller(OrgKind::Developer, orgs.lab, Role::Member),
        caller(OrgKind::Developer, orgs.other_lab, Role::Admin),
        caller(OrgKind::Agency, orgs.agency, Role::Admin),
        caller(OrgKind::Agency, orgs.agency, Role::Member),
        caller(OrgKind::Agency, orgs.other_agency, Role::Admin),
        caller(OrgKind::Agency, orgs.other_agency, Role::Member),
        caller(OrgKind::Clearinghouse, orgs.clearinghouse, Role::Admin),
        caller(OrgKind::Clearinghouse, orgs.clearinghouse, Role::Member),
        caller(OrgKind::Vendor, orgs.vendor, Role::Admin),
        caller(OrgKind::Operator, orgs.operator, Role::Admin),
    ];
    (orgs, callers)
}

fn notice(developer_org_id: Uuid) -> Notice {
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    Notice {
        id: Uuid::now_v7(),
        developer_org_id,
        developer_name: "Frontier Lab".into(),
        model_name: "Orion".into(),
        model_version: "1".into(),
        model_card: String::new(),
        planned_launch_at: at,
        filed_at: at,
        filed_by: None,
        window_days: 30,
        shared_with_all: false,
        launched_at: None,
        withdrawn_at: None,
        withdraw_reason: None,
        window_opens_at: at,
        window_closes_at: at,
    }
}

/// An action, how the policy decides it, and per persona of `PERSONAS` whether they may take it (1) or not
/// (0).
type Row<'a> = (&'a str, &'a dyn Fn(&Caller) -> bool, [u8; 11]);

/// Checks one table, naming the persona and the action of a wrong decision.
fn check(callers: &[Caller], table: &[Row<'_>]) {
    for (action, decide, expected) in table {
        for ((persona, caller), allowed) in PERSONAS.iter().zip(callers).zip(expected) {
            assert_eq!(decide(caller), *allowed == 1, "{persona} × {action}");
        }
    }
}

#[test]
fn who_may_act_on_the_review_program() {
    let (orgs, callers) = cast();
    let lab_notice = notice(orgs.lab);
    let agency = orgs.agency;
    #[rustfmt::skip]
    let table: &[Row<'_>] = &[
        //                                                       dev  dm  od  aa  ev  oa  oe  pa  co  ve  op
        ("receive notices", &receives_notices,                  [1,  1,  1,  1,  1,  1,  1,  0,  0,  0,  0]),
        ("file a notice", &can_file_notice,                     [1,  1,  1,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("manage the lab's notice", &|c| can_manage_notice(c, &lab_notice),
                                                                [1,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("edit the lab's notice", &|c| can_edit_notice(c, &lab_notice),
                                                                [1,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("assign evaluators", &can_assign,                      [0,  0,  0,  1,  0,  1,  0,  0,  0,  0,  0]),
        ("assign one of the agency", &|c| can_be_assigned(c, agency),
                                                                [0,  0,  0,  1,  0,  0,  0,  0,  0,  0,  0]),
        ("see the agency's assignment", &|c| can_view_assignment(c, &lab_notice, agency),
                                                                [1,  1,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("write findings, unassigned", &|c| can_write_agency_work(c, false),
                                                                [0,  0,  0,  1,  0,  1,  0,  0,  0,  0,  0]),
        ("write findings, assigned", &|c| can_write_agency_work(c, true),
                                                                [0,  0,  0,  1,  1,  1,  1,  0,  0,  0,  0]),
        ("read the program's counts", &can_read_program_counts, [0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
    ];
    check(&callers, table);
}

#[test]
fn each_role_has_its_dashboard() {
    use DashboardKind::{AgencyAdmin, Developer, Evaluator, Other, Program};
    let (_, callers) = cast();
    let expected = [
        Developer,
        Developer,
        Developer,
        AgencyAdmin,
        Evaluator,
        AgencyAdmin,
        Evaluator,
        Program,
        Other,
        Other,
        Other,
    ];
    for ((persona, caller), kind) in PERSONAS.iter().zip(&callers).zip(expected) {
        assert_eq!(dashboard_of(caller), kind, "{persona}");
    }
}

#[test]
fn who_may_administer_people_and_the_program() {
    let (orgs, callers) = cast();
    let (lab, agency) = (orgs.lab, orgs.agency);
    #[rustfmt::skip]
    let table: &[Row<'_>] = &[
        //                                                       dev  dm  od  aa  ev  oa  oe  pa  co  ve  op
        ("administer the program", &can_administer_program,     [0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("list the whole trail", &can_list_whole_trail,         [0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("manage the lab's people", &|c| can_manage_people(c, lab),
                                                                [1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("manage the agency's people", &|c| can_manage_people(c, agency),
                                                                [0,  0,  0,  1,  0,  0,  0,  1,  0,  0,  0]),
        ("change a lab member's role", &|c| can_change_role(c, lab, Uuid::nil()),
                                                                [1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("change their own role", &|c| can_change_role(c, c.org_id(), c.user_id()),
                                                                [0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("see the lab's people", &|c| can_view_people(c, lab),  [1,  1,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("list every organisation's people", &|c| people_scope(c, None) == Some(None),
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("list the lab's people", &|c| people_scope(c, Some(lab)).is_some(),
                                                                [1,  1,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("administer the job queue", &can_administer_jobs,      [0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
        ("manage the lab's webhooks", &|c| can_manage_webhooks(c, lab),
                                                                [1,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("manage the agency's webhooks", &|c| can_manage_webhooks(c, agency),
                                                                [0,  0,  0,  1,  0,  0,  0,  0,  0,  0,  0]),
    ];
    check(&callers, table);
}

#[test]
fn who_may_use_the_gateway() {
    let (orgs, callers) = cast();
    let lab_notice = notice(orgs.lab);
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    // The evaluator's token and call (the fifth persona).
    let evaluator = callers.get(4).unwrap();
    let token = GatewayToken {
        id: Uuid::now_v7(),
        notice_id: lab_notice.id,
        user_id: evaluator.user_id(),
        org_id: orgs.agency,
        name: "runs".into(),
        prefix: "plg_abcd".into(),
        created_at: at,
        expires_at: None,
        revoked_at: None,
    };
    let call = GatewayCall {
        id: Uuid::now_v7(),
        token_id: token.id,
        user_id: token.user_id,
        org_id: token.org_id,
        notice_id: lab_notice.id,
        connection_id: None,
        endpoint: "chat/completions".into(),
        model: "orion".into(),
        started_at: at,
        day: "2027-01-15".into(),
        status: 200,
        error_code: None,
        stream: false,
        input_tokens: None,
        output_tokens: None,
        latency_ms: 1.0,
        ttft_ms: None,
    };
    #[rustfmt::skip]
    let table: &[Row<'_>] = &[
        //                                                       dev  dm  od  aa  ev  oa  oe  pa  co  ve  op
        ("manage connections", &|c| can_manage_connections(c, &lab_notice),
                                                                [1,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("issue a token, assigned", &|c| can_issue_gateway_token(c, true),
                                                                [0,  0,  0,  1,  1,  1,  1,  0,  0,  0,  0]),
        ("issue a token, unassigned", &|c| can_issue_gateway_token(c, false),
                                                                [0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("revoke the evaluator's token", &|c| can_revoke_gateway_token(c, &token),
                                                                [0,  0,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("read the evaluator's transcript", &|c| can_read_transcript(c, &call),
                                                                [0,  0,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("have a part in the notice's gateway", &|c| gateway_scope(c, &lab_notice).is_some(),
                                                                [1,  1,  0,  1,  1,  1,  1,  0,  0,  0,  0]),
        ("list individual calls", &|c| gateway_scope(c, &lab_notice).is_some_and(can_list_gateway_calls),
                                                                [0,  0,  0,  1,  1,  1,  1,  0,  0,  0,  0]),
    ];
    check(&callers, table);
}

#[test]
fn each_persona_reads_as_its_side() {
    let (orgs, callers) = cast();
    // (persona, developer side, agency side, program admin, org admin)
    let expected = [
        (Some(orgs.lab), None, false, true),
        (Some(orgs.lab), None, false, false),
        (Some(orgs.other_lab), None, false, true),
        (None, Some(orgs.agency), false, true),
        (None, Some(orgs.agency), false, false),
        (None, Some(orgs.other_agency), false, true),
        (None, Some(orgs.other_agency), false, false),
        (None, None, true, true),
        (None, None, false, false),
        (None, None, false, true),
        (None, None, false, true),
    ];
    for ((persona, caller), (developer, agency, program_admin, org_admin)) in
        PERSONAS.iter().zip(&callers).zip(expected)
    {
        let a = audience(caller);
        assert_eq!(
            (a.developer_org, a.agency_org, a.program_admin, a.org_admin),
            (developer, agency, program_admin, org_admin),
            "{persona}"
        );
        assert_eq!(
            (a.user_id, a.org_id),
            (caller.user_id(), caller.org_id()),
            "{persona}"
        );
    }
}

#[test]
fn who_may_act_in_the_clearinghouse() {
    let (orgs, callers) = cast();
    let (vendor, lab) = (orgs.vendor, orgs.lab);
    #[rustfmt::skip]
    let table: &[Row<'_>] = &[
        //                                                       dev  dm  od  aa  ev  oa  oe  pa  co  ve  op
        ("coordinate cases", &can_coordinate_cases,             [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("state the vendor's status", &|c| can_state_vendor_status(c, vendor),
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  1,  1,  0]),
        ("state another vendor's status", &|c| can_state_vendor_status(c, Uuid::now_v7()),
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("discuss, not a participant", &|c| can_discuss_case(c, false),
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("discuss, a notified participant", &|c| can_discuss_case(c, true),
                                                                [1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1]),
        ("manage a vendor policy", &can_manage_vendor_policy,   [0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  0]),
        ("manage subscriptions", &can_manage_subscriptions,     [1,  0,  1,  1,  0,  1,  0,  1,  0,  1,  1]),
        ("read the metrics", &can_read_clearinghouse_metrics,   [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("post to the TLP:GREEN TAXII collection", &|c| can_write_taxii(Some(c), Tlp::Green),
                                                                [1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1]),
        ("post to the public TLP:CLEAR collection", &|c| can_write_taxii(Some(c), Tlp::Clear),
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("delete the lab's posted STIX object", &|c| can_delete_stix_object(c, lab),
                                                                [1,  1,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("define and change TAXII communities", &can_manage_taxii_communities,
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("read and post in the vendor's community", &|c| can_use_taxii_community(Some(c), &[vendor]),
                                                                [0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  0]),
        ("read and post in the vendor's and the lab's", &|c| can_use_taxii_community(Some(c), &[vendor, lab]),
                                                                [1,  1,  0,  0,  0,  0,  0,  0,  0,  1,  0]),
        ("read and post in a community of no one", &|c| can_use_taxii_community(Some(c), &[]),
                                                                [0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("define TAXII collections by a filter", &can_define_taxii_collections,
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0]),
    ];
    check(&callers, table);
    // The public is a member of no community.
    assert!(!can_use_taxii_community(None, &[vendor, lab, Uuid::nil()]));
}

#[test]
fn who_may_report_and_triage() {
    let (orgs, callers) = cast();
    let (agency, lab) = (orgs.agency, orgs.lab);
    // The reporter of the table's report: the lab's member (the second persona).
    let reporter = callers[1].user_id();
    #[rustfmt::skip]
    let table: &[Row<'_>] = &[
        //                                                       dev  dm  od  aa  ev  oa  oe  pa  co  ve  op
        ("file a report", &can_file_report,                     [1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1]),
        ("attach to the member's report", &|c| can_attach_to_report(c, reporter),
                                                                [0,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("forward the agency's finding", &|c| can_forward_finding(c, agency),
                                                                [0,  0,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("forward a finding of the lab's org id", &|c| can_forward_finding(c, lab),
                                                                [0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("triage, merge and split cases", &can_triage,          [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
        ("read as a coordinator", &|c| tlp_audience(Some(c)).coordinator,
                                                                [0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0]),
    ];
    check(&callers, table);
    assert_eq!(tlp_audience(None), store::TlpAudience::PUBLIC);
    for tlp in Tlp::ALL {
        assert!(!can_write_taxii(None, tlp), "the public posts to {tlp:?}");
    }
}

#[test]
fn who_may_move_a_finding_where() {
    use ::review::FindingStatus::{self, *};
    use FindingSide::*;
    let all = [Open, Acknowledged, Mitigated, Disputed, Closed];
    // (side, to) → the states it may come from; anything else is refused as `NotYours` when the side may
    // never set `to`, `NotFromHere` otherwise.
    let allowed = |side: FindingSide, from: FindingStatus, to: FindingStatus| -> Result<(), StatusRefusal> {
        let answers = [Acknowledged, Mitigated, Disputed].contains(&to);
        match side {
            Developer if answers => {
                if [Open, Acknowledged, Disputed].contains(&from) && from != to {
                    Ok(())
                } else {
                    Err(StatusRefusal::NotFromHere)
                }
            }
            Agency if !answers => {
                if from != to {
                    Ok(())
                } else {
                    Err(StatusRefusal::NotFromHere)
                }
            }
            _ => Err(StatusRefusal::NotYours),
        }
    };
    // The cases spelled out, so that a change to the rule is a change here.
    #[rustfmt::skip]
    let spelled = [
        (Developer, Open, Acknowledged, Ok(())),
        (Developer, Open, Mitigated, Ok(())),
        (Developer, Open, Disputed, Ok(())),
        (Developer, Disputed, Acknowledged, Ok(())),
        (Developer, Acknowledged, Mitigated, Ok(())),
        (Developer, Mitigated, Disputed, Err(StatusRefusal::NotFromHere)),
        (Developer, Closed, Acknowledged, Err(StatusRefusal::NotFromHere)),
        (Developer, Open, Open, Err(StatusRefusal::NotYours)),
        (Developer, Open, Closed, Err(StatusRefusal::NotYours)),
        (Agency, Open, Closed, Ok(())),
        (Agency, Mitigated, Closed, Ok(())),
        (Agency, Closed, Open, Ok(())),
        (Agency, Disputed, Open, Ok(())),
        (Agency, Closed, Closed, Err(StatusRefusal::NotFromHere)),
        (Agency, Open, Acknowledged, Err(StatusRefusal::NotYours)),
        (Neither, Open, Closed, Err(StatusRefusal::NotYours)),
        (Neither, Open, Acknowledged, Err(StatusRefusal::NotYours)),
    ];
    for (side, from, to, expected) in spelled {
        assert_eq!(
            finding_transition(side, from, to),
            expected,
            "{side:?} × {from:?} → {to:?}"
        );
    }
    for side in [Developer, Agency, Neither] {
        for from in all {
            for to in all {
                assert_eq!(
                    finding_transition(side, from, to),
                    allowed(side, from, to),
                    "{side:?} × {from:?} → {to:?}"
                );
            }
        }
    }
}

#[test]
fn who_stands_where_on_a_finding_and_what_they_may_do() {
    let (orgs, callers) = cast();
    let evaluator = callers.get(4).unwrap().user_id();
    let side = |c: &Caller| finding_side(c, orgs.lab, orgs.agency, evaluator);
    #[rustfmt::skip]
    let table: &[Row<'_>] = &[
        //                                                       dev  dm  od  aa  ev  oa  oe  pa  co  ve  op
        ("the developer's side", &|c| side(c) == FindingSide::Developer,
                                                                [1,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0]),
        ("the agency's side", &|c| side(c) == FindingSide::Agency,
                                                                [0,  0,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("respond", &|c| can_respond_to_finding(side(c)),      [1,  1,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("read responses", &|c| can_read_finding_responses(c, orgs.lab, orgs.agency),
                                                                [1,  1,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("share", &|c| can_share_finding(side(c)),             [0,  0,  0,  1,  1,  0,  0,  0,  0,  0,  0]),
        ("edit", &|c| can_edit_finding(c, evaluator),          [0,  0,  0,  0,  1,  0,  0,  0,  0,  0,  0]),
        ("publish the agency's draft", &|c| can_publish_assessment(c, orgs.agency),
                                                                [0,  0,  0,  1,  0,  0,  0,  0,  0,  0,  0]),
    ];
    check(&callers, table);
}

//! The objects the matrix's requests name, and which of them each attempt makes anew.

use super::*;

/// The objects a request names. `fresh` replaces some of them with new ones for each attempt, where an
/// allowed attempt would otherwise change what the next one sees.
#[derive(Clone, Copy)]
pub(super) struct Ids {
    /// The developer, Frontier Lab.
    pub(super) org: Uuid,
    /// A member of Frontier Lab.
    pub(super) person: Uuid,
    /// A token of the developer admin.
    pub(super) token: Uuid,
    /// Frontier Lab's notice, shared with the evaluator's agency alone; the evaluator is assigned.
    pub(super) notice: Uuid,
    /// The assigned evaluator, and a colleague who is not assigned.
    pub(super) assignee: Uuid,
    pub(super) candidate: Uuid,
    /// The evaluator's finding and assessment on `notice`.
    pub(super) finding: Uuid,
    pub(super) assessment: Uuid,
    /// Frontier Lab's notice shared with both agencies, and the evaluator's work on it: private to the
    /// evaluator's agency, or shared with the other agency.
    pub(super) broad: Uuid,
    /// The other agency's evaluator, assigned to `broad` by the other agency (who therefore may write there).
    pub(super) other_assignee: Uuid,
    pub(super) broad_finding_private: Uuid,
    pub(super) broad_finding_shared: Uuid,
    pub(super) broad_assessment_private: Uuid,
    pub(super) broad_assessment_shared: Uuid,
    /// Frontier Lab's notice in review, shared with both agencies; each agency has its evaluator assigned,
    /// holding a gateway token. It has an OpenAI-style connection (`orion-1.0`) and an Anthropic-style one.
    pub(super) gw: Uuid,
    /// The OpenAI-style connection of `gw`.
    pub(super) connection: Uuid,
    /// A gateway token of the evaluator on `gw`.
    pub(super) gw_token: Uuid,
    /// A call the evaluator made through `gw`, whose transcript is kept (as digests).
    pub(super) call: Uuid,
    /// The port of the scripted upstream the connections call.
    pub(super) upstream_port: u16,
    /// A webhook endpoint of Frontier Lab, registered by its admin.
    pub(super) webhook: Uuid,
    /// A federation peer registered by the coordinator.
    pub(super) peer: Uuid,
    /// A pending invitation into Frontier Lab, made by its admin.
    pub(super) invitation: Uuid,
    /// Audit events, for their receipts: the filing of `broad` (which names both agencies) and of `notice`
    /// (one agency), the evaluator's agency assigning them to `broad`, and the evaluator's work on `broad`.
    pub(super) file_broad_event: Uuid,
    pub(super) file_notice_event: Uuid,
    pub(super) assign_broad_event: Uuid,
    pub(super) finding_private_event: Uuid,
    pub(super) finding_shared_event: Uuid,
    pub(super) assessment_shared_event: Uuid,
    /// A failed job (only `Fresh::FailedJob` makes one).
    pub(super) job: Uuid,
    /// A notification of the evaluator's (their assignment to `notice`).
    pub(super) notification: Uuid,
    /// A TLP:AMBER case under embargo opened by the coordinator: the vendor notified, Frontier Lab its reporter
    /// (with `case_report`). `vendor_org` is the vendor's organisation.
    pub(super) case: Uuid,
    pub(super) case_report: Uuid,
    pub(super) vendor_org: Uuid,
    /// An organisation taking no part in `case` (the operator's).
    pub(super) observer_org: Uuid,
    /// The evaluator's agency.
    pub(super) agency: Uuid,
    /// The advisories of two published cases like `case`, marked TLP:CLEAR and TLP:AMBER.
    pub(super) advisory_clear: Uuid,
    pub(super) advisory_amber: Uuid,
    /// Their OSV ids (`x_PLA-<year>-<n>`): the year and number of each advisory's reference.
    pub(super) osv_clear: (i32, u32),
    pub(super) osv_amber: (i32, u32),
    /// A subscription of the operator's.
    pub(super) subscription: Uuid,
    /// A TLP:AMBER threat report of the developer member, and its attachment (TLP:AMBER).
    pub(super) report: Uuid,
    pub(super) attachment: Uuid,
    /// Two cases of the developer member's vulnerability reports (`Fresh::Cases`): `report_case` holds two
    /// reports (the second, `joined_report`, joined it), `other_report_case` one.
    pub(super) report_case: Uuid,
    pub(super) other_report_case: Uuid,
    pub(super) joined_report: Uuid,
    /// An evaluation run of the evaluator on `gw` (queued, or running against the scripted upstream).
    pub(super) eval_run: Uuid,
    /// A TAXII sharing community of the vendor and the operator, and a collection defined by a filter.
    pub(super) community: Uuid,
    pub(super) filter_collection: Uuid,
}

impl Ids {
    /// The same request's ids for a caller to whom nothing but what it can see exists: every id replaced by
    /// one of nothing, except the notices the caller can see (their existence is no secret to it).
    pub(super) async fn as_if_absent(&self, m: &Matrix<'_>, auth: &Auth) -> Ids {
        let mut ids = Ids::nonexistent();
        for (real, absent) in [
            (self.notice, &mut ids.notice),
            (self.broad, &mut ids.broad),
            (self.gw, &mut ids.gw),
        ] {
            let seen = m.send(&get(format!("/api/v1/notices/{real}")), auth).await;
            if seen.status == StatusCode::OK {
                *absent = real;
            }
        }
        // So are the cases and advisories it may read, and organisations.
        ids.vendor_org = self.vendor_org;
        ids.observer_org = self.observer_org;
        ids.agency = self.agency;
        // And the communities it is a member of.
        let community = format!("/api/v1/taxii/communities/{}", self.community);
        if m.send(&get(community), auth).await.status == StatusCode::OK {
            ids.community = self.community;
        }
        if m.send(&get(format!("/api/v1/cases/{}", self.case)), auth)
            .await
            .status
            == StatusCode::OK
        {
            ids.case = self.case;
            ids.case_report = self.case_report;
        }
        for ((real, absent), (osv, osv_absent)) in [
            (
                (self.advisory_clear, &mut ids.advisory_clear),
                (self.osv_clear, &mut ids.osv_clear),
            ),
            (
                (self.advisory_amber, &mut ids.advisory_amber),
                (self.osv_amber, &mut ids.osv_amber),
            ),
        ] {
            let seen = m.send(&get(format!("/api/v1/advisories/{real}")), auth).await;
            if seen.status == StatusCode::OK {
                *absent = real;
                *osv_absent = osv;
            }
        }
        ids
    }

    /// Ids of nothing at all.
    pub(super) fn nonexistent() -> Ids {
        let r = Uuid::new_v4;
        Ids {
            agency: r(),
            org: r(),
            person: r(),
            token: r(),
            notice: r(),
            assignee: r(),
            candidate: r(),
            finding: r(),
            assessment: r(),
            broad: r(),
            other_assignee: r(),
            broad_finding_private: r(),
            broad_finding_shared: r(),
            broad_assessment_private: r(),
            broad_assessment_shared: r(),
            gw: r(),
            connection: r(),
            gw_token: r(),
            call: r(),
            upstream_port: 9,
            webhook: r(),
            peer: r(),
            invitation: r(),
            file_broad_event: r(),
            file_notice_event: r(),
            assign_broad_event: r(),
            finding_private_event: r(),
            finding_shared_event: r(),
            assessment_shared_event: r(),
            job: r(),
            notification: r(),
            case: r(),
            case_report: r(),
            vendor_org: r(),
            observer_org: r(),
            advisory_clear: r(),
            advisory_amber: r(),
            osv_clear: (1999, 999_999),
            osv_amber: (1999, 999_998),
            subscription: r(),
            report: r(),
            attachment: r(),
            report_case: r(),
            other_report_case: r(),
            joined_report: r(),
            eval_run: r(),
            community: r(),
            filter_collection: r(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Fresh {
    Nothing,
    /// New notices of Frontier Lab as `notice` and `broad`, with their evaluators assigned.
    Notices,
    /// A new organisation.
    Org,
    /// A new member of Frontier Lab.
    Person,
    /// A new token of the developer admin.
    Token,
    /// A new connection of `gw`, made by the developer admin.
    Connection,
    /// A new gateway token of the evaluator on `gw`.
    GatewayToken,
    /// A new failed job.
    FailedJob,
    /// A new webhook endpoint of Frontier Lab.
    Webhook,
    /// A new federation peer.
    Peer,
    /// A new pending invitation into Frontier Lab.
    Invitation,
    /// A new case like `case` (for moves and participants).
    Case,
    /// A new subscription of the operator's.
    Subscription,
    /// A new finding of the evaluator on `notice` (to forward as a report).
    Finding,
    /// A new draft assessment of the evaluator on `notice`, as `assessment`.
    DraftAssessment,
    /// New cases of the developer member's reports, as `report_case`, `other_report_case` and `joined_report`.
    Cases,
    /// A new evaluation run of the evaluator on `gw`, long enough to be cancelled while it runs.
    EvalRun,
    /// A new TAXII collection defined by a filter.
    FilterCollection,
}

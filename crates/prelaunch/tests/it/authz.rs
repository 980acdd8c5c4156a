//! The role × endpoint authorisation matrix: every operation of the OpenAPI document (the API, the public
//! ledger and the model gateway) tried as every persona of every kind of organisation, and with every kind of
//! missing or dead credential, each cell asserting the exact outcome.
//!
//! The matrix is driven by the document: each row names the documented operation it tries (`METHOD
//! /base/path`), and `the_matrix_covers_every_documented_operation` fails when an operation of the served
//! document has no row, when a row names an operation the document lacks, when a row's request is not an
//! instance of the operation it names, or when a row lacks an outcome for a persona. A new route therefore
//! cannot be added (the OpenAPI tests require it to be documented) without its row here.
//!
//! `+` allowed (2xx), `2` 422 (allowed, but a field is wrong for this caller), `1` 401, `3` 403 (the caller may see the object but its role may not do this), `4`
//! 404 (the caller may not know the object exists); in the dead-credential column, `4/1` separates the public
//! (no credential, who reads TLP:CLEAR clearinghouse objects) from every other dead credential. Every 404 is also compared with the answer to the same
//! request where each id the caller cannot see is replaced by the id of nothing: the two must be identical,
//! or the difference would leak the object's existence. Under `/gateway/v1` each persona presents its gateway
//! token when it holds one and its API token otherwise (which the gateway must refuse), and the refusals are
//! in the model APIs' error shapes rather than RFC 9457.

use crate::support::*;
use crate::upstream::{CREDENTIAL, UPSTREAM_MODEL, Upstream};
use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt::Write;
use uuid::Uuid;

/// The personas, in the column order of every expectation below.
const CAST: [&str; 12] = [
    "PA", "CO", "DA", "DM", "OD", "AA", "EV", "E2", "OA", "OE", "VE", "OP",
];

fn cast(w: &World) -> [&Persona; 12] {
    [
        &w.program_admin,
        &w.coordinator,
        &w.dev_admin,
        &w.dev_member,
        &w.other_dev,
        &w.agency_admin,
        &w.evaluator,
        &w.evaluator2,
        &w.other_agency_admin,
        &w.other_evaluator,
        &w.vendor,
        &w.operator,
    ]
}

/// Credentials that must not get anyone in; the last expectation column of each row covers them all.
const DEAD: [&str; 8] = [
    "none",
    "unknown",
    "garbage",
    "basic",
    "revoked",
    "expired",
    "deact-user",
    "deact-org",
];

/// The `Authorization` header of a request, if any.
#[derive(Clone)]
enum Auth {
    Nothing,
    Header(String),
}

impl Auth {
    fn bearer(token: &str) -> Auth {
        Auth::Header(format!("Bearer {token}"))
    }
}

/// The objects a request names. `fresh` replaces some of them with new ones for each attempt, where an
/// allowed attempt would otherwise change what the next one sees.
#[derive(Clone, Copy)]
struct Ids {
    /// The developer, Frontier Lab.
    org: Uuid,
    /// A member of Frontier Lab.
    person: Uuid,
    /// A token of the developer admin.
    token: Uuid,
    /// Frontier Lab's notice, shared with the evaluator's agency alone; the evaluator is assigned.
    notice: Uuid,
    /// The assigned evaluator, and a colleague who is not assigned.
    assignee: Uuid,
    candidate: Uuid,
    /// The evaluator's finding and assessment on `notice`.
    finding: Uuid,
    assessment: Uuid,
    /// Frontier Lab's notice shared with both agencies, and the evaluator's work on it: private to the
    /// evaluator's agency, or shared with the other agency.
    broad: Uuid,
    /// The other agency's evaluator, assigned to `broad` by the other agency (who therefore may write there).
    other_assignee: Uuid,
    broad_finding_private: Uuid,
    broad_finding_shared: Uuid,
    broad_assessment_private: Uuid,
    broad_assessment_shared: Uuid,
    /// Frontier Lab's notice in review, shared with both agencies; each agency has its evaluator assigned,
    /// holding a gateway token. It has an OpenAI-style connection (`orion-1.0`) and an Anthropic-style one.
    gw: Uuid,
    /// The OpenAI-style connection of `gw`.
    connection: Uuid,
    /// A gateway token of the evaluator on `gw`.
    gw_token: Uuid,
    /// A call the evaluator made through `gw`, whose transcript is kept (as digests).
    call: Uuid,
    /// The port of the scripted upstream the connections call.
    upstream_port: u16,
    /// A webhook endpoint of Frontier Lab, registered by its admin.
    webhook: Uuid,
    /// A federation peer registered by the coordinator.
    peer: Uuid,
    /// A pending invitation into Frontier Lab, made by its admin.
    invitation: Uuid,
    /// Audit events, for their receipts: the filing of `broad` (which names both agencies) and of `notice`
    /// (one agency), the evaluator's agency assigning them to `broad`, and the evaluator's work on `broad`.
    file_broad_event: Uuid,
    file_notice_event: Uuid,
    assign_broad_event: Uuid,
    finding_private_event: Uuid,
    finding_shared_event: Uuid,
    assessment_shared_event: Uuid,
    /// A failed job (only `Fresh::FailedJob` makes one).
    job: Uuid,
    /// A notification of the evaluator's (their assignment to `notice`).
    notification: Uuid,
    /// A TLP:AMBER case under embargo opened by the coordinator: the vendor notified, Frontier Lab its reporter
    /// (with `case_report`). `vendor_org` is the vendor's organisation.
    case: Uuid,
    case_report: Uuid,
    vendor_org: Uuid,
    /// An organisation taking no part in `case` (the operator's).
    observer_org: Uuid,
    /// The evaluator's agency.
    agency: Uuid,
    /// The advisories of two published cases like `case`, marked TLP:CLEAR and TLP:AMBER.
    advisory_clear: Uuid,
    advisory_amber: Uuid,
    /// Their OSV ids (`x_PLA-<year>-<n>`): the year and number of each advisory's reference.
    osv_clear: (i32, u32),
    osv_amber: (i32, u32),
    /// A subscription of the operator's.
    subscription: Uuid,
    /// A TLP:AMBER threat report of the developer member, and its attachment (TLP:AMBER).
    report: Uuid,
    attachment: Uuid,
    /// Two cases of the developer member's vulnerability reports (`Fresh::Cases`): `report_case` holds two
    /// reports (the second, `joined_report`, joined it), `other_report_case` one.
    report_case: Uuid,
    other_report_case: Uuid,
    joined_report: Uuid,
    /// An evaluation run of the evaluator on `gw` (queued, or running against the scripted upstream).
    eval_run: Uuid,
    /// A TAXII sharing community of the vendor and the operator, and a collection defined by a filter.
    community: Uuid,
    filter_collection: Uuid,
}

impl Ids {
    /// The same request's ids for a caller to whom nothing but what it can see exists: every id replaced by
    /// one of nothing, except the notices the caller can see (their existence is no secret to it).
    async fn as_if_absent(&self, m: &Matrix<'_>, auth: &Auth) -> Ids {
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
    fn nonexistent() -> Ids {
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
enum Fresh {
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

struct Req {
    method: Method,
    path: String,
    body: Option<Value>,
}

/// A body that stands for a small Inspect `.eval` log, sent as the zip it is.
const EVAL_LOG: &str = "(an Inspect .eval log)";

fn get(path: String) -> Req {
    Req {
        method: Method::GET,
        path,
        body: None,
    }
}

fn send(method: Method, path: String, body: Value) -> Req {
    Req {
        method,
        path,
        body: Some(body),
    }
}

fn delete(path: String) -> Req {
    Req {
        method: Method::DELETE,
        path,
        body: None,
    }
}

/// The settings of a connection to the scripted upstream, named `model`.
fn connection_body(ids: &Ids, model: &str) -> Value {
    json!({
        "model": model, "api_style": "openai",
        "base_url": format!("http://127.0.0.1:{}/v1", ids.upstream_port),
        "upstream_model": UPSTREAM_MODEL, "credential": CREDENTIAL, "requests_per_minute": 1000,
    })
}

/// A run of the evaluator's on the notice `gw` over the example suite `knowledge`, `epochs` times.
async fn eval_run(t: &TestApp, w: &World, gw: Uuid, epochs: u32) -> Uuid {
    let body = json!({"notice_id": gw, "model": "orion-1.0", "suite": "knowledge", "epochs": epochs});
    id_of(t.post(&w.evaluator, "/api/v1/eval-runs", body).await.ok())
}

/// A case opened by the coordinator with the vendor, a report of Frontier Lab's, triaged and its vendors
/// notified: (case, report).
async fn notified_case(t: &TestApp, w: &World, tlp: &str) -> (Uuid, Uuid) {
    let body =
        json!({"title": "Overflow", "summary": "A long header.", "tlp": tlp, "vendors": [w.vendor.org_id]});
    let case = id_of(t.post(&w.coordinator, "/api/v1/cases", body).await.ok());
    let report = crate::cases::Report::new(case, &w.dev_admin, t.clock_now());
    let report = crate::cases::file_report(t, &report).await;
    for to in ["triaged", "vendors_notified"] {
        let path = format!("/api/v1/cases/{case}/transition");
        t.post(&w.coordinator, &path, json!({"to": to})).await.ok();
    }
    (case, report)
}

/// A case like `notified_case`, published: its advisory.
async fn advisory_of(t: &TestApp, w: &World, tlp: &str) -> Uuid {
    let (case, _) = notified_case(t, w, tlp).await;
    let path = format!("/api/v1/cases/{case}/transition");
    t.post(&w.coordinator, &path, json!({"to": "published"}))
        .await
        .ok();
    let list = t.get(&w.coordinator, "/api/v1/advisories?limit=200").await;
    let items = list.ok()["items"].as_array().unwrap().clone();
    id_of(items.iter().find(|a| a["case_id"] == json!(case)).unwrap())
}

/// The year and number of an advisory's reference (`PLA-<year>-<n>`), as the coordinator reads it.
async fn osv_of(t: &TestApp, w: &World, advisory: Uuid) -> (i32, u32) {
    let read = t
        .get(&w.coordinator, &format!("/api/v1/advisories/{advisory}"))
        .await;
    let reference = read.ok()["reference"].as_str().unwrap().to_owned();
    let mut parts = reference.split('-').skip(1);
    (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().parse().unwrap(),
    )
}

/// A webhook endpoint's registration; `n` keeps descriptions apart.
fn webhook_body(n: usize) -> Value {
    json!({"url": "https://hooks.example.com/in", "events": ["notice.shared"], "description": format!("hook {n}")})
}

fn peer_body(n: usize) -> Value {
    json!({
        "name": format!("peer {n}"), "api_root": "https://peer.example/taxii2/api/",
        "collection_id": Uuid::from_u128(7), "token": "tok", "tlp": "green", "interval_seconds": 3600,
    })
}

fn finding_body(shared_with: &[Uuid]) -> Value {
    json!({
        "title": "Finding", "domain": "cyber_offense", "severity": "low",
        "description": "Observed.", "shared_with": shared_with,
    })
}

fn assessment_body() -> Value {
    json!({"levels": {"cyber_offense": "low"}, "rationale": "Limited uplift."})
}

struct Row {
    /// The documented operation this row tries: `METHOD /base/path`, as the OpenAPI document writes the path
    /// under its server.
    op: &'static str,
    /// What sets this row apart from the operation's other rows ("" for none).
    case: &'static str,
    fresh: Fresh,
    /// The request for one attempt; `n` is unique per attempt, for names that must not repeat.
    request: fn(&Ids, usize) -> Req,
    /// One outcome per persona in `CAST`, then one for every credential in `DEAD`.
    expect: &'static str,
}

impl Row {
    fn label(&self) -> String {
        match self.case {
            "" => self.op.to_owned(),
            case => format!("{} ({case})", self.op),
        }
    }
}

fn rows() -> Vec<Row> {
    vec![
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/openapi.json",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/openapi.json".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
        Row {
            op: "GET /api/v1/me",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/me".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/organizations",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/organizations".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/organizations",
            case: "kind=agency",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/organizations?kind=agency".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/organizations",
            case: "unknown kind",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/organizations?kind=lab".into()),
            expect: "2  2  2  2  2  2  2  2  2  2  2  2  1",
        },
        Row {
            op: "POST /api/v1/organizations",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/organizations".into(),
                    json!({"kind": "vendor", "name": format!("Vendor {n}")}),
                )
            },
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/organizations/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/organizations/{}", ids.org)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "PATCH /api/v1/organizations/{id}",
            case: "",
            fresh: Fresh::Org,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/organizations/{}", ids.org),
                    json!({"active": false}),
                )
            },
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/users",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/users".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/users",
            case: "?org_id= the developer",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/users?org_id={}", ids.org)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/users/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/users/{}", ids.person)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/users/{id}",
            case: "",
            fresh: Fresh::Person,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/users/{}", ids.person),
                    json!({"active": false}),
                )
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/invitations",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    "/api/v1/invitations".into(),
                    json!({"org_id": ids.org, "email": format!("new{n}@lab.example")}),
                )
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        // Managed invitations: the organisation's admins (and program administrators).
        Row {
            op: "GET /api/v1/organizations/{id}/invitations",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/organizations/{}/invitations", ids.org)),
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/invitations/{id}",
            case: "",
            fresh: Fresh::Invitation,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/invitations/{}", ids.invitation),
                body: None,
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/invitations/{id}/resend",
            case: "",
            fresh: Fresh::Invitation,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/invitations/{}/resend", ids.invitation),
                    json!({}),
                )
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        // A person's own account: the personas sign in with API tokens and have no password to give.
        Row {
            op: "PUT /api/v1/me/password",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::PUT,
                    "/api/v1/me/password".into(),
                    json!({"current_password": "not it", "new_password": "a long and unguessable passphrase"}),
                )
            },
            expect: "2  2  2  2  2  2  2  2  2  2  2  2  1",
        },
        Row {
            op: "GET /api/v1/sessions",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/sessions".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "DELETE /api/v1/sessions/{id}",
            case: "no session of theirs",
            fresh: Fresh::Nothing,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/sessions/{}", ids.person),
                body: None,
            },
            expect: "4  4  4  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/sessions/end-others",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| send(Method::POST, "/api/v1/sessions/end-others".into(), json!({})),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/tokens".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/tokens".into(),
                    json!({"name": format!("script {n}"), "expires_in_days": 30}),
                )
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "DELETE /api/v1/tokens/{id}",
            case: "the developer admin's",
            fresh: Fresh::Token,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/tokens/{}", ids.token),
                body: None,
            },
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        // Webhooks: an organisation's admins manage its own; members may not (403), and another organisation's
        // endpoint reads as absent.
        Row {
            op: "GET /api/v1/webhooks",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/webhooks".into()),
            expect: "+  3  +  3  +  +  3  3  +  3  +  +  1",
        },
        Row {
            op: "POST /api/v1/webhooks",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| send(Method::POST, "/api/v1/webhooks".into(), webhook_body(n)),
            expect: "+  3  +  3  +  +  3  3  +  3  +  +  1",
        },
        Row {
            op: "GET /api/v1/webhooks/{id}",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/webhooks/{}", ids.webhook)),
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/webhooks/{id}",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/webhooks/{}", ids.webhook),
                    json!({"description": "checked"}),
                )
            },
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/webhooks/{id}",
            case: "Frontier Lab's",
            fresh: Fresh::Webhook,
            request: |ids, _| delete(format!("/api/v1/webhooks/{}", ids.webhook)),
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/webhooks/{id}/deliveries",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/webhooks/{}/deliveries", ids.webhook)),
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/webhooks/{id}/test",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/webhooks/{}/test", ids.webhook),
                body: None,
            },
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/policy",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/policy".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "PUT /api/v1/policy",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| send(Method::PUT, "/api/v1/policy".into(), json!({"window_days": 30})),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/notifications",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notifications?unread=true".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/notifications/unread-count",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notifications/unread-count".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/notifications/read-all",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| send(Method::POST, "/api/v1/notifications/read-all".into(), json!({})),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/notifications/preferences",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notifications/preferences".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "PUT /api/v1/notifications/preferences",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::PUT,
                    "/api/v1/notifications/preferences".into(),
                    json!({"email_kinds": ["notice.shared"], "email_delivery": "digest"}),
                )
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/cvss",
            case: "any member",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::POST,
                    "/api/v1/cvss".into(),
                    json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}),
                )
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/notifications/{id}/read",
            case: "the evaluator's",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notifications/{}/read", ids.notification),
                    json!({}),
                )
            },
            expect: "4  4  4  4  4  4  +  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notices".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/notices",
            case: "",
            fresh: Fresh::Nothing,
            // A new version each attempt: filing one already filed asks for confirmation (409).
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/notices".into(),
                    json!({
                        "model_name": "Vega", "model_version": format!("1.{n}"),
                        "planned_launch_at": "2027-06-01T00:00:00Z",
                        "shared_with_all": true,
                    }),
                )
            },
            expect: "3  3  +  +  +  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "PATCH /api/v1/notices/{id}",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, n| {
                send(
                    Method::PATCH,
                    format!("/api/v1/notices/{}", ids.notice),
                    json!({"model_card": format!("# Orion\nEdit {n}."), "model_version": format!("1.{n}")}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/notices/{id}",
            case: "narrowing the sharing of a notice both agencies see",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/notices/{}", ids.broad),
                    json!({"shared_with": [ids.agency]}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}",
            case: "shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}", ids.broad)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/history",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/history", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "PUT /api/v1/notices/{id}/launch",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::PUT,
                    format!("/api/v1/notices/{}/launch", ids.notice),
                    json!({"planned_launch_at": "2027-08-01T00:00:00Z", "reason": "later"}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/launch",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/launch", ids.notice),
                    Value::Null,
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/withdraw",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/withdraw", ids.notice),
                    json!({"reason": "cancelled"}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/assignments",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/assignments", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/assignments",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/assignments", ids.notice),
                    json!({"user_id": ids.candidate}),
                )
            },
            expect: "4  4  3  3  4  +  3  3  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/assignments/{user_id}",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/notices/{}/assignments/{}", ids.notice, ids.assignee),
                body: None,
            },
            expect: "4  4  3  3  4  +  3  3  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/assignments/{user_id}",
            case: "the other agency's",
            fresh: Fresh::Notices,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/notices/{}/assignments/{}", ids.broad, ids.other_assignee),
                body: None,
            },
            expect: "4  4  3  3  4  4  4  4  +  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/findings",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/findings", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/findings",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/findings", ids.notice),
                    finding_body(&[]),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/findings",
            case: "shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/findings", ids.broad),
                    finding_body(&[]),
                )
            },
            expect: "4  4  3  3  4  +  +  3  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/assessments",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/assessments", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/assessments",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/assessments", ids.notice),
                    assessment_body(),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/assessments",
            case: "shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/assessments", ids.broad),
                    assessment_body(),
                )
            },
            expect: "4  4  3  3  4  +  +  3  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.finding)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}",
            case: "broad notice, not shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.broad_finding_private)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}",
            case: "broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.broad_finding_shared)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.assessment)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "broad notice, not shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.broad_assessment_private)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.broad_assessment_shared)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        // A finding's life (`ids.finding`, the evaluator's on `notice`): the developer answers (acknowledges,
        // mitigates, disputes), the finding's agency (its author or admin) closes and reopens; both sides write
        // the thread and the agency's people read it; the agency shares; the author alone edits. A draft
        // assessment is its agency's alone until the agency's admin publishes it.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "POST /api/v1/findings/{id}/status",
            case: "acknowledged",
            fresh: Fresh::Finding,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/status", ids.finding),
                    json!({"status": "acknowledged"}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/findings/{id}/status",
            case: "closed",
            fresh: Fresh::Finding,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/status", ids.finding),
                    json!({"status": "closed"}),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/findings/{id}/responses",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/responses", ids.finding),
                    json!({"body": format!("Response {n}.")}),
                )
            },
            expect: "4  4  +  +  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}/responses",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}/responses", ids.finding)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/findings/{id}/share",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/share", ids.finding),
                    json!({"shared_with": [ids.agency]}),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/findings/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::PATCH,
                    format!("/api/v1/findings/{}", ids.finding),
                    json!({"title": format!("Finding, edit {n}")}),
                )
            },
            expect: "4  4  3  3  4  3  +  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}/history",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}/history", ids.finding)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/assessments/{id}/publish",
            case: "a draft",
            fresh: Fresh::DraftAssessment,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/assessments/{}/publish", ids.assessment),
                body: None,
            },
            expect: "4  4  4  4  4  +  3  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "a draft",
            fresh: Fresh::DraftAssessment,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.assessment)),
            expect: "4  4  4  4  4  +  +  +  4  4  4  4  1",
        },
        // The model access gateway's resources under a notice, on `gw`: connections are the developer's
        // alone (agencies that see the notice get 403); tokens, usage and calls are seen by scope.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/notices/{id}/connections",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/connections", ids.gw)),
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/connections",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/connections", ids.gw),
                    connection_body(ids, &format!("extra-{n}")),
                )
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/connections/{connection}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/notices/{}/connections/{}",
                    ids.gw, ids.connection
                ))
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "PUT /api/v1/notices/{id}/connections/{connection}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::PUT,
                    format!("/api/v1/notices/{}/connections/{}", ids.gw, ids.connection),
                    connection_body(ids, "orion-1.0"),
                )
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/connections/{connection}",
            case: "",
            fresh: Fresh::Connection,
            request: |ids, _| {
                delete(format!(
                    "/api/v1/notices/{}/connections/{}",
                    ids.gw, ids.connection
                ))
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/connections/{connection}/test",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/notices/{}/connections/{}/test", ids.gw, ids.connection),
                body: None,
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/gateway-tokens", ids.gw)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/gateway-tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/gateway-tokens", ids.gw),
                    json!({"name": format!("laptop {n}")}),
                )
            },
            expect: "4  4  3  3  4  3  +  3  3  +  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/gateway-tokens/{token}",
            case: "the evaluator's",
            fresh: Fresh::GatewayToken,
            request: |ids, _| {
                delete(format!(
                    "/api/v1/notices/{}/gateway-tokens/{}",
                    ids.gw, ids.gw_token
                ))
            },
            expect: "4  4  3  3  4  +  +  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-usage",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/gateway-usage", ids.gw)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-calls",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/gateway-calls", ids.gw)),
            expect: "4  4  3  3  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-calls/{call}/transcript",
            case: "the evaluator's call",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/notices/{}/gateway-calls/{}/transcript",
                    ids.gw, ids.call
                ))
            },
            expect: "4  4  4  4  4  +  +  4  4  4  4  4  1",
        },
        // The gateway itself: only a gateway token reaches it (EV and OE hold one for `gw`); an API token, of
        // any role, is refused like no credential.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /gateway/v1/models",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/gateway/v1/models".into()),
            expect: "1  1  1  1  1  1  +  1  1  +  1  1  1",
        },
        Row {
            op: "POST /gateway/v1/chat/completions",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::POST,
                    "/gateway/v1/chat/completions".into(),
                    json!({"model": "orion-1.0", "messages": [{"role": "user", "content": "hi"}]}),
                )
            },
            expect: "1  1  1  1  1  1  +  1  1  +  1  1  1",
        },
        Row {
            op: "POST /gateway/v1/messages",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::POST,
                    "/gateway/v1/messages".into(),
                    json!({"model": "orion-claude", "max_tokens": 10,
                           "messages": [{"role": "user", "content": "hi"}]}),
                )
            },
            expect: "1  1  1  1  1  1  +  1  1  +  1  1  1",
        },
        // The audit trail and the ledger. The whole trail is the program administrators'; anyone may list an
        // object's events, of which they are shown those they may see (`visibility` checks which). A receipt
        // carries its event, so it is given only to a caller who may see every fact in the event: program
        // administrators see all, the developer its own notices' events, an agency its own work and what was
        // shared with it, never who else received a notice (a filing naming it alone it may see).
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/audit",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/audit".into()),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/audit",
            case: "?object_id= a notice: its events the caller may see",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit?object_id={}", ids.broad)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        // Evaluation runs: started by an assigned evaluator, seen as their findings are (the developer, their
        // agency), cancelled by the evaluator or their agency's admins.
        Row {
            op: "GET /api/v1/eval-runs",
            case: "?notice_id= a notice's runs",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs?notice_id={}", ids.gw)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "POST /api/v1/eval-runs",
            case: "an example suite",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    "/api/v1/eval-runs".into(),
                    json!({"notice_id": ids.gw, "model": "orion-1.0", "suite": "knowledge", "limit": 1}),
                )
            },
            expect: "4  4  3  3  4  3  +  3  3  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}",
            case: "the evaluator's run",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{}", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}/results",
            case: "the evaluator's run",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{}/results", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}/compare/{other}",
            case: "the evaluator's run with itself",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{0}/compare/{0}", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/eval-runs/{id}/cancel",
            case: "the evaluator's run",
            fresh: Fresh::EvalRun,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/eval-runs/{}/cancel", ids.eval_run),
                body: None,
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        // The suite catalogue: evaluation agencies' people.
        Row {
            op: "GET /api/v1/eval-suites",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/eval-suites".into()),
            expect: "3  3  3  3  3  +  +  +  +  +  3  3  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}/log",
            case: "the evaluator's run, as an Inspect log",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{}/log?format=inspect", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/eval-runs/import",
            case: "an Inspect log, by the notice's assigned evaluators",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/eval-runs/import", ids.gw),
                    json!(EVAL_LOG),
                )
            },
            expect: "4  4  3  3  4  3  +  3  3  +  4  4  1",
        },
        // The job queue: program administrators only.
        Row {
            op: "GET /api/v1/jobs",
            case: "?state=failed",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/jobs?state=failed".into()),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "POST /api/v1/jobs/{id}/retry",
            case: "a failed job",
            fresh: Fresh::FailedJob,
            request: |ids, _| send(Method::POST, format!("/api/v1/jobs/{}/retry", ids.job), json!({})),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "notice.file, shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.file_broad_event)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "notice.file, shared with one agency",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.file_notice_event)),
            expect: "+  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "assignment.create by an agency, broad notice",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.assign_broad_event)),
            expect: "+  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "finding.file, broad notice, not shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.finding_private_event)),
            expect: "+  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "finding.file, broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.finding_shared_event)),
            expect: "+  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "assessment.publish, broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.assessment_shared_event)),
            expect: "+  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "POST /api/v1/ledger/checkpoints",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| Req {
                method: Method::POST,
                path: "/api/v1/ledger/checkpoints".into(),
                body: None,
            },
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        // The clearinghouse. A case is read under TLP and embargo: coordinators (program administrators among
        // them) and its notified participants (the vendor, Frontier Lab as reporter); coordinators act on it,
        // the vendor states its status, participants discuss. Advisories are public reads.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/cases",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/cases".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/cases",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| {
                let body = json!({"title": format!("Case {n}"), "summary": "s", "tlp": "amber"});
                send(Method::POST, "/api/v1/cases".into(), body)
            },
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/cases/{id}",
            case: "TLP:AMBER, under embargo",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/cases/{}", ids.case)),
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  1",
        },
        Row {
            op: "POST /api/v1/cases/{id}/transition",
            case: "to fix in progress",
            fresh: Fresh::Case,
            request: |ids, _| {
                let path = format!("/api/v1/cases/{}/transition", ids.case);
                send(Method::POST, path, json!({"to": "fix_in_progress"}))
            },
            expect: "+  +  3  3  4  4  4  4  4  4  3  4  1",
        },
        Row {
            op: "POST /api/v1/cases/{id}/participants",
            case: "an observer",
            fresh: Fresh::Case,
            request: |ids, _| {
                let path = format!("/api/v1/cases/{}/participants", ids.case);
                send(
                    Method::POST,
                    path,
                    json!({"org_id": ids.observer_org, "role": "observer"}),
                )
            },
            expect: "+  +  3  3  4  4  4  4  4  4  3  4  1",
        },
        Row {
            op: "DELETE /api/v1/cases/{id}/participants/{org_id}",
            case: "the vendor",
            fresh: Fresh::Case,
            request: |ids, _| {
                delete(format!(
                    "/api/v1/cases/{}/participants/{}",
                    ids.case, ids.vendor_org
                ))
            },
            expect: "+  +  3  3  4  4  4  4  4  4  3  4  1",
        },
        Row {
            op: "PUT /api/v1/cases/{id}/vendors/{org_id}/status",
            case: "the vendor's",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                let path = format!("/api/v1/cases/{}/vendors/{}/status", ids.case, ids.vendor_org);
                let body = json!({"report_id": ids.case_report, "status": "fixed", "statement": "Fixed."});
                send(Method::PUT, path, body)
            },
            expect: "+  +  3  3  4  4  4  4  4  4  +  4  1",
        },
        Row {
            op: "GET /api/v1/cases/{id}/posts",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/cases/{}/posts", ids.case)),
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  1",
        },
        Row {
            op: "POST /api/v1/cases/{id}/posts",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                let path = format!("/api/v1/cases/{}/posts", ids.case);
                send(Method::POST, path, json!({"body": format!("post {n}")}))
            },
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  1",
        },
        Row {
            op: "PUT /api/v1/cases/{id}/embargo",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                let at = epoch() + chrono::Duration::days(100) + chrono::Duration::minutes(n as i64);
                let body = json!({"embargo_ends_at": at.to_rfc3339(), "reason": "the vendor asked"});
                send(Method::PUT, format!("/api/v1/cases/{}/embargo", ids.case), body)
            },
            expect: "+  +  3  3  4  4  4  4  4  4  3  4  1",
        },
        Row {
            op: "PUT /api/v1/cases/{id}/cve",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                let body = json!({"cve": format!("CVE-2026-{}", 70_000 + n)});
                send(Method::PUT, format!("/api/v1/cases/{}/cve", ids.case), body)
            },
            expect: "+  +  3  3  4  4  4  4  4  4  3  4  1",
        },
        Row {
            op: "GET /api/v1/vendor-policy",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/vendor-policy".into()),
            expect: "3  3  3  3  3  3  3  3  3  3  +  3  1",
        },
        Row {
            op: "PUT /api/v1/vendor-policy",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                let body = json!({"ai_found_public": false, "require_reproducer": false, "products": ["pkg:npm/acme"]});
                send(Method::PUT, "/api/v1/vendor-policy".into(), body)
            },
            expect: "3  3  3  3  3  3  3  3  3  3  +  3  1",
        },
        Row {
            op: "GET /api/v1/advisories",
            case: "public",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/advisories".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /api/v1/advisories/{id}",
            case: "TLP:CLEAR: public",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/advisories/{}", ids.advisory_clear)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /api/v1/advisories/{id}",
            case: "TLP:AMBER: the case's participants",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/advisories/{}", ids.advisory_amber)),
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  4/1",
        },
        Row {
            op: "GET /api/v1/advisories/{id}/cve",
            case: "TLP:CLEAR: coordinators",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/advisories/{}/cve?cve_id=CVE-2026-1234&cna_org_id=3b9f2a5e-6c1d-4e8f-9a0b-1c2d3e4f5a6b",
                    ids.advisory_clear
                ))
            },
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/advisories/{id}/cve",
            case: "TLP:AMBER: coordinators; the case's participants see it exists",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/advisories/{}/cve?cve_id=CVE-2026-1234&cna_org_id=3b9f2a5e-6c1d-4e8f-9a0b-1c2d3e4f5a6b",
                    ids.advisory_amber
                ))
            },
            expect: "+  +  3  3  4  4  4  4  4  4  3  4  1",
        },
        Row {
            op: "GET /api/v1/advisories/{id}/csaf",
            case: "TLP:CLEAR: public",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/advisories/{}/csaf", ids.advisory_clear)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /api/v1/advisories/{id}/csaf",
            case: "TLP:AMBER: the case's participants",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/advisories/{}/csaf", ids.advisory_amber)),
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  4/1",
        },
        Row {
            op: "GET /api/v1/advisories/{id}/csaf",
            case: "TLP:AMBER as CSAF 2.1: the case's participants",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/advisories/{}/csaf?version=2.1",
                    ids.advisory_amber
                ))
            },
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  4/1",
        },
        Row {
            op: "GET /.well-known/csaf/provider-metadata.json",
            case: "public",
            fresh: Fresh::Nothing,
            request: |_, _| get("/.well-known/csaf/provider-metadata.json".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /.well-known/csaf/{dir}/{file}",
            case: "the TLP:WHITE (CLEAR) index: public",
            fresh: Fresh::Nothing,
            request: |_, _| get("/.well-known/csaf/white/index.txt".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /.well-known/csaf/{dir}/{year}/{file}",
            case: "a TLP:CLEAR document: public",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                let (year, n) = ids.osv_clear;
                get(format!("/.well-known/csaf/white/{year}/pla-{year}-{n}.json"))
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /.well-known/csaf/{dir}/{year}/{file}",
            case: "a TLP:AMBER document: the case's participants",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                let (year, n) = ids.osv_amber;
                get(format!("/.well-known/csaf/amber/{year}/pla-{year}-{n}.json"))
            },
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  4/1",
        },
        Row {
            op: "GET /.well-known/csaf/{dir}/{year}/{file}",
            case: "a TLP:CLEAR document's signature (.asc): public",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                let (year, n) = ids.osv_clear;
                get(format!("/.well-known/csaf/white/{year}/pla-{year}-{n}.json.asc"))
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /.well-known/csaf/{dir}/{year}/{file}",
            case: "a TLP:AMBER document's signature (.asc): as the document",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                let (year, n) = ids.osv_amber;
                get(format!("/.well-known/csaf/amber/{year}/pla-{year}-{n}.json.asc"))
            },
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  4/1",
        },
        Row {
            op: "GET /osv/all.zip",
            case: "public",
            fresh: Fresh::Nothing,
            request: |_, _| get("/osv/all.zip".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /osv/{file}",
            case: "TLP:CLEAR: public",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/osv/x_PLA-{}-{}.json", ids.osv_clear.0, ids.osv_clear.1)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "GET /osv/{file}",
            case: "TLP:AMBER: the case's participants",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/osv/x_PLA-{}-{}.json", ids.osv_amber.0, ids.osv_amber.1)),
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  4/1",
        },
        Row {
            op: "GET /api/v1/subscriptions",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/subscriptions".into()),
            expect: "+  3  +  3  +  +  3  3  +  3  +  +  1",
        },
        Row {
            op: "POST /api/v1/subscriptions",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/subscriptions".into(),
                    json!({"sector": "energy", "min_severity": (["low", "medium", "high"].get(n % 3))}),
                )
            },
            expect: "+  3  +  3  +  +  3  3  +  3  +  +  1",
        },
        Row {
            op: "DELETE /api/v1/subscriptions/{id}",
            case: "the operator's",
            fresh: Fresh::Subscription,
            request: |ids, _| delete(format!("/api/v1/subscriptions/{}", ids.subscription)),
            expect: "4  4  4  4  4  4  4  4  4  4  4  +  1",
        },
        // Federation peers: coordinators (program administrators among them) only.
        Row {
            op: "GET /api/v1/federation/peers",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/federation/peers".into()),
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "POST /api/v1/federation/peers",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| send(Method::POST, "/api/v1/federation/peers".into(), peer_body(n)),
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/federation/peers/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/federation/peers/{}", ids.peer)),
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "PATCH /api/v1/federation/peers/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/federation/peers/{}", ids.peer),
                    json!({"interval_seconds": 7200}),
                )
            },
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "DELETE /api/v1/federation/peers/{id}",
            case: "",
            fresh: Fresh::Peer,
            request: |ids, _| delete(format!("/api/v1/federation/peers/{}", ids.peer)),
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "POST /api/v1/federation/peers/{id}/pull",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/federation/peers/{}/pull", ids.peer),
                body: None,
            },
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/clearinghouse/metrics",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/clearinghouse/metrics".into()),
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        // The clearinghouse. Reports are read under TLP: the AMBER report by its organisation and the
        // coordinators; the public (no credential) reads TLP:CLEAR only, and a dead credential is refused.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/reports",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/reports".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +/1",
        },
        Row {
            op: "POST /api/v1/reports",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| send(Method::POST, "/api/v1/reports".into(), threat_body("green", n)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/reports/import",
            case: "an OSV record",
            fresh: Fresh::Nothing,
            request: |_, n| {
                let record = crate::exchange_import::osv_record(&format!("OSV-2026-{n}"), None);
                send(Method::POST, "/api/v1/reports/import".into(), record)
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/reports/candidates",
            case: "nothing stored",
            fresh: Fresh::Nothing,
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/reports/candidates".into(),
                    vulnerability_body(&format!("pkg:generic/suggest-{n}")),
                )
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/reports/{id}",
            case: "TLP:AMBER, the developer member's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/reports/{}", ids.report)),
            expect: "+  +  +  +  4  4  4  4  4  4  4  4  4/1",
        },
        Row {
            op: "GET /api/v1/reports/{id}/attachments",
            case: "TLP:AMBER, the developer member's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/reports/{}/attachments", ids.report)),
            expect: "+  +  +  +  4  4  4  4  4  4  4  4  4/1",
        },
        Row {
            op: "POST /api/v1/reports/{id}/attachments",
            case: "the reporter alone",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!(
                        "/api/v1/reports/{}/attachments?role=other&name=notes.txt",
                        ids.report
                    ),
                    json!("notes"),
                )
            },
            expect: "3  3  3  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/reports/{id}/attachments/{attachment_id}",
            case: "TLP:AMBER",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/reports/{}/attachments/{}",
                    ids.report, ids.attachment
                ))
            },
            expect: "+  +  +  +  4  4  4  4  4  4  4  4  4/1",
        },
        // TLP:AMBER's named clients: read by the report's readers, named by its organisation or coordinators.
        Row {
            op: "GET /api/v1/reports/{id}/tlp-clients",
            case: "TLP:AMBER, the developer member's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/reports/{}/tlp-clients", ids.report)),
            expect: "+  +  +  +  4  4  4  4  4  4  4  4  4/1",
        },
        Row {
            op: "PUT /api/v1/reports/{id}/tlp-clients",
            case: "TLP:AMBER, the developer member's",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                // Frontier Lab itself, which reads the report anyway: the rows after this one stay as they are.
                let body = json!({"organizations": [ids.org]});
                send(
                    Method::PUT,
                    format!("/api/v1/reports/{}/tlp-clients", ids.report),
                    body,
                )
            },
            expect: "+  +  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/cases/{id}/tlp-clients",
            case: "TLP:AMBER, under embargo",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/cases/{}/tlp-clients", ids.case)),
            expect: "+  +  +  +  4  4  4  4  4  4  +  4  1",
        },
        Row {
            op: "PUT /api/v1/cases/{id}/tlp-clients",
            case: "TLP:AMBER, under embargo",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                let body = json!({"organizations": [ids.org]});
                send(
                    Method::PUT,
                    format!("/api/v1/cases/{}/tlp-clients", ids.case),
                    body,
                )
            },
            expect: "+  +  3  3  4  4  4  4  4  4  3  4  1",
        },
        Row {
            op: "POST /api/v1/findings/{id}/report",
            case: "the evaluator's finding",
            fresh: Fresh::Finding,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/report", ids.finding),
                    json!({"tlp": "amber", "affected": [{"purl": "pkg:generic/orion", "versions": "*"}]}),
                )
            },
            expect: "4  4  3  3  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/triage",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/triage".into()),
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "POST /api/v1/cases/{id}/merge",
            case: "the developer member's cases",
            fresh: Fresh::Cases,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/cases/{}/merge", ids.other_report_case),
                    json!({"into": ids.report_case}),
                )
            },
            expect: "+  +  3  3  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/cases/{id}/split",
            case: "the developer member's case",
            fresh: Fresh::Cases,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/cases/{}/split", ids.report_case),
                    json!({"reports": [ids.joined_report]}),
                )
            },
            expect: "+  +  3  3  4  4  4  4  4  4  4  4  1",
        },
        // The public ledger: commitments only, open to anyone, whatever credential comes with the request.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /ledger/checkpoint",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/ledger/checkpoint".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
        Row {
            op: "GET /ledger/key",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/ledger/key".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
        Row {
            op: "GET /ledger/tile/{path}",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/ledger/tile/0/000.p/2".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
        Row {
            op: "GET /ledger/proof/inclusion",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/ledger/proof/inclusion?index=0&size=2".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
        // TAXII sharing communities (coordinators define them; members read them) and collections defined
        // by a filter (program administrators).
        Row {
            op: "GET /api/v1/taxii/communities",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/taxii/communities".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/taxii/communities",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                let body = json!({"name": format!("Community {n}"), "organizations": [ids.vendor_org]});
                send(Method::POST, "/api/v1/taxii/communities".into(), body)
            },
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/taxii/communities/{id}",
            case: "the vendor's and the operator's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/taxii/communities/{}", ids.community)),
            expect: "+  +  4  4  4  4  4  4  4  4  +  +  1",
        },
        Row {
            op: "PUT /api/v1/taxii/communities/{id}",
            case: "the vendor's and the operator's",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                let body =
                    json!({"name": "Grid sharing", "organizations": [ids.vendor_org, ids.observer_org]});
                send(
                    Method::PUT,
                    format!("/api/v1/taxii/communities/{}", ids.community),
                    body,
                )
            },
            expect: "+  +  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/taxii/collections",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/taxii/collections".into()),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "POST /api/v1/taxii/collections",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| {
                let body = json!({"title": format!("Collection {n}"), "tlp_ceiling": "amber", "types": ["indicator"]});
                send(Method::POST, "/api/v1/taxii/collections".into(), body)
            },
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "DELETE /api/v1/taxii/collections/{id}",
            case: "",
            fresh: Fresh::FilterCollection,
            request: |ids, _| delete(format!("/api/v1/taxii/collections/{}", ids.filter_collection)),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /ledger/proof/consistency",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/ledger/proof/consistency?old=1&new=2".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
    ]
}

/// Everything a row's attempts need.
struct Matrix<'a> {
    t: &'a TestApp,
    w: &'a World,
    ids: Ids,
    /// The gateway tokens personas hold for `gw`, by persona name.
    gateway_tokens: Vec<(&'static str, String)>,
    attempts: Cell<usize>,
}

impl Matrix<'_> {
    fn next(&self) -> usize {
        self.attempts.set(self.attempts.get() + 1);
        self.attempts.get()
    }

    /// What `persona` presents for `row`: its gateway token at the gateway when it holds one, else its API token.
    fn credential(&self, row: &Row, persona: &Persona) -> Auth {
        let held = self
            .gateway_tokens
            .iter()
            .find(|(name, _)| *name == persona.name)
            .map(|(_, token)| token);
        match held {
            Some(token) if surface(row.op) == Surface::Gateway => Auth::bearer(token),
            _ => Auth::bearer(&persona.token),
        }
    }

    /// The ids for one attempt, with fresh objects where the row asks for them.
    async fn ids_for(&self, fresh: Fresh) -> Ids {
        let (t, w) = (self.t, self.w);
        let mut ids = self.ids;
        let n = self.next();
        match fresh {
            Fresh::Nothing => {}
            Fresh::Notices => {
                ids.notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
                t.assign(&w.agency_admin, ids.notice, &w.evaluator).await;
                let agencies = [w.agency, w.other_agency];
                ids.broad = id_of(&t.file_notice(&w.dev_admin, 40, &agencies).await);
                t.assign(&w.agency_admin, ids.broad, &w.evaluator).await;
                t.assign(&w.other_agency_admin, ids.broad, &w.other_evaluator)
                    .await;
            }
            Fresh::Org => ids.org = t.org("vendor", &format!("Target Vendor {n}")).await,
            Fresh::Person => {
                let email = format!("target{n}@lab.example");
                ids.person = t
                    .app
                    .provision_user("Frontier Lab", &email, "member")
                    .await
                    .unwrap()
                    .0
                    .id;
            }
            Fresh::Token => {
                let made = t
                    .post(
                        &w.dev_admin,
                        "/api/v1/tokens",
                        json!({"name": format!("target {n}")}),
                    )
                    .await;
                ids.token = id_of(made.ok());
            }
            Fresh::Connection => {
                let path = format!("/api/v1/notices/{}/connections", ids.gw);
                let made = t
                    .post(&w.dev_admin, &path, connection_body(&ids, &format!("target-{n}")))
                    .await;
                ids.connection = id_of(made.ok());
            }
            Fresh::GatewayToken => {
                let path = format!("/api/v1/notices/{}/gateway-tokens", ids.gw);
                let made = t
                    .post(&w.evaluator, &path, json!({"name": format!("target {n}")}))
                    .await;
                ids.gw_token = id_of(made.ok());
            }
            Fresh::FailedJob => {
                ids.job = failed_job(t).await;
            }
            Fresh::EvalRun => ids.eval_run = eval_run(t, w, ids.gw, 20).await,
            Fresh::FilterCollection => {
                let body = json!({"title": format!("Indicators {n}"), "tlp_ceiling": "green"});
                ids.filter_collection = id_of(
                    t.post(&w.program_admin, "/api/v1/taxii/collections", body)
                        .await
                        .ok(),
                );
            }
            Fresh::Webhook => {
                let made = t.post(&w.dev_admin, "/api/v1/webhooks", webhook_body(n)).await;
                ids.webhook = id_of(made.ok());
            }
            Fresh::Peer => {
                let made = t
                    .post(&w.coordinator, "/api/v1/federation/peers", peer_body(n))
                    .await;
                ids.peer = id_of(made.ok());
            }
            Fresh::Invitation => {
                let body = json!({"org_id": w.dev_admin.org_id, "email": format!("fresh{n}@lab.example")});
                ids.invitation = id_of(t.post(&w.dev_admin, "/api/v1/invitations", body).await.ok());
            }
            Fresh::Case => (ids.case, ids.case_report) = notified_case(t, w, "amber").await,
            Fresh::Subscription => {
                let body = json!({"sector": "water", "min_severity": (["low", "medium", "high"].get(n % 3))});
                ids.subscription = id_of(t.post(&w.operator, "/api/v1/subscriptions", body).await.ok());
            }
            Fresh::Finding => {
                ids.finding = id_of(&t.file_finding(&w.evaluator, ids.notice, &[]).await);
            }
            Fresh::DraftAssessment => {
                let mut body = assessment_body();
                body["draft"] = json!(true);
                let path = format!("/api/v1/notices/{}/assessments", ids.notice);
                ids.assessment = id_of(t.post(&w.evaluator, &path, body).await.ok());
            }
            Fresh::Cases => {
                let (case, other_case, case_report) = report_cases(t, w, n).await;
                ids.report_case = case;
                ids.other_report_case = other_case;
                ids.joined_report = case_report;
            }
        }
        ids
    }

    async fn send(&self, req: &Req, auth: &Auth) -> Reply {
        let mut request = self.t.client.request(req.method.clone(), self.t.url(&req.path));
        if let Auth::Header(value) = auth {
            request = request.header(AUTHORIZATION, value);
        }
        if req.body.as_ref() == Some(&json!(EVAL_LOG)) {
            request = request
                .header("content-type", "application/octet-stream")
                .body(crate::eval_io::tiny_log());
        } else if let Some(body) = req.body.as_ref().filter(|b| !b.is_null()) {
            request = request.json(body);
        }
        TestApp::reply(request.send().await.unwrap()).await
    }
}

/// The parts of the service, told apart by the base of an operation's path; each answers refusals its way.
#[derive(Clone, Copy, PartialEq)]
enum Surface {
    /// `/api/v1` and `/ledger`: RFC 9457 problems.
    Problems,
    /// `/gateway/v1`: errors in the OpenAI or Anthropic shape.
    Gateway,
}

fn surface(op: &str) -> Surface {
    if op.contains(" /gateway/v1/") {
        Surface::Gateway
    } else {
        Surface::Problems
    }
}

/// Whether a reply is the outcome a cell expects, and if not, why.
/// A clearinghouse threat report of marking `tlp`.
fn threat_body(tlp: &str, n: usize) -> Value {
    json!({
        "kind": "threat", "title": format!("Campaign {n}"), "description": "Lures written by a model.",
        "tlp": tlp, "misuse": "Per-target lures.",
    })
}

/// A vulnerability report of `product`; two with the same product and words join one case.
fn vulnerability_body(product: &str) -> Value {
    json!({
        "kind": "vulnerability", "title": "Heap overflow in png_read_row", "tlp": "green",
        "description": "ASan: heap-buffer-overflow WRITE in png_read_row at pngread.c:512.",
        "affected": [{"purl": product, "versions": "*"}], "location": "pngread.c:png_read_row",
    })
}

/// Two new cases of the developer member: one holding two reports (the second joined it), and another.
async fn report_cases(t: &TestApp, w: &World, n: usize) -> (Uuid, Uuid, Uuid) {
    let product = format!("pkg:generic/libpng-{n}");
    let first = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability_body(&product))
        .await;
    let second = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability_body(&product))
        .await;
    assert_eq!(first.ok()["case_id"], second.ok()["case_id"], "{}", second.body);
    let other = t
        .post(
            &w.dev_member,
            "/api/v1/reports",
            vulnerability_body(&format!("pkg:npm/other-{n}")),
        )
        .await;
    let case = |body: &Value| body["case_id"].as_str().unwrap().parse().unwrap();
    (case(&first.body), case(other.ok()), id_of(&second.body))
}

fn judge(expect: &str, surface: Surface, reply: &Reply) -> Result<(), String> {
    let status = reply.status.as_u16();
    let wanted = match expect {
        "+" if reply.status.is_success() => return Ok(()),
        "+" => return Err(format!("expected success, got {status}: {}", reply.body)),
        "1" => (401, "unauthenticated"),
        "i" => (401, "invalid-token"),
        "3" => (403, "forbidden"),
        "4" => (404, "not-found"),
        "2" => (422, "invalid-field"),
        other => return Err(format!("bad expectation {other:?}")),
    };
    let shaped = match surface {
        Surface::Problems => {
            reply.content_type == "application/problem+json"
                && reply.body["type"] == json!(format!("/problems/{}", wanted.1))
        }
        // Both model APIs put the kind of error at `error.type`.
        Surface::Gateway => reply.body["error"]["type"].is_string(),
    };
    if status != wanted.0 || !shaped {
        return Err(format!(
            "expected a {} refusal, got {status}: {}",
            wanted.0, reply.body
        ));
    }
    Ok(())
}

/// Every operation of the served OpenAPI document, as `METHOD /base/path`.
async fn documented_operations(t: &TestApp) -> BTreeSet<String> {
    let doc = t.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    crate::openapi::documented_operations(&doc.body)
        .into_iter()
        .map(|(method, path)| {
            let base = crate::openapi::base(&doc.body, &path);
            format!("{} {base}{path}", method.to_uppercase())
        })
        .collect()
}

/// The one path parameter that stands for the rest of the path, slashes included (the router's `{*path}`).
const REST_PARAMETER: &str = "{path}";

/// Whether `path` is an instance of `template`: each `{parameter}` stands for one non-empty segment, except a
/// last `{path}`, which stands for the rest of the path.
fn instance_of(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (mut want, mut got) = (template.split('/').peekable(), path.split('/'));
    while let Some(segment) = want.next() {
        let is_parameter = segment.starts_with('{') && segment.ends_with('}');
        if segment == REST_PARAMETER && want.peek().is_none() {
            return got.next().is_some_and(|s| !s.is_empty());
        }
        match got.next() {
            Some(s) if is_parameter && !s.is_empty() => {}
            Some(s) if s == segment => {}
            _ => return false,
        }
    }
    got.next().is_none()
}

/// The documented operation a request reaches.
fn operation_of<'a>(ops: &'a BTreeSet<String>, req: &Req) -> Option<&'a str> {
    ops.iter()
        .find(|op| {
            op.split_once(' ').is_some_and(|(method, template)| {
                method == req.method.as_str() && instance_of(template, &req.path)
            })
        })
        .map(String::as_str)
}

#[tokio::test]
async fn the_matrix_covers_every_documented_operation() {
    let t = spawn_app().await;
    let ops = documented_operations(&t).await;
    assert!(ops.len() > 50, "{ops:?}");
    let rows = rows();
    let mut problems = Vec::new();
    for op in &ops {
        if !rows.iter().any(|row| row.op == op) {
            problems.push(format!("{op}: no row of expectations"));
        }
    }
    let ids = Ids::nonexistent();
    for row in &rows {
        let label = row.label();
        if !ops.contains(row.op) {
            problems.push(format!("{label}: the document has no such operation"));
        }
        let req = (row.request)(&ids, 0);
        let reached = operation_of(&ops, &req);
        if reached != Some(row.op) {
            problems.push(format!(
                "{label}: its request {} {} reaches {reached:?}",
                req.method, req.path
            ));
        }
        let expect: Vec<&str> = row.expect.split_whitespace().collect();
        let outcome = |e: &str| ["+", "1", "2", "3", "4"].contains(&e);
        // The dead column may split the public (no credential) from the other dead credentials: `4/1`.
        let dead_ok = expect.last().is_some_and(|e| {
            let (public, rest) = e.split_once('/').unwrap_or((e, e));
            outcome(public) && outcome(rest)
        });
        if expect.len() != CAST.len() + 1
            || !dead_ok
            || expect[..expect.len() - 1].iter().any(|e| !outcome(e))
        {
            problems.push(format!(
                "{label}: {:?} is not one outcome (+, 1, 2, 3 or 4) per persona ({}) and one for dead credentials",
                row.expect,
                CAST.join(" ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn requests_are_matched_to_operations_segment_by_segment() {
    let ops: BTreeSet<String> = [
        "GET /api/v1/notices/{id}",
        "GET /api/v1/notices/{id}/history",
        "GET /ledger/tile/{path}",
    ]
    .map(str::to_owned)
    .into();
    let cases = [
        ("/api/v1/notices/1", Some("GET /api/v1/notices/{id}")),
        ("/api/v1/notices/1?x=2", Some("GET /api/v1/notices/{id}")),
        (
            "/api/v1/notices/1/history",
            Some("GET /api/v1/notices/{id}/history"),
        ),
        ("/api/v1/notices/1/assignments", None),
        ("/api/v1/notices/", None),
        ("/api/v1/notices", None),
        ("/ledger/tile/0/x001/234.p/5", Some("GET /ledger/tile/{path}")),
        ("/ledger/tile/", None),
    ];
    for (path, want) in cases {
        assert_eq!(operation_of(&ops, &get(path.into())), want, "{path}");
    }
    let post = send(Method::POST, "/api/v1/notices/1".into(), Value::Null);
    assert_eq!(operation_of(&ops, &post), None, "another method");
}

/// Dead credentials, each of a person who would otherwise be let in.
async fn dead_credentials(t: &TestApp, w: &World) -> Vec<Auth> {
    // A token that has expired: made with a one-day lifetime, then the clock passes it.
    let expiring = t.app.provision_token(&w.dev_admin.email, Some(1)).await.unwrap();
    t.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let revoked = t
        .post(&w.dev_admin, "/api/v1/tokens", json!({"name": "to revoke"}))
        .await;
    let revoked_token = revoked.ok()["token"].as_str().unwrap().to_owned();
    t.delete(&w.dev_admin, &format!("/api/v1/tokens/{}", id_of(&revoked.body)))
        .await
        .ok();
    let former = t
        .person("former admin", "Frontier Lab", "former@lab.example", "admin")
        .await;
    t.patch(
        &w.dev_admin,
        &format!("/api/v1/users/{}", former.user_id),
        json!({"active": false}),
    )
    .await
    .ok();
    let closed = t.org("developer", "Closed Lab").await;
    let closed_admin = t
        .person("closed lab admin", "Closed Lab", "admin@closed.example", "admin")
        .await;
    t.patch(
        &w.program_admin,
        &format!("/api/v1/organizations/{closed}"),
        json!({"active": false}),
    )
    .await
    .ok();
    let dead = vec![
        Auth::Nothing,
        Auth::bearer(&format!("plk_{}", Uuid::new_v4().simple())),
        Auth::bearer("not-a-token"),
        Auth::Header(format!("Basic {}", w.dev_admin.token)),
        Auth::bearer(&revoked_token),
        Auth::bearer(expiring.expose()),
        Auth::bearer(&former.token),
        Auth::bearer(&closed_admin.token),
    ];
    assert_eq!(dead.len(), DEAD.len());
    dead
}

/// The id of the one audit event with this action about this object (and by this actor, when given).
fn event_id(events: &[store::AuditEvent], action: &str, object: Uuid, actor: Option<Uuid>) -> Uuid {
    let found: Vec<Uuid> = events
        .iter()
        .filter(|e| e.action == action && e.object_id == Some(object))
        .filter(|e| actor.is_none_or(|a| e.actor_user_id == Some(a)))
        .map(|e| e.id)
        .collect();
    assert_eq!(found.len(), 1, "{action} of {object}: {found:?}");
    found[0]
}

#[tokio::test]
async fn every_route_as_every_persona_and_credential() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dead = dead_credentials(&t, &w).await;

    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let broad = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency, w.other_agency]).await);
    t.assign(&w.agency_admin, broad, &w.evaluator).await;
    t.assign(&w.other_agency_admin, broad, &w.other_evaluator).await;
    let broad_finding_private = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    let broad_finding_shared = id_of(&t.file_finding(&w.evaluator, broad, &[w.other_agency]).await);
    let broad_assessment_shared = id_of(&t.publish_assessment(&w.evaluator, broad, &[w.other_agency]).await);

    // The gateway's notice: in review, both agencies' evaluators assigned and holding tokens, two connections.
    let upstream = Upstream::start().await;
    let upstream_port: u16 = upstream
        .base_url
        .trim_end_matches("/v1")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let gw = id_of(&t.file_notice(&w.dev_admin, 10, &[w.agency, w.other_agency]).await);
    t.assign(&w.agency_admin, gw, &w.evaluator).await;
    t.assign(&w.other_agency_admin, gw, &w.other_evaluator).await;
    let mut ids = Ids::nonexistent();
    ids.upstream_port = upstream_port;
    let connections = format!("/api/v1/notices/{gw}/connections");
    let connection = t
        .post(&w.dev_admin, &connections, connection_body(&ids, "orion-1.0"))
        .await;
    let mut anthropic = connection_body(&ids, "orion-claude");
    anthropic["api_style"] = json!("anthropic");
    t.post(&w.dev_admin, &connections, anthropic).await.ok();
    let tokens = format!("/api/v1/notices/{gw}/gateway-tokens");
    let mut gateway_tokens = Vec::new();
    for holder in [&w.evaluator, &w.other_evaluator] {
        let issued = t.post(holder, &tokens, json!({"name": "laptop"})).await;
        let token = issued.ok()["token"].as_str().unwrap().to_owned();
        gateway_tokens.push((holder.name, token));
    }
    let gw_token = id_of(&t.get(&w.evaluator, &tokens).await.ok()["items"][0]);
    let called = t
        .client
        .post(t.url("/gateway/v1/chat/completions"))
        .bearer_auth(&gateway_tokens[0].1)
        .json(&json!({"model": "orion-1.0", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(called.status(), StatusCode::OK);
    let call: Uuid = called.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();

    // The clearinghouse: an AMBER threat report of the developer member with an attachment, and two cases.
    let report = id_of(
        t.post(&w.dev_member, "/api/v1/reports", threat_body("amber", 0))
            .await
            .ok(),
    );
    let attached = t
        .raw(
            Method::POST,
            &format!("/api/v1/reports/{report}/attachments?role=reproducer&name=poc.txt"),
            Some(&w.dev_member.token),
            Some("text/plain"),
            b"poc".to_vec(),
        )
        .await;
    let attachment = id_of(attached.ok());
    let (report_case, other_report_case, joined_report) = report_cases(&t, &w, 0).await;

    let events = t.audit_after(0).await;
    let cases = notified_case(&t, &w, "amber").await;
    let advisory_clear = advisory_of(&t, &w, "clear").await;
    let advisory_amber = advisory_of(&t, &w, "amber").await;
    let ids = Ids {
        agency: w.agency,
        org: w.dev_admin.org_id,
        person: w.dev_member.user_id,
        token: id_of(
            t.post(&w.dev_admin, "/api/v1/tokens", json!({"name": "kept"}))
                .await
                .ok(),
        ),
        notice,
        assignee: w.evaluator.user_id,
        candidate: w.evaluator2.user_id,
        finding: id_of(&t.file_finding(&w.evaluator, notice, &[]).await),
        assessment: id_of(&t.publish_assessment(&w.evaluator, notice, &[]).await),
        broad,
        other_assignee: w.other_evaluator.user_id,
        broad_finding_private,
        broad_finding_shared,
        broad_assessment_private: id_of(&t.publish_assessment(&w.evaluator, broad, &[]).await),
        broad_assessment_shared,
        gw,
        connection: id_of(connection.ok()),
        gw_token,
        call,
        upstream_port,
        webhook: id_of(
            t.post(&w.dev_admin, "/api/v1/webhooks", webhook_body(0))
                .await
                .ok(),
        ),
        peer: id_of(
            t.post(&w.coordinator, "/api/v1/federation/peers", peer_body(0))
                .await
                .ok(),
        ),
        invitation: id_of(
            t.post(
                &w.dev_admin,
                "/api/v1/invitations",
                json!({"org_id": w.dev_admin.org_id, "email": "pending@lab.example"}),
            )
            .await
            .ok(),
        ),
        file_broad_event: event_id(&events, "notice.file", broad, None),
        file_notice_event: event_id(&events, "notice.file", notice, None),
        assign_broad_event: event_id(&events, "assignment.create", broad, Some(w.agency_admin.user_id)),
        finding_private_event: event_id(&events, "finding.file", broad_finding_private, None),
        finding_shared_event: event_id(&events, "finding.file", broad_finding_shared, None),
        assessment_shared_event: event_id(&events, "assessment.publish", broad_assessment_shared, None),
        job: Uuid::new_v4(),
        case: cases.0,
        case_report: cases.1,
        vendor_org: w.vendor.org_id,
        observer_org: w.operator.org_id,
        advisory_clear,
        advisory_amber,
        osv_clear: osv_of(&t, &w, advisory_clear).await,
        osv_amber: osv_of(&t, &w, advisory_amber).await,
        subscription: Uuid::new_v4(),
        notification: {
            crate::notifications::deliver(&t).await;
            id_of(&t.get(&w.evaluator, "/api/v1/notifications?limit=200").await.ok()["items"][0])
        },
        report,
        attachment,
        report_case,
        other_report_case,
        joined_report,
        eval_run: eval_run(&t, &w, gw, 1).await,
        community: id_of(
            t.post(
                &w.coordinator,
                "/api/v1/taxii/communities",
                json!({"name": "Grid sharing", "organizations": [w.vendor.org_id, w.operator.org_id]}),
            )
            .await
            .ok(),
        ),
        filter_collection: Uuid::new_v4(),
    };
    // The public ledger's tiles and proofs name entries up to a signed checkpoint.
    t.post(&w.program_admin, "/api/v1/ledger/checkpoints", json!({}))
        .await
        .ok();
    let m = Matrix {
        t: &t,
        w: &w,
        ids,
        gateway_tokens,
        attempts: Cell::new(0),
    };

    let mut table = String::new();
    let mut failures = Vec::new();
    let _ = write!(table, "{:<84}", "operation");
    for column in CAST.iter().chain(DEAD.iter()) {
        let _ = write!(table, " {column:>4}");
    }
    let rows = rows();
    for row in &rows {
        let expect: Vec<&str> = row.expect.split_whitespace().collect();
        assert_eq!(
            expect.len(),
            CAST.len() + 1,
            "{}: one outcome per persona, then one for dead credentials",
            row.op
        );
        let label = row.label();
        let _ = write!(table, "\n{label:<84}");
        let mut callers: Vec<(String, Auth, &str)> = cast(&w)
            .into_iter()
            .zip(&expect)
            .map(|(p, e)| (p.name.to_owned(), m.credential(row, p), *e))
            .collect();
        // `4/1`: the public (no credential at all) reads as the first, every other dead credential as the
        // second; a route open to the public still refuses a credential that is presented and invalid.
        let (public, dead_expect) = expect[CAST.len()]
            .split_once('/')
            .unwrap_or((expect[CAST.len()], expect[CAST.len()]));
        callers.extend(DEAD.iter().zip(&dead).map(|(d, a)| {
            // A bearer token that is presented but not valid is answered as such (`invalid-token`), not as a
            // missing credential.
            let wanted = match (*d, dead_expect) {
                ("none", _) => public,
                ("basic", _) => dead_expect,
                (_, "1") if surface(row.op) == Surface::Problems && !row.op.contains("/taxii2/") => "i",
                _ => dead_expect,
            };
            (d.to_string(), a.clone(), wanted)
        }));
        for (who, auth, wanted) in callers {
            let ids = m.ids_for(row.fresh).await;
            let req = (row.request)(&ids, m.next());
            let reply = m.send(&req, &auth).await;
            let mut verdict = judge(wanted, surface(row.op), &reply);
            if verdict.is_ok() && reply.status == StatusCode::NOT_FOUND {
                let absent = ids.as_if_absent(&m, &auth).await;
                let elsewhere = m.send(&(row.request)(&absent, m.next()), &auth).await;
                if (elsewhere.status, &elsewhere.body) != (reply.status, &reply.body) {
                    verdict = Err(format!(
                        "the 404 differs from that for ids that do not exist: {} vs {} {}",
                        reply.body, elsewhere.status, elsewhere.body
                    ));
                }
            }
            let mark = if verdict.is_ok() { " " } else { "*" };
            let _ = write!(table, " {:>3}{mark}", reply.status.as_u16());
            if let Err(why) = verdict {
                failures.push(format!("{label} as {who} (expected {wanted}): {why}"));
            }
        }
    }
    drop(upstream);
    assert!(
        failures.is_empty(),
        "{} cells differ (marked *):\n{table}\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The ids in a list reply's `items`.
fn listed(reply: &Reply, key: &str) -> BTreeSet<Uuid> {
    reply.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn lists_show_each_persona_only_what_it_may_see() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Frontier Lab: one notice for the agency alone, one for both agencies. Other Lab: one for every agency.
    let own = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let broad = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency, w.other_agency]).await);
    let everyone = t
        .post(
            &w.other_dev,
            "/api/v1/notices",
            json!({"model_name": "Lyra", "model_version": "3", "planned_launch_at": "2027-03-01T00:00:00Z",
                   "shared_with_all": true}),
        )
        .await;
    let everyone = id_of(everyone.ok());
    t.assign(&w.agency_admin, broad, &w.evaluator).await;
    t.assign(&w.other_agency_admin, broad, &w.other_evaluator).await;
    let private = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    let shared = id_of(&t.file_finding(&w.evaluator, broad, &[w.other_agency]).await);
    let theirs = id_of(&t.file_finding(&w.other_evaluator, broad, &[]).await);
    let private_a = id_of(&t.publish_assessment(&w.evaluator, broad, &[]).await);
    let shared_a = id_of(
        &t.publish_assessment(&w.agency_admin, broad, &[w.other_agency])
            .await,
    );
    let theirs_a = id_of(&t.publish_assessment(&w.other_agency_admin, broad, &[]).await);

    let set = |ids: &[Uuid]| ids.iter().copied().collect::<BTreeSet<Uuid>>();
    let nothing = BTreeSet::new;
    // (persona, notices listed, findings and assessments of `broad`, assignments on `broad`)
    let developer = (
        set(&[own, broad]),
        set(&[private, shared, theirs]),
        set(&[private_a, shared_a, theirs_a]),
        set(&[w.evaluator.user_id, w.other_evaluator.user_id]),
    );
    let agency = (
        set(&[own, broad, everyone]),
        set(&[private, shared]),
        set(&[private_a, shared_a]),
        set(&[w.evaluator.user_id]),
    );
    let other_agency = (
        set(&[broad, everyone]),
        set(&[shared, theirs]),
        set(&[shared_a, theirs_a]),
        set(&[w.other_evaluator.user_id]),
    );
    let outsider = (nothing(), nothing(), nothing(), nothing());
    let cases = [
        (&w.program_admin, &outsider),
        (&w.coordinator, &outsider),
        (&w.dev_admin, &developer),
        (&w.dev_member, &developer),
        (&w.agency_admin, &agency),
        (&w.evaluator, &agency),
        (&w.evaluator2, &agency),
        (&w.other_agency_admin, &other_agency),
        (&w.other_evaluator, &other_agency),
        (&w.vendor, &outsider),
        (&w.operator, &outsider),
    ];
    for (who, (notices, findings, assessments, assignees)) in cases {
        let name = who.name;
        let got = listed(&t.get(who, "/api/v1/notices").await, "id");
        assert_eq!(&got, notices, "notices listed for {name}");
        if notices.contains(&broad) {
            let base = format!("/api/v1/notices/{broad}");
            let got = listed(&t.get(who, &format!("{base}/findings")).await, "id");
            assert_eq!(&got, findings, "findings listed for {name}");
            let got = listed(&t.get(who, &format!("{base}/assessments")).await, "id");
            assert_eq!(&got, assessments, "assessments listed for {name}");
            let got = listed(&t.get(who, &format!("{base}/assignments")).await, "user_id");
            assert_eq!(&got, assignees, "assignments listed for {name}");
            // Who else received the notice is the developer's to know.
            let notice = t.get(who, &base).await;
            let developer_reads = who.org_id == w.dev_admin.org_id;
            assert_eq!(
                notice.ok().get("shared_with").is_some(),
                developer_reads,
                "{name}: {}",
                notice.body
            );
        }
    }
    // The other developer sees its own notice, and nothing of Frontier Lab's.
    let got = listed(&t.get(&w.other_dev, "/api/v1/notices").await, "id");
    assert_eq!(got, set(&[everyone]));

    // People and tokens: one's own organisation and one's own tokens; the program admin sees every person.
    let people = |reply: Reply| -> BTreeSet<Uuid> {
        reply.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["org_id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    for who in cast(&w) {
        let orgs = people(t.get(who, "/api/v1/users?limit=200").await);
        if who.name == "program admin" {
            assert!(
                orgs.len() > 5,
                "the program admin lists every organisation's people: {orgs:?}"
            );
        } else {
            assert_eq!(
                orgs,
                set(&[who.org_id]),
                "{} lists only its own organisation's people",
                who.name
            );
        }
        let tokens = t.get(who, "/api/v1/tokens").await;
        assert_eq!(
            tokens.ok()["items"].as_array().unwrap().len(),
            1,
            "{}: its own token alone",
            who.name
        );
    }
}

/// What a session request tries: (what, method, path, CSRF header, body, expected status).
type SessionCase<'a> = (&'a str, Method, &'a str, Option<&'a str>, Option<Value>, u16);

#[tokio::test]
async fn a_browser_session_reaches_the_api_and_changes_nothing_without_its_csrf_token() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let email = "browser@lab.example";
    let (user, link) = t
        .app
        .provision_user("Frontier Lab", email, "admin")
        .await
        .unwrap();
    let password = accounts::Secret::new("correct horse battery staple".into());
    let invitation = link.expose().rsplit('/').next().unwrap().to_owned();
    t.app
        .accept_invitation(&invitation, Some(email), "Sam Browser", &password)
        .await
        .unwrap();
    let session = t
        .app
        .login(email, &password, std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let other_session = t
        .app
        .login(email, &password, std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let cookie = format!("prelaunch_session={}", session.token.expose());
    let send = |method: Method, path: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut request = t
            .client
            .request(method, t.url(path))
            .header(reqwest::header::COOKIE, &cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { TestApp::reply(request.send().await.unwrap()).await }
    };

    let me = send(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(me.ok()["user"]["id"], json!(user.id));
    assert_eq!(me.body["csrf_token"], json!(session.csrf_token));
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let withdraw = format!("/api/v1/notices/{notice}/withdraw");
    let before = t.db_counts().await;
    #[rustfmt::skip]
    let cases: [SessionCase; 6] = [
        ("a read needs no CSRF token", Method::GET, "/api/v1/notices", None, None, 200),
        ("a token without CSRF", Method::POST, "/api/v1/tokens", None, Some(json!({"name": "x"})), 403),
        ("a token with a forged CSRF", Method::POST, "/api/v1/tokens", Some("plc_forged"), Some(json!({"name": "x"})), 403),
        ("a withdrawal without CSRF", Method::POST, &withdraw, None, None, 403),
        ("a withdrawal with another session's CSRF", Method::POST, &withdraw, Some(&other_session.csrf_token), None, 403),
        ("a policy change without CSRF", Method::PUT, "/api/v1/policy", None, Some(json!({"window_days": 9})), 403),
    ];
    for (what, method, path, csrf, body, status) in cases {
        let reply = send(method, path, csrf, body).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
        if status == 403 {
            reply.problem(403, "forbidden");
        }
    }
    assert_eq!(
        t.db_counts().await,
        before,
        "nothing changed without the CSRF token"
    );
    let made = send(
        Method::POST,
        "/api/v1/tokens",
        Some(&session.csrf_token),
        Some(json!({"name": "from the browser"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);

    // The session ends with its lifetime, and with the person's deactivation.
    t.clock.set(session.expires_at);
    send(Method::GET, "/api/v1/me", None, None)
        .await
        .problem(401, "unauthenticated");
    t.clock.set(session.expires_at - chrono::Duration::hours(1));
    send(Method::GET, "/api/v1/me", None, None).await.ok();
    t.patch(
        &w.dev_admin,
        &format!("/api/v1/users/{}", user.id),
        json!({"active": false}),
    )
    .await
    .ok();
    send(Method::GET, "/api/v1/me", None, None)
        .await
        .problem(401, "unauthenticated");
}

/// The TAXII 2.1 write routes (outside the OpenAPI document, whose place the OASIS specification takes) as
/// every persona and with every dead credential: posting to a member collection and to the public TLP:CLEAR
/// one, reading a post's status, deleting a posted object (readable or not) and an advisory's object.
#[tokio::test]
async fn taxii_write_routes_as_every_persona_and_credential() {
    use app::clearinghouse::taxii::Collection;
    use clearinghouse::stix::{Kind, object_id};
    const TAXII: &str = "application/taxii+json;version=2.1";
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let advisory = advisory_of(&t, &w, "clear").await;
    let dead = dead_credentials(&t, &w).await;
    let [clear, green, amber] = [0, 1, 2].map(|n| Collection::all()[n].id);
    let objects = |c: Uuid| format!("/taxii2/api/collections/{c}/objects/");
    let serial = Cell::new(0u128);
    let tool = || {
        serial.set(serial.get() + 1);
        let id = format!(
            "tool--{}",
            Uuid::from_u128(0x7000_0000_0000_4000_8000_0000_0000_0000 + serial.get())
        );
        let body = json!({"objects": [{"type": "tool", "spec_version": "2.1", "id": id,
            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "t"}]});
        (id, body.to_string())
    };
    let send = |method: Method, path: String, auth: &Auth, body: Option<String>| {
        let mut request = t.client.request(method, t.url(&path));
        if let Auth::Header(h) = auth {
            request = request.header(AUTHORIZATION, h);
        }
        if let Some(body) = body {
            request = request.header("content-type", TAXII).body(body);
        }
        async move { request.send().await.unwrap().status() }
    };
    let owner = Auth::bearer(&w.dev_admin.token);
    let post_as_owner = |c: Uuid| {
        let (id, body) = tool();
        let send = &send;
        let owner = &owner;
        async move {
            assert_eq!(
                send(Method::POST, objects(c), owner, Some(body)).await,
                StatusCode::ACCEPTED
            );
            format!("{}{id}/", objects(c))
        }
    };
    let status_of_owner = {
        let (_, body) = tool();
        let response = t
            .client
            .post(t.url(&objects(green)))
            .bearer_auth(&w.dev_admin.token)
            .header("content-type", TAXII)
            .body(body)
            .send()
            .await
            .unwrap();
        let status: Value = response.json().await.unwrap();
        format!("/taxii2/api/status/{}/", status["id"].as_str().unwrap())
    };
    let code = |s: StatusCode| match s.as_u16() {
        200..=299 => "+",
        401 => "1",
        403 => "3",
        404 => "4",
        _ => "?",
    };
    let mut failures = String::new();
    // (route, case, personas in CAST order then every dead credential)
    let rows: [(&str, &str, &str); 6] = [
        (
            "POST objects",
            "TLP:GREEN: members",
            "+  +  +  +  +  +  +  +  +  +  +  +  1",
        ),
        (
            "POST objects",
            "TLP:CLEAR: coordinators",
            "+  +  3  3  3  3  3  3  3  3  3  3  1",
        ),
        (
            "GET status",
            "the poster",
            "4  4  +  4  4  4  4  4  4  4  4  4  1",
        ),
        (
            "DELETE object",
            "GREEN: posting org, coordinators",
            "+  +  +  +  3  3  3  3  3  3  3  3  1",
        ),
        (
            "DELETE object",
            "AMBER: unreadable is absent",
            "+  +  +  +  4  4  4  4  4  4  4  4  1",
        ),
        (
            "DELETE object",
            "an advisory's: no one",
            "3  3  3  3  3  3  3  3  3  3  3  3  1",
        ),
    ];
    for (route, case, expect) in rows {
        let want: Vec<&str> = expect.split_whitespace().collect();
        let auths: Vec<Auth> = cast(&w)
            .iter()
            .map(|p| Auth::bearer(&p.token))
            .chain(dead.iter().cloned())
            .collect();
        for (n, auth) in auths.iter().enumerate() {
            let status = match (route, case) {
                ("POST objects", c) => {
                    let target = if c.starts_with("TLP:GREEN") { green } else { clear };
                    send(Method::POST, objects(target), auth, Some(tool().1)).await
                }
                ("GET status", _) => send(Method::GET, status_of_owner.clone(), auth, None).await,
                (_, c) if c.starts_with("GREEN") => {
                    send(Method::DELETE, post_as_owner(green).await, auth, None).await
                }
                (_, c) if c.starts_with("AMBER") => {
                    send(Method::DELETE, post_as_owner(amber).await, auth, None).await
                }
                _ => {
                    let path = format!("{}{}/", objects(clear), object_id(Kind::Vulnerability, advisory));
                    send(Method::DELETE, path, auth, None).await
                }
            };
            let column = n.min(CAST.len());
            let who = CAST.get(n).copied().unwrap_or_else(|| DEAD[n - CAST.len()]);
            if code(status) != want[column] {
                let _ = writeln!(
                    failures,
                    "{route} ({case}) as {who}: {status}, want {}",
                    want[column]
                );
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

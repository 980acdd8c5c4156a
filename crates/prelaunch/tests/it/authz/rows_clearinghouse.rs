//! The matrix's rows of the clearinghouse, its exchange formats, federation and TAXII, and the public ledger.

use super::*;

/// These rows, in column order.
pub(super) fn rows() -> Vec<Row> {
    vec![
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
            // A peer of its own for each: a pull another caller queued may hold the peer (409 while it runs).
            fresh: Fresh::Peer,
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

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

mod ids;
mod lists;
mod requests;
mod rows_clearinghouse;
mod rows_notices;
mod rows_platform;

use ids::*;
use requests::*;

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

// The matrix in three parts, one test each with its own server and world, so that they run side by side.

#[tokio::test]
async fn platform_routes_as_every_persona_and_credential() {
    matrix(rows_platform::rows()).await;
}

#[tokio::test]
async fn notice_and_gateway_routes_as_every_persona_and_credential() {
    matrix(rows_notices::rows()).await;
}

#[tokio::test]
async fn clearinghouse_routes_as_every_persona_and_credential() {
    matrix(rows_clearinghouse::rows()).await;
}

/// Tries each of `rows` as every persona and dead credential, in a world that holds every kind of object.
async fn matrix(rows: Vec<Row>) {
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

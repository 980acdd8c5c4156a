//! The role × endpoint authorisation matrix: every route of the API tried as every persona of every kind of
//! organisation, and with every kind of missing or dead credential, each cell asserting the exact outcome.
//!
//! `+` allowed (2xx), `1` 401, `3` 403 (the caller may see the object but its role may not do this), `4`
//! 404 (the caller may not know the object exists). Every 404 is also compared with the answer to the same
//! request where each id the caller cannot see is replaced by the id of nothing: the two must be identical,
//! or the difference would leak the object's existence.

use crate::support::*;
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
}

impl Ids {
    /// The same request's ids for a caller to whom nothing but what it can see exists: every id replaced by
    /// one of nothing, except the notices the caller can see (their existence is no secret to it).
    async fn as_if_absent(&self, m: &Matrix<'_>, auth: &Auth) -> Ids {
        let mut ids = Ids::nonexistent();
        for (real, absent) in [(self.notice, &mut ids.notice), (self.broad, &mut ids.broad)] {
            let seen = m.send(&get(format!("/api/v1/notices/{real}")), auth).await;
            if seen.status == StatusCode::OK {
                *absent = real;
            }
        }
        ids
    }

    /// Ids of nothing at all.
    fn nonexistent() -> Ids {
        let r = Uuid::new_v4;
        Ids {
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
}

struct Req {
    method: Method,
    path: String,
    body: Option<Value>,
}

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
    route: &'static str,
    fresh: Fresh,
    /// The request for one attempt; `n` is unique per attempt, for names that must not repeat.
    request: fn(&Ids, usize) -> Req,
    /// One outcome per persona in `CAST`, then one for every credential in `DEAD`.
    expect: &'static str,
}

fn rows() -> Vec<Row> {
    vec![
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            route: "GET /openapi.json",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/openapi.json".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
        Row {
            route: "GET /me",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/me".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            route: "GET /organizations",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/organizations".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            route: "POST /organizations",
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
            route: "GET /organizations/{id}",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/organizations/{}", ids.org)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            route: "PATCH /organizations/{id}",
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
            route: "GET /users",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/users".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            route: "GET /users?org_id={developer}",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/users?org_id={}", ids.org)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            route: "GET /users/{id}",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/users/{}", ids.person)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            route: "PATCH /users/{id}",
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
            route: "POST /invitations",
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
        Row {
            route: "GET /tokens",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/tokens".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            route: "POST /tokens",
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
            route: "DELETE /tokens/{id} (the developer admin's)",
            fresh: Fresh::Token,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/tokens/{}", ids.token),
                body: None,
            },
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            route: "GET /policy",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/policy".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            route: "PUT /policy",
            fresh: Fresh::Nothing,
            request: |_, _| send(Method::PUT, "/api/v1/policy".into(), json!({"window_days": 30})),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            route: "GET /notices",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notices".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            route: "POST /notices",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::POST,
                    "/api/v1/notices".into(),
                    json!({
                        "model_name": "Vega", "model_version": "1",
                        "planned_launch_at": "2027-06-01T00:00:00Z",
                        "shared_with_all": true,
                    }),
                )
            },
            expect: "3  3  +  +  +  3  3  3  3  3  3  3  1",
        },
        Row {
            route: "GET /notices/{id}",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "GET /notices/{id} (shared with both agencies)",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}", ids.broad)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            route: "GET /notices/{id}/history",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/history", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "PUT /notices/{id}/launch",
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
            route: "POST /notices/{id}/launch",
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
            route: "POST /notices/{id}/withdraw",
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
            route: "GET /notices/{id}/assignments",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/assignments", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "POST /notices/{id}/assignments",
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
            route: "DELETE /notices/{id}/assignments/{user_id}",
            fresh: Fresh::Notices,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/notices/{}/assignments/{}", ids.notice, ids.assignee),
                body: None,
            },
            expect: "4  4  3  3  4  +  3  3  4  4  4  4  1",
        },
        Row {
            route: "DELETE /notices/{id}/assignments/{user_id} (the other agency's)",
            fresh: Fresh::Notices,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/notices/{}/assignments/{}", ids.broad, ids.other_assignee),
                body: None,
            },
            expect: "4  4  3  3  4  4  4  4  +  3  4  4  1",
        },
        Row {
            route: "GET /notices/{id}/findings",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/findings", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "POST /notices/{id}/findings",
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
            route: "POST /notices/{id}/findings (shared with both agencies)",
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
            route: "GET /notices/{id}/assessments",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/assessments", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "POST /notices/{id}/assessments",
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
            route: "POST /notices/{id}/assessments (shared with both agencies)",
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
            route: "GET /findings/{id}",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.finding)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "GET /findings/{id} (broad notice, not shared)",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.broad_finding_private)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "GET /findings/{id} (broad notice, shared)",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.broad_finding_shared)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            route: "GET /assessments/{id}",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.assessment)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "GET /assessments/{id} (broad notice, not shared)",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.broad_assessment_private)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            route: "GET /assessments/{id} (broad notice, shared)",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.broad_assessment_shared)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            route: "GET /audit",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/audit".into()),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
    ]
}

/// Everything a row's attempts need.
struct Matrix<'a> {
    t: &'a TestApp,
    w: &'a World,
    ids: Ids,
    attempts: Cell<usize>,
}

impl Matrix<'_> {
    fn next(&self) -> usize {
        self.attempts.set(self.attempts.get() + 1);
        self.attempts.get()
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
        }
        ids
    }

    async fn send(&self, req: &Req, auth: &Auth) -> Reply {
        let mut request = self.t.client.request(req.method.clone(), self.t.url(&req.path));
        if let Auth::Header(value) = auth {
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(body) = req.body.as_ref().filter(|b| !b.is_null()) {
            request = request.json(body);
        }
        TestApp::reply(request.send().await.unwrap()).await
    }
}

/// Whether a reply is the outcome a cell expects, and if not, why.
fn judge(expect: &str, reply: &Reply) -> Result<(), String> {
    let status = reply.status.as_u16();
    let wanted = match expect {
        "+" if reply.status.is_success() => return Ok(()),
        "+" => return Err(format!("expected success, got {status}: {}", reply.body)),
        "1" => (401, "unauthenticated"),
        "3" => (403, "forbidden"),
        "4" => (404, "not-found"),
        other => return Err(format!("bad expectation {other:?}")),
    };
    if (status, reply.content_type.as_str(), &reply.body["type"])
        != (
            wanted.0,
            "application/problem+json",
            &json!(format!("/problems/{}", wanted.1)),
        )
    {
        return Err(format!(
            "expected a {} problem, got {status}: {}",
            wanted.0, reply.body
        ));
    }
    Ok(())
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
    let ids = Ids {
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
        broad_finding_private: id_of(&t.file_finding(&w.evaluator, broad, &[]).await),
        broad_finding_shared: id_of(&t.file_finding(&w.evaluator, broad, &[w.other_agency]).await),
        broad_assessment_private: id_of(&t.publish_assessment(&w.evaluator, broad, &[]).await),
        broad_assessment_shared: id_of(&t.publish_assessment(&w.evaluator, broad, &[w.other_agency]).await),
    };
    let m = Matrix {
        t: &t,
        w: &w,
        ids,
        attempts: Cell::new(0),
    };

    let mut table = String::new();
    let mut failures = Vec::new();
    let _ = write!(table, "{:<58}", "route");
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
            row.route
        );
        let _ = write!(table, "\n{:<58}", row.route);
        let mut callers: Vec<(String, Auth, &str)> = cast(&w)
            .into_iter()
            .zip(&expect)
            .map(|(p, e)| (p.name.to_owned(), Auth::bearer(&p.token), *e))
            .collect();
        let dead_expect = expect[CAST.len()];
        callers.extend(
            DEAD.iter()
                .zip(&dead)
                .map(|(d, a)| (d.to_string(), a.clone(), dead_expect)),
        );
        for (who, auth, wanted) in callers {
            let ids = m.ids_for(row.fresh).await;
            let req = (row.request)(&ids, m.next());
            let reply = m.send(&req, &auth).await;
            let mut verdict = judge(wanted, &reply);
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
                failures.push(format!("{} as {who} (expected {wanted}): {why}", row.route));
            }
        }
    }
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

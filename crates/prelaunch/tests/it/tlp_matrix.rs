//! The TLP 2.0 matrix of the clearinghouse, as one table: marking × reader × path, on both backends.
//!
//! One server; for each marking a vulnerability report filed through the API by a developer's member, with a
//! reproducer, a duplicate from another finder (which joins the case), a vendor added and notified by a
//! coordinator, a post and the vendor's status, and (AMBER) a client organisation named on the report and the
//! case. Every reader then reads every path while the case is under embargo, and again once it is published
//! (a RED case cannot be published: no coordinator may read it). The expected outcome of each cell comes from
//! `may_read` below — TLP 2.0 in the issue's words — not from the code; a failure names marking × reader × path.

use crate::notifications::deliver;
use crate::support::*;
use crate::web::{Web, member};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Write;
use uuid::Uuid;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Marking {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

pub(crate) const MARKINGS: [Marking; 5] = [
    Marking::Clear,
    Marking::Green,
    Marking::Amber,
    Marking::AmberStrict,
    Marking::Red,
];

impl Marking {
    pub(crate) fn api(self) -> &'static str {
        match self {
            Marking::Clear => "clear",
            Marking::Green => "green",
            Marking::Amber => "amber",
            Marking::AmberStrict => "amber+strict",
            Marking::Red => "red",
        }
    }
}

/// The readers. Organisations: Frontier Lab (developer: the reporter and a colleague), Other Lab (developer),
/// Third Lab (developer: the duplicate's finder), Cyber Evaluation Agency (the person named on RED reports and
/// an unnamed colleague), Infrastructure Agency, Router Vendor (the case's vendor), Switch Vendor (no part in
/// any case), Grid Operator, Water ISAC (an operator, named as client on AMBER reports and cases), and the
/// clearinghouse (a coordinator).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Who {
    Public,
    Reporter,
    Colleague,
    Developer,
    Agency,
    Vendor,
    Operator,
    Client,
    Named,
    Unnamed,
    Coordinator,
    Participant,
    Finder,
}

const READERS: [Who; 13] = [
    Who::Public,
    Who::Reporter,
    Who::Colleague,
    Who::Developer,
    Who::Agency,
    Who::Vendor,
    Who::Operator,
    Who::Client,
    Who::Named,
    Who::Unnamed,
    Who::Coordinator,
    Who::Participant,
    Who::Finder,
];

/// Where the case of a fixture stands.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stage {
    pub(crate) vendor_notified: bool,
    pub(crate) published: bool,
}

/// TLP 2.0 as the issue states it, with the embargo. The person who shared an object reads it. RED: the
/// people named, no one else (not even coordinators). Otherwise the recipients read it at once — the
/// reporter's organisation, coordinators, and the case's notified vendor — and, once the case is published,
/// whoever the marking admits: CLEAR anyone, GREEN every signed-in member, AMBER the clients named,
/// AMBER+STRICT nobody more.
pub(crate) fn may_read(m: Marking, who: Who, stage: Stage) -> bool {
    if who == Who::Reporter {
        return true;
    }
    if m == Marking::Red {
        return who == Who::Named;
    }
    if matches!(who, Who::Colleague | Who::Coordinator) {
        return true;
    }
    if who == Who::Participant && stage.vendor_notified {
        return true;
    }
    if !stage.published {
        return false;
    }
    match m {
        Marking::Clear => true,
        Marking::Green => who != Who::Public,
        Marking::Amber => who == Who::Client,
        Marking::AmberStrict | Marking::Red => false,
    }
}

/// The discussion: among those who may read the case, its notified participants and coordinators only.
fn discusses(who: Who, stage: Stage) -> bool {
    matches!(who, Who::Reporter | Who::Colleague | Who::Coordinator)
        || (who == Who::Participant && stage.vendor_notified)
}

/// Organisations subscribed to every advisory (severity low and above), whose people and webhook endpoints
/// hear of a publication when they may read the advisory.
fn subscribed(who: Who) -> bool {
    matches!(
        who,
        Who::Developer | Who::Agency | Who::Vendor | Who::Operator | Who::Client | Who::Participant
    )
}

/// A reader: an API token and a browser session (none for the public).
pub(crate) struct Reader {
    pub(crate) who: Who,
    pub(crate) persona: Option<Persona>,
    pub(crate) web: Web,
    admin: bool,
}

impl Reader {
    fn user(&self) -> Option<Uuid> {
        self.persona.as_ref().map(|p| p.user_id)
    }

    fn org(&self) -> Option<Uuid> {
        self.persona.as_ref().map(|p| p.org_id)
    }
}

async fn reader(t: &TestApp, who: Who, org: &str, email: &str, role: &str) -> Reader {
    member(t, org, email, role, "Reader").await;
    let token = t.app.provision_token(email, None).await.unwrap();
    let web = Web::sign_in(t, &crate::web::Member { email: email.into() }).await;
    let me = t
        .call(reqwest::Method::GET, "/api/v1/me", Some(token.expose()), None)
        .await;
    let persona = Persona {
        name: "reader",
        token: token.expose().to_owned(),
        user_id: me.ok()["user"]["id"].as_str().unwrap().parse().unwrap(),
        org_id: me.ok()["organization"]["id"].as_str().unwrap().parse().unwrap(),
        email: email.into(),
    };
    Reader {
        who,
        persona: Some(persona),
        web,
        admin: role == "admin",
    }
}

pub(crate) struct Cast {
    pub(crate) readers: Vec<Reader>,
}

impl Cast {
    pub(crate) async fn new(t: &TestApp) -> Cast {
        // The first program administrator's `admin init` creates the clearinghouse organisation.
        t.program_admin().await;
        for (kind, name) in [
            ("developer", "Frontier Lab"),
            ("developer", "Other Lab"),
            ("developer", "Third Lab"),
            ("agency", "Cyber Evaluation Agency"),
            ("agency", "Infrastructure Agency"),
            ("vendor", "Router Vendor"),
            ("vendor", "Switch Vendor"),
            ("operator", "Grid Operator"),
            ("operator", "Water ISAC"),
        ] {
            t.org(kind, name).await;
        }
        let mut readers = vec![Reader {
            who: Who::Public,
            persona: None,
            web: Web::new(t),
            admin: false,
        }];
        for (who, org, email, role) in [
            (Who::Reporter, "Frontier Lab", "rep@lab.example", "member"),
            (Who::Colleague, "Frontier Lab", "col@lab.example", "member"),
            (Who::Developer, "Other Lab", "dev@other.example", "admin"),
            (Who::Agency, "Infrastructure Agency", "a@infra.example", "admin"),
            (Who::Vendor, "Switch Vendor", "psirt@switch.example", "admin"),
            (Who::Operator, "Grid Operator", "soc@grid.example", "admin"),
            (Who::Client, "Water ISAC", "soc@isac.example", "admin"),
            (
                Who::Named,
                "Cyber Evaluation Agency",
                "named@cea.example",
                "member",
            ),
            (
                Who::Unnamed,
                "Cyber Evaluation Agency",
                "other@cea.example",
                "member",
            ),
            (Who::Coordinator, "Clearinghouse", "coord@ch.example", "member"),
            (Who::Participant, "Router Vendor", "psirt@router.example", "admin"),
            (Who::Finder, "Third Lab", "finder@third.example", "admin"),
        ] {
            readers.push(reader(t, who, org, email, role).await);
        }
        let cast: Vec<Who> = readers.iter().map(|r| r.who).collect();
        assert_eq!(cast, READERS, "every reader of the matrix, once");
        Cast { readers }
    }

    pub(crate) fn get(&self, who: Who) -> &Persona {
        self.readers
            .iter()
            .find(|r| r.who == who)
            .and_then(|r| r.persona.as_ref())
            .unwrap()
    }
}

/// What one marking's fixture made.
pub(crate) struct Fixture {
    pub(crate) marking: Marking,
    pub(crate) report: Uuid,
    attachment: Uuid,
    pub(crate) duplicate: Uuid,
    pub(crate) case: Uuid,
    pub(crate) stage: Stage,
    pub(crate) advisory: Option<Uuid>,
}

impl Fixture {
    fn ids(&self) -> Vec<String> {
        let mut ids = vec![self.report, self.duplicate, self.case];
        ids.extend(self.advisory);
        ids.iter().map(Uuid::to_string).collect()
    }
}

fn body(m: Marking, n: usize, named: Uuid) -> Value {
    let mut body = json!({
        "kind": "vulnerability",
        "title": format!("Heap overflow in matrix-lib-{n} header parsing"),
        "description": format!("A long header overflows a fixed buffer in matrix-lib-{n}; ASan reports a heap-buffer-overflow WRITE in parse_header."),
        "tlp": m.api(),
        "affected": [{"purl": format!("pkg:npm/matrix-lib-{n}"), "versions": ">=1.0.0, <1.4.0"}],
        "cwe": "CWE-787",
        "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "location": "parser.c:parse_header",
    });
    if m == Marking::Red {
        body["people"] = json!([named]);
    }
    body
}

pub(crate) async fn build(t: &TestApp, cast: &Cast, m: Marking, n: usize) -> Fixture {
    let (rep, coo, vendor) = (
        cast.get(Who::Reporter),
        cast.get(Who::Coordinator),
        cast.get(Who::Participant),
    );
    let named = cast.get(Who::Named).user_id;
    let filed = t.post(rep, "/api/v1/reports", body(m, n, named)).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{m:?}: {}", filed.body);
    let report = id_of(&filed.body);
    let case: Uuid = filed.body["case_id"].as_str().unwrap().parse().unwrap();
    let attached = crate::reports::attach(
        t,
        Some(rep),
        report,
        "role=reproducer&name=poc.txt",
        b"crash".to_vec(),
    )
    .await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.body);
    let attachment = id_of(&attached.body);
    let dup = t
        .post(cast.get(Who::Finder), "/api/v1/reports", body(m, n, named))
        .await;
    assert_eq!(dup.status, StatusCode::CREATED, "{}", dup.body);
    assert_eq!(dup.body["joined"], json!(true), "{m:?}: {}", dup.body);
    assert_eq!(dup.body["case_id"], json!(case), "{m:?}");
    let duplicate = id_of(&dup.body);

    let path = |p: &str| format!("/api/v1/cases/{case}{p}");
    let add = json!({"org_id": vendor.org_id, "role": "vendor"});
    let added = t.post(coo, &path("/participants"), add).await;
    let vendor_notified = m != Marking::Red;
    if !vendor_notified {
        // RED: the coordinator is not named, so for them the case does not exist.
        added.problem(404, "not-found");
        return Fixture {
            marking: m,
            report,
            attachment,
            duplicate,
            case,
            stage: Stage {
                vendor_notified,
                published: false,
            },
            advisory: None,
        };
    }
    assert!(added.status.is_success(), "{}", added.body);
    for to in ["triaged", "vendors_notified"] {
        let moved = t.post(coo, &path("/transition"), json!({"to": to})).await;
        assert!(moved.status.is_success(), "{m:?} → {to}: {}", moved.body);
    }
    let status = json!({"report_id": report, "status": "affected", "statement": "Affected; fix in 1.4.0."});
    let stated = t
        .put(
            vendor,
            &path(&format!("/vendors/{}/status", vendor.org_id)),
            status,
        )
        .await;
    assert!(stated.status.is_success(), "{}", stated.body);
    let posted = t
        .post(coo, &path("/posts"), json!({"body": "Please confirm the fix."}))
        .await;
    assert!(posted.status.is_success(), "{}", posted.body);
    // Clients are named on AMBER only: a clear 409 for any other marking.
    let client = json!({"organizations": [cast.get(Who::Client).org_id]});
    let on_report = t
        .put(
            rep,
            &format!("/api/v1/reports/{report}/tlp-clients"),
            client.clone(),
        )
        .await;
    let on_case = t.put(coo, &path("/tlp-clients"), client).await;
    for named in [&on_report, &on_case] {
        if m == Marking::Amber {
            assert_eq!(named.status, StatusCode::OK, "{}", named.body);
        } else {
            named.problem(409, "conflict");
        }
    }
    Fixture {
        marking: m,
        report,
        attachment,
        duplicate,
        case,
        stage: Stage {
            vendor_notified,
            published: false,
        },
        advisory: None,
    }
}

/// The failures of one marking × reader, each naming its path.
struct Cell<'a> {
    f: &'a Fixture,
    who: Who,
    failures: &'a mut Vec<String>,
}

impl Cell<'_> {
    fn check(&mut self, path: &str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            let phase = if self.f.stage.published {
                "published"
            } else {
                "embargoed"
            };
            self.failures.push(format!(
                "{:?} ({phase}) × {:?} × {path}: {}",
                self.f.marking,
                self.who,
                detail()
            ));
        }
    }

    fn status(&mut self, path: &str, got: StatusCode, want: u16) {
        self.check(path, got.as_u16() == want, || format!("{got}, expected {want}"));
    }

    fn listed(&mut self, path: &str, listed: bool, want: bool) {
        self.check(path, listed == want, || {
            format!("listed: {listed}, expected {want} (a list shows exactly what a read shows)")
        });
    }
}

fn ids_in(list: &Value, key: &str) -> BTreeSet<String> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i[key].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn api(t: &TestApp, r: &Reader, path: &str) -> Reply {
    let token = r.persona.as_ref().map(|p| p.token.as_str());
    t.call(reqwest::Method::GET, path, token, None).await
}

/// Every path of one fixture as one reader.
async fn read_all(t: &TestApp, f: &Fixture, r: &Reader, events: &[Value], failures: &mut Vec<String>) {
    let who = r.who;
    let readable = may_read(f.marking, who, f.stage);
    let signed_in = r.persona.is_some();
    let mut cell = Cell { f, who, failures };
    let hidden = if readable { 200 } else { 404 };

    // The report, its attachment, and the reports list (the public reads without credentials).
    let got = api(t, r, &format!("/api/v1/reports/{}", f.report)).await;
    cell.status("GET /api/v1/reports/{id}", got.status, hidden);
    let path = format!("/api/v1/reports/{}/attachments/{}", f.report, f.attachment);
    let got = api(t, r, &path).await;
    cell.status("GET /api/v1/reports/{id}/attachments/{id}", got.status, hidden);
    let path = format!(
        "/api/v1/reports?limit=200&tlp={}",
        f.marking.api().replace('+', "%2B")
    );
    let list = api(t, r, &path).await;
    let listed = ids_in(&list.body, "id").contains(&f.report.to_string());
    cell.listed("GET /api/v1/reports", listed, readable);

    // The case, its discussion, its vendors' statuses and the cases list: signed-in members only.
    let case = api(t, r, &format!("/api/v1/cases/{}", f.case)).await;
    let cases = api(t, r, "/api/v1/cases?limit=200").await;
    let posts = api(t, r, &format!("/api/v1/cases/{}/posts", f.case)).await;
    if signed_in {
        cell.status("GET /api/v1/cases/{id}", case.status, hidden);
        let listed = ids_in(&cases.body, "id").contains(&f.case.to_string());
        cell.listed("GET /api/v1/cases", listed, readable);
        let want = match (readable, discusses(who, f.stage)) {
            (false, _) => 404,
            (true, true) => 200,
            (true, false) => 403,
        };
        cell.status("GET /api/v1/cases/{id}/posts", posts.status, want);
        if case.status == StatusCode::OK {
            let statuses = case.body["vendor_statuses"].as_array().unwrap();
            let shown = statuses.iter().any(|s| s["status"] == "affected");
            cell.check(
                "GET /api/v1/cases/{id} vendor_statuses",
                shown == f.stage.vendor_notified,
                || format!("statuses {statuses:?}"),
            );
            let reports = &case.body["reports"];
            let shows = reports.as_array().unwrap().contains(&json!(f.report));
            cell.listed("GET /api/v1/cases/{id} reports", shows, readable);
        }
    } else {
        for (path, got) in [
            ("GET /api/v1/cases/{id}", &case),
            ("GET /api/v1/cases", &cases),
            ("GET /api/v1/cases/{id}/posts", &posts),
        ] {
            cell.status(path, got.status, 401);
        }
    }

    // Advisories: none before publication; after it, read as the case is.
    let advisories = api(t, r, "/api/v1/advisories?limit=200").await;
    let listed = ids_in(&advisories.body, "case_id").contains(&f.case.to_string());
    cell.listed("GET /api/v1/advisories", listed, readable && f.advisory.is_some());
    let page = r.web.get("/advisories").await;
    if let Some(advisory) = f.advisory {
        let got = api(t, r, &format!("/api/v1/advisories/{advisory}")).await;
        cell.status("GET /api/v1/advisories/{id}", got.status, hidden);
        let web = r.web.get(&format!("/advisories/{advisory}")).await;
        cell.status("page /advisories/{id}", web.status, hidden);
        let shown = page.body.contains(&advisory.to_string());
        cell.listed("page /advisories", shown, readable);
    }

    // The pages of the report and the case: sign-in first.
    for (path, id) in [("/reports", f.report), ("/cases", f.case)] {
        let web = r.web.get(&format!("{path}/{id}")).await;
        let want = if signed_in { hidden } else { 303 };
        cell.status(&format!("page {path}/{{id}}"), web.status, want);
    }

    // The audit trail about the report and the case: all of it for those who read the object; otherwise only
    // the reader's own actions (and, for an admin, their organisation's people's).
    for (label, object) in [("report", f.report), ("case", f.case)] {
        let path = format!("/api/v1/audit?object_id={object}&limit=200");
        let got = api(t, r, &path).await;
        if !signed_in {
            cell.status(&format!("GET /api/v1/audit (the {label})"), got.status, 401);
            continue;
        }
        let seen = ids_in(&got.body, "id");
        let expected: BTreeSet<String> = events
            .iter()
            .filter(|e| e["object_id"] == json!(object))
            .filter(|e| {
                readable
                    || e["actor_user_id"] == json!(r.user())
                    || (r.admin && e["actor_org_id"] == json!(r.org()))
            })
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        cell.check(
            &format!("GET /api/v1/audit (the {label})"),
            seen == expected,
            || {
                let actions = |ids: &BTreeSet<String>| {
                    events
                        .iter()
                        .filter(|e| ids.contains(e["id"].as_str().unwrap()))
                        .map(|e| e["action"].as_str().unwrap().to_owned())
                        .collect::<Vec<_>>()
                };
                format!("saw {:?}, expected {:?}", actions(&seen), actions(&expected))
            },
        );
    }

    // The inbox: the vendor hears it was notified, the duplicate's finder that it joined a case, subscribers
    // that the advisory is out — each only if they may read it.
    if signed_in {
        let inbox = api(t, r, "/api/v1/notifications?limit=200").await;
        let ids = f.ids();
        let kinds: BTreeSet<String> = inbox.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| {
                ids.iter()
                    .any(|id| n["link"].as_str().unwrap().contains(id.as_str()))
            })
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect();
        let mut expected = BTreeSet::new();
        if who == Who::Participant && f.stage.vendor_notified {
            expected.insert("case.vendors_notified".to_owned());
        }
        if who == Who::Finder {
            expected.insert("report.duplicate".to_owned());
        }
        if f.advisory.is_some() && subscribed(who) && readable {
            expected.insert("advisory.published".to_owned());
        }
        cell.check("GET /api/v1/notifications", kinds == expected, || {
            format!("{kinds:?}, expected {expected:?}")
        });
    }
}

/// The webhook deliveries queued for one fixture: (endpoint, event type).
async fn deliveries(t: &TestApp, f: &Fixture) -> BTreeSet<(Uuid, String)> {
    let jobs = t
        .app
        .store
        .list_jobs(&store::JobQuery {
            state: None,
            kind: Some("webhook.deliver".into()),
            page: store::Page {
                after: None,
                limit: 1000,
            },
        })
        .await
        .unwrap();
    let ids = f.ids();
    jobs.iter()
        .filter(|j| {
            let body = j.payload["body"].as_str().unwrap_or("");
            ids.iter().any(|id| body.contains(id.as_str()))
        })
        .map(|j| {
            let endpoint = j.payload["endpoint_id"].as_str().unwrap().parse().unwrap();
            (endpoint, j.payload["event_type"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// What each organisation's endpoint must receive for a fixture: an organisation hears what any of its
/// people may read (RED excepted: it is for the people named, not their organisation).
fn expected_deliveries(f: &Fixture, endpoints: &[(Who, Uuid)]) -> BTreeSet<(Uuid, String)> {
    let mut out = BTreeSet::new();
    for (who, endpoint) in endpoints {
        if *who == Who::Participant && f.stage.vendor_notified {
            out.insert((*endpoint, "case.vendors_notified".to_owned()));
        }
        if *who == Who::Finder && f.marking != Marking::Red {
            out.insert((*endpoint, "report.duplicate".to_owned()));
        }
        if f.advisory.is_some() && subscribed(*who) && may_read(f.marking, *who, f.stage) {
            out.insert((*endpoint, "advisory.published".to_owned()));
        }
    }
    out
}

async fn check_phase(
    t: &TestApp,
    cast: &Cast,
    fixtures: &[Fixture],
    endpoints: &[(Who, Uuid)],
    failures: &mut Vec<String>,
) {
    deliver(t).await;
    let events: Vec<Value> = t
        .audit_after(0)
        .await
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id, "action": e.action, "object_id": e.object_id,
                "actor_user_id": e.actor_user_id, "actor_org_id": e.actor_org_id,
            })
        })
        .collect();
    for f in fixtures {
        for r in &cast.readers {
            read_all(t, f, r, &events, failures).await;
        }
        let got = deliveries(t, f).await;
        let want = expected_deliveries(f, endpoints);
        if got != want {
            let name = |set: &BTreeSet<(Uuid, String)>| {
                set.iter()
                    .map(|(e, k)| {
                        let who = endpoints.iter().find(|(_, id)| id == e).map(|(w, _)| *w);
                        format!("{who:?}:{k}")
                    })
                    .collect::<Vec<_>>()
            };
            failures.push(format!(
                "{:?} (published: {}) × webhooks: {:?}, expected {:?}",
                f.marking,
                f.stage.published,
                name(&got),
                name(&want)
            ));
        }
    }
}

#[tokio::test]
async fn every_marking_reaches_exactly_its_readers_on_every_path() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    // Subscriptions and webhook endpoints of the organisations that subscribe (and of the finder's).
    let mut endpoints = Vec::new();
    for r in &cast.readers {
        let Some(p) = &r.persona else { continue };
        if subscribed(r.who) {
            let made = t
                .post(p, "/api/v1/subscriptions", json!({"min_severity": "low"}))
                .await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        }
        if subscribed(r.who) || r.who == Who::Finder {
            let hook = json!({
                "url": "https://hooks.example.com/in",
                "events": ["advisory.published", "case.vendors_notified", "report.duplicate"],
                "description": format!("{:?}", r.who),
            });
            let made = t.post(p, "/api/v1/webhooks", hook).await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
            endpoints.push((r.who, id_of(&made.body)));
        }
    }
    let mut fixtures = Vec::new();
    for (n, m) in MARKINGS.into_iter().enumerate() {
        fixtures.push(build(&t, &cast, m, n).await);
    }

    let mut failures = Vec::new();
    check_phase(&t, &cast, &fixtures, &endpoints, &mut failures).await;

    // Publication, by the coordinator (who cannot read the RED case, so it stays under embargo).
    let coordinator = cast.get(Who::Coordinator);
    for f in &mut fixtures {
        if f.marking == Marking::Red {
            continue;
        }
        let path = format!("/api/v1/cases/{}/transition", f.case);
        let moved = t.post(coordinator, &path, json!({"to": "published"})).await;
        assert!(moved.status.is_success(), "{:?}: {}", f.marking, moved.body);
        f.stage.published = true;
        let list = t.get(coordinator, "/api/v1/advisories?limit=200").await;
        let items = list.ok()["items"].as_array().unwrap().clone();
        let advisory = items.iter().find(|a| a["case_id"] == json!(f.case)).unwrap();
        f.advisory = Some(id_of(advisory));
    }
    check_phase(&t, &cast, &fixtures, &endpoints, &mut failures).await;

    let mut report = String::new();
    for failure in &failures {
        writeln!(report, "{failure}").unwrap();
    }
    assert!(failures.is_empty(), "{} cells wrong:\n{report}", failures.len());
}

#[test]
fn the_rule_reads_as_the_issue_states_it() {
    let embargoed = Stage {
        vendor_notified: true,
        published: false,
    };
    let published = Stage {
        vendor_notified: true,
        published: true,
    };
    // Under embargo, the marking admits no one beyond the recipients.
    for m in MARKINGS {
        assert!(!may_read(m, Who::Public, embargoed));
        assert!(!may_read(m, Who::Client, embargoed));
        assert!(may_read(m, Who::Reporter, embargoed));
    }
    assert!(may_read(Marking::Clear, Who::Public, published));
    assert!(!may_read(Marking::Green, Who::Public, published));
    assert!(may_read(Marking::Green, Who::Finder, published));
    assert!(may_read(Marking::Amber, Who::Client, published));
    assert!(!may_read(Marking::Amber, Who::Operator, published));
    assert!(!may_read(Marking::AmberStrict, Who::Client, published));
    assert!(may_read(Marking::AmberStrict, Who::Participant, published));
    assert!(!may_read(Marking::Red, Who::Coordinator, published));
    assert!(!may_read(Marking::Red, Who::Unnamed, published));
    assert!(may_read(Marking::Red, Who::Named, embargoed));
}

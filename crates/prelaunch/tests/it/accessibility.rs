//! axe-core on every page of the web UI, in headless Chromium, as the people who can reach each page: no
//! serious or critical violation anywhere. `PAGES` is the one table of pages; a test checks that every page
//! route the web UI serves has a row, so a page added later is checked too.
//!
//! Environment: `PRELAUNCH_TEST_AXE`, the path of axe-core's `axe.min.js` (pinned in tests/axe, installed by
//! scripts/test.sh), besides the browser's (see browser.rs).

use crate::browser::Browser;
use crate::support::*;
use crate::upstream::Upstream;
use crate::web::{PASSWORD, wait_for};
use accounts::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Who looks at a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    /// Not signed in.
    Anyone,
    ProgramAdmin,
    Coordinator,
    DevAdmin,
    DevMember,
    AgencyAdmin,
    Evaluator,
    Vendor,
}

/// The objects the pages show.
struct Fx {
    notice: Uuid,
    connection: Uuid,
    finding: Uuid,
    assessment: Uuid,
    call: Uuid,
    run: Uuid,
    other_run: Uuid,
    org: Uuid,
    webhook: Uuid,
    report: Uuid,
    case: Uuid,
    advisory: Uuid,
    event: Uuid,
    invitation: String,
    /// A result of `run`: its sample and epoch.
    sample: (String, i64),
}

/// A page: its route as the router spells it, who looks at it, its address for the fixture, and the status
/// it answers with.
struct PageRow {
    route: &'static str,
    who: Who,
    path: fn(&Fx) -> String,
    status: u16,
}

const fn row(route: &'static str, who: Who, path: fn(&Fx) -> String) -> PageRow {
    PageRow {
        route,
        who,
        path,
        status: 200,
    }
}

/// The status of a row whose address redirects to a page (checked where the browser lands).
const REDIRECT: u16 = 303;

/// A page shown with an error status (a link no longer valid, a page that does not exist).
const fn error_row(route: &'static str, who: Who, path: fn(&Fx) -> String, status: u16) -> PageRow {
    PageRow {
        route,
        who,
        path,
        status,
    }
}

/// Every page of the web UI. Pages several kinds of people see differently get a row for each.
const PAGES: &[PageRow] = &[
    row("/login", Who::Anyone, |_| "/login".into()),
    row("/setup/{token}", Who::Anyone, |f| {
        format!("/setup/{}", f.invitation)
    }),
    row("/invitations/{token}", Who::Anyone, |f| {
        format!("/invitations/{}", f.invitation)
    }),
    row("/password-reset", Who::Anyone, |_| "/password-reset".into()),
    error_row(
        "/password-reset/{token}",
        Who::Anyone,
        |_| "/password-reset/no-such-link".into(),
        404,
    ),
    row("/api-reference", Who::Anyone, |_| "/api-reference".into()),
    row("/account", Who::DevMember, |_| "/account".into()),
    row("/", Who::ProgramAdmin, |_| "/".into()),
    row("/", Who::DevAdmin, |_| "/".into()),
    row("/", Who::AgencyAdmin, |_| "/".into()),
    row("/", Who::Evaluator, |_| "/".into()),
    row("/", Who::Vendor, |_| "/".into()),
    row("/notices", Who::DevAdmin, |_| "/notices".into()),
    row("/notices", Who::AgencyAdmin, |_| "/notices".into()),
    row("/notices/new", Who::DevAdmin, |_| "/notices/new".into()),
    row("/notices/{id}", Who::DevAdmin, |f| {
        format!("/notices/{}", f.notice)
    }),
    row("/notices/{id}", Who::AgencyAdmin, |f| {
        format!("/notices/{}", f.notice)
    }),
    row("/notices/{id}", Who::Evaluator, |f| {
        format!("/notices/{}", f.notice)
    }),
    row("/notices/{id}/edit", Who::DevAdmin, |f| {
        format!("/notices/{}/edit", f.notice)
    }),
    row("/notices/{id}/eval-runs", Who::Evaluator, |f| {
        format!("/notices/{}/eval-runs", f.notice)
    }),
    row("/eval-runs/{id}", Who::Evaluator, |f| {
        format!("/eval-runs/{}", f.run)
    }),
    // The comparison form's target, which sends the browser on to the comparison page.
    error_row(
        "/eval-runs/{id}/compare",
        Who::Evaluator,
        |f| format!("/eval-runs/{}/compare?with={}", f.run, f.other_run),
        REDIRECT,
    ),
    row("/eval-runs/{id}/compare/{other}", Who::Evaluator, |f| {
        format!("/eval-runs/{}/compare/{}", f.run, f.other_run)
    }),
    row("/eval-runs/{id}/samples/{sample}/{epoch}", Who::Evaluator, |f| {
        format!("/eval-runs/{}/samples/{}/{}", f.run, f.sample.0, f.sample.1)
    }),
    row("/notices/{id}/connections", Who::DevAdmin, |f| {
        format!("/notices/{}/connections", f.notice)
    }),
    row("/notices/{id}/connections/{connection}", Who::DevAdmin, |f| {
        format!("/notices/{}/connections/{}", f.notice, f.connection)
    }),
    row("/notices/{id}/gateway-tokens", Who::Evaluator, |f| {
        format!("/notices/{}/gateway-tokens", f.notice)
    }),
    row("/notices/{id}/gateway-usage", Who::DevAdmin, |f| {
        format!("/notices/{}/gateway-usage", f.notice)
    }),
    row("/findings/{id}", Who::Evaluator, |f| {
        format!("/findings/{}", f.finding)
    }),
    row("/findings/{id}", Who::DevMember, |f| {
        format!("/findings/{}", f.finding)
    }),
    row("/findings/{id}/edit", Who::Evaluator, |f| {
        format!("/findings/{}/edit", f.finding)
    }),
    row("/gateway-calls/{id}", Who::Evaluator, |f| {
        format!("/gateway-calls/{}", f.call)
    }),
    row("/assessments/{id}", Who::AgencyAdmin, |f| {
        format!("/assessments/{}", f.assessment)
    }),
    row("/organizations", Who::ProgramAdmin, |_| "/organizations".into()),
    row("/organizations/{id}", Who::ProgramAdmin, |f| {
        format!("/organizations/{}", f.org)
    }),
    row("/organizations/{id}", Who::DevAdmin, |f| {
        format!("/organizations/{}", f.org)
    }),
    row("/tokens", Who::DevAdmin, |_| "/tokens".into()),
    row("/notifications", Who::Evaluator, |_| "/notifications".into()),
    row("/notifications/preferences", Who::Evaluator, |_| {
        "/notifications/preferences".into()
    }),
    row("/webhooks", Who::DevAdmin, |_| "/webhooks".into()),
    row("/webhooks/{id}", Who::DevAdmin, |f| {
        format!("/webhooks/{}", f.webhook)
    }),
    row("/policy", Who::ProgramAdmin, |_| "/policy".into()),
    row("/audit", Who::ProgramAdmin, |_| "/audit".into()),
    row("/jobs", Who::ProgramAdmin, |_| "/jobs".into()),
    row("/reports/new", Who::DevMember, |_| "/reports/new".into()),
    row("/reports/{id}", Who::DevMember, |f| {
        format!("/reports/{}", f.report)
    }),
    row("/reports/{id}", Who::Coordinator, |f| {
        format!("/reports/{}", f.report)
    }),
    row("/cases/{id}", Who::Coordinator, |f| format!("/cases/{}", f.case)),
    row("/cases/{id}", Who::Vendor, |f| format!("/cases/{}", f.case)),
    row("/triage", Who::Coordinator, |_| "/triage".into()),
    row("/inbox", Who::Vendor, |_| "/inbox".into()),
    row("/advisories", Who::Vendor, |_| "/advisories".into()),
    row("/advisories/{id}", Who::Vendor, |f| {
        format!("/advisories/{}", f.advisory)
    }),
    row("/subscriptions", Who::Vendor, |_| "/subscriptions".into()),
    row("/vendor-policy", Who::Vendor, |_| "/vendor-policy".into()),
    row("/clearinghouse/metrics", Who::Coordinator, |_| {
        "/clearinghouse/metrics".into()
    }),
    row("/ledger", Who::DevAdmin, |_| "/ledger".into()),
    row("/ledger/objects/{id}", Who::DevAdmin, |f| {
        format!("/ledger/objects/{}", f.notice)
    }),
    row("/ledger/events/{id}", Who::DevAdmin, |f| {
        format!("/ledger/events/{}", f.event)
    }),
    // The error page, as someone signed in and as anyone.
    error_row("(not found)", Who::Evaluator, |_| "/no-such-page".into(), 404),
    error_row("(not found)", Who::Anyone, |_| "/no-such-page".into(), 404),
];

/// The page routes the web UI serves (every `.route("…", get(…))` of crates/server/src/web/mod.rs).
fn served_pages() -> BTreeSet<String> {
    let source = include_str!("../../../server/src/web/mod.rs");
    let mut pages = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let end = rest.find(".route(").unwrap_or(rest.len());
        let call = &rest[..end];
        let route = call.split('"').nth(1).unwrap();
        if call.contains("get(") {
            pages.insert(route.to_owned());
        }
    }
    pages
}

/// Routes of the web UI that answer with a file to keep, not a page.
const DOWNLOADS: &[&str] = &["/ledger/events/{id}/receipt", "/audit.csv"];

#[test]
fn every_page_the_web_ui_serves_has_a_row() {
    let mut served = served_pages();
    for download in DOWNLOADS {
        assert!(served.remove(*download), "{download} is no longer served");
    }
    assert!(
        served.contains("/notices/{id}") && served.len() > 40,
        "{served:?}"
    );
    let rows: BTreeSet<String> = PAGES.iter().map(|r| r.route.to_owned()).collect();
    let missing: Vec<&String> = served.difference(&rows).collect();
    assert!(missing.is_empty(), "pages without a row in PAGES: {missing:?}");
    let stale: Vec<&String> = rows.difference(&served).filter(|r| !r.starts_with('(')).collect();
    assert!(stale.is_empty(), "rows of pages no longer served: {stale:?}");
}

/// A person of `org` with a password (for the browser) and an API token (for the set-up).
pub(crate) async fn person(t: &TestApp, name: &'static str, org: &str, email: &str, role: &str) -> Persona {
    let (user, link) = t.app.provision_user(org, email, role).await.unwrap();
    let token = link.expose().rsplit('/').next().unwrap().to_owned();
    t.app
        .accept_invitation(&token, Some(email), name, &Secret::new(PASSWORD.into()))
        .await
        .unwrap();
    let api = t.app.provision_token(email, None).await.unwrap();
    Persona {
        name,
        token: api.expose().to_owned(),
        user_id: user.id,
        org_id: user.org_id,
        email: user.email,
    }
}

/// The people of the tests, with passwords, in the organisations `World::new` makes.
pub(crate) async fn world(t: &TestApp) -> World {
    t.program_admin().await;
    t.org("developer", "Frontier Lab").await;
    t.org("developer", "Other Lab").await;
    let agency = t.org("agency", "Cyber Evaluation Agency").await;
    let other_agency = t.org("agency", "Infrastructure Agency").await;
    t.org("vendor", "Router Vendor").await;
    t.org("operator", "Grid Operator").await;
    World {
        program_admin: person(
            t,
            "program admin",
            "Clearinghouse",
            "chief@clearinghouse.example",
            "admin",
        )
        .await,
        coordinator: person(
            t,
            "coordinator",
            "Clearinghouse",
            "coord@clearinghouse.example",
            "member",
        )
        .await,
        dev_admin: person(t, "developer admin", "Frontier Lab", "admin@lab.example", "admin").await,
        dev_member: person(
            t,
            "developer member",
            "Frontier Lab",
            "member@lab.example",
            "member",
        )
        .await,
        other_dev: person(
            t,
            "other developer",
            "Other Lab",
            "admin@other-lab.example",
            "admin",
        )
        .await,
        agency_admin: person(
            t,
            "agency admin",
            "Cyber Evaluation Agency",
            "admin@agency.example",
            "admin",
        )
        .await,
        evaluator: person(
            t,
            "evaluator",
            "Cyber Evaluation Agency",
            "eval@agency.example",
            "member",
        )
        .await,
        evaluator2: person(
            t,
            "evaluator two",
            "Cyber Evaluation Agency",
            "eval2@agency.example",
            "member",
        )
        .await,
        other_agency_admin: person(
            t,
            "other agency admin",
            "Infrastructure Agency",
            "admin@infra.example",
            "admin",
        )
        .await,
        other_evaluator: person(
            t,
            "other evaluator",
            "Infrastructure Agency",
            "eval@infra.example",
            "member",
        )
        .await,
        vendor: person(t, "vendor", "Router Vendor", "psirt@router.example", "admin").await,
        operator: person(t, "operator", "Grid Operator", "soc@grid.example", "member").await,
        agency,
        other_agency,
    }
}

/// Waits (through the API) until an evaluation run has ended.
async fn finished(t: &TestApp, who: &Persona, run: Uuid) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = t.get(who, &format!("/api/v1/eval-runs/{run}")).await.ok()["state"].clone();
        if state != "queued" && state != "running" {
            return;
        }
        assert!(Instant::now() < deadline, "the run did not end: {state}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn fixture(t: &TestApp, w: &World, up: &Upstream) -> Fx {
    let notice = id_of(&t.file_notice(&w.dev_admin, 10, &[w.agency, w.other_agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let connection = id_of(
        t.post(
            &w.dev_admin,
            &format!("/api/v1/notices/{notice}/connections"),
            crate::gateway::connection_body(up, json!({"model": crate::gateway::MODEL})),
        )
        .await
        .ok(),
    );
    let issued = t
        .post(
            &w.evaluator,
            &format!("/api/v1/notices/{notice}/gateway-tokens"),
            json!({"name": "laptop"}),
        )
        .await;
    let gateway_token = issued.ok()["token"].as_str().unwrap().to_owned();
    let called = t
        .client
        .post(t.url("/gateway/v1/chat/completions"))
        .bearer_auth(&gateway_token)
        .json(&json!({"model": crate::gateway::MODEL, "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(called.status(), StatusCode::OK);
    let call: Uuid = called.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let run_body =
        json!({"notice_id": notice, "model": crate::gateway::MODEL, "suite": "knowledge", "epochs": 1});
    let run = id_of(
        t.post(&w.evaluator, "/api/v1/eval-runs", run_body.clone())
            .await
            .ok(),
    );
    let other_run = id_of(t.post(&w.evaluator, "/api/v1/eval-runs", run_body).await.ok());
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
    let assessment = id_of(&t.publish_assessment(&w.evaluator, notice, &[]).await);
    let webhook = id_of(
        t.post(
            &w.dev_admin,
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/in", "events": ["notice.shared"], "description": "hook"}),
        )
        .await
        .ok(),
    );
    let report = id_of(
        t.post(
            &w.dev_member,
            "/api/v1/reports",
            json!({
                "kind": "threat", "title": "Campaign", "description": "Lures written by a model.",
                "tlp": "amber", "misuse": "Per-target lures.",
            }),
        )
        .await
        .ok(),
    );
    // A case with the vendor, published: its advisory; and one notified, under embargo.
    let mut cases = Vec::new();
    for publish in [false, true] {
        let body = json!({"title": "Overflow", "summary": "A long header.", "tlp": "clear", "vendors": [w.vendor.org_id]});
        let case = id_of(t.post(&w.coordinator, "/api/v1/cases", body).await.ok());
        let filed = crate::cases::Report::new(case, &w.dev_admin, t.clock_now());
        crate::cases::file_report(t, &filed).await;
        let moves: &[&str] = if publish {
            &["triaged", "vendors_notified", "published"]
        } else {
            &["triaged", "vendors_notified"]
        };
        for to in moves {
            let path = format!("/api/v1/cases/{case}/transition");
            t.post(&w.coordinator, &path, json!({"to": to})).await.ok();
        }
        cases.push(case);
    }
    let advisories = t.get(&w.coordinator, "/api/v1/advisories?limit=200").await;
    let advisory = id_of(
        advisories.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["case_id"] == json!(cases[1]))
            .unwrap(),
    );
    let events = t.audit_after(0).await;
    let event = events
        .iter()
        .find(|e| e.action == "notice.file" && e.object_id == Some(notice))
        .unwrap()
        .id;
    t.post(&w.program_admin, "/api/v1/ledger/checkpoints", json!({}))
        .await
        .ok();
    let (_, link) = t
        .app
        .provision_user("Frontier Lab", "pending@lab.example", "member")
        .await
        .unwrap();
    crate::notifications::deliver(t).await;
    finished(t, &w.evaluator, run).await;
    finished(t, &w.evaluator, other_run).await;
    let results = t
        .get(&w.evaluator, &format!("/api/v1/eval-runs/{run}/results?limit=1"))
        .await;
    let first = &results.ok()["items"][0];
    let sample = (
        first["sample_id"].as_str().unwrap().to_owned(),
        first["epoch"].as_i64().unwrap(),
    );
    Fx {
        sample,
        notice,
        connection,
        finding,
        assessment,
        call,
        run,
        other_run,
        org: w.dev_admin.org_id,
        webhook,
        report,
        case: cases[0],
        advisory,
        event,
        invitation: link.expose().rsplit('/').next().unwrap().to_owned(),
    }
}

/// Runs axe-core on the page the browser shows; the serious and critical violations, one line each.
async fn axe(browser: &Browser, source: &str) -> Vec<String> {
    let loaded = browser
        .execute(&format!("{source}\nreturn typeof window.axe;"), json!([]))
        .await
        .unwrap();
    assert_eq!(loaded, json!("object"), "axe-core did not load");
    let run = r#"
const done = arguments[arguments.length - 1];
window.axe.run(document, { resultTypes: ['violations'] })
  .then((r) => done(r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').split('\n').slice(1, 2).join('').trim().slice(0, 160)) }))))
  .catch((e) => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));
"#;
    let found = browser.execute_async(run, json!([])).await.unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v: &Value| format!("{} ({}): {} {}", v["id"], v["impact"], v["help"], v["nodes"]))
        .collect()
}

async fn sign_in(browser: &Browser, t: &TestApp, email: &str) {
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(browser, "header", "Sign out").await;
}

async fn sign_out(browser: &Browser, t: &TestApp) {
    browser.goto(&t.url("/account")).await.unwrap();
    browser.click("form[action='/logout'] button").await.unwrap();
    wait_for(browser, "h1", "Sign in").await;
}

/// What an axe test runs in: axe-core's source, a server with its world and fixture (and the upstream the
/// fixture's connections call), and a browser that waits long enough for axe.
struct AxeScene {
    source: String,
    t: TestApp,
    w: World,
    up: Upstream,
    f: Fx,
    browser: Browser,
}

async fn axe_scene() -> AxeScene {
    let axe_path = std::env::var("PRELAUNCH_TEST_AXE").expect(
        "PRELAUNCH_TEST_AXE: the path of axe-core's axe.min.js (scripts/test.sh installs it from tests/axe)",
    );
    let source = std::fs::read_to_string(&axe_path).unwrap();
    let t = spawn_app().await;
    let w = world(&t).await;
    let up = Upstream::start().await;
    let f = fixture(&t, &w, &up).await;
    let browser = Browser::start().await.unwrap();
    // axe-core takes seconds on a long page on a busy machine.
    browser
        .set_script_timeout(Duration::from_secs(120))
        .await
        .unwrap();
    AxeScene {
        source,
        t,
        w,
        up,
        f,
        browser,
    }
}

/// Whose e-mail a row's `who` signs in with (none: anyone, signed out).
fn email_of(w: &World, who: Who) -> Option<&String> {
    match who {
        Who::Anyone => None,
        Who::ProgramAdmin => Some(&w.program_admin.email),
        Who::Coordinator => Some(&w.coordinator.email),
        Who::DevAdmin => Some(&w.dev_admin.email),
        Who::DevMember => Some(&w.dev_member.email),
        Who::AgencyAdmin => Some(&w.agency_admin.email),
        Who::Evaluator => Some(&w.evaluator.email),
        Who::Vendor => Some(&w.vendor.email),
    }
}

fn assert_none(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The people whose pages each test below checks: the table split four ways, so that each test carries about
/// a quarter of the pages (each builds its own server and world) and the tests run side by side.
const GROUPS: [&[Who]; 4] = [
    &[Who::DevAdmin],
    &[Who::Evaluator, Who::DevMember],
    &[Who::Anyone, Who::ProgramAdmin],
    &[Who::Coordinator, Who::AgencyAdmin, Who::Vendor],
];

#[test]
fn every_person_of_the_table_is_in_exactly_one_group() {
    for row in PAGES {
        let groups = GROUPS.iter().filter(|g| g.contains(&row.who)).count();
        assert_eq!(groups, 1, "{} as {:?} is in {groups} groups", row.route, row.who);
    }
}

/// axe-core on every page of `PAGES` that one of `group` looks at, as that person.
async fn axe_pages_of(group: &[Who]) {
    let AxeScene {
        source,
        t,
        w,
        up: _up,
        f,
        browser,
    } = axe_scene().await;
    let mut people: Vec<Who> = PAGES
        .iter()
        .map(|r| r.who)
        .filter(|who| group.contains(who))
        .collect();
    people.sort();
    people.dedup();
    assert_eq!(people.len(), group.len(), "a group names someone with no page");
    let mut failures = Vec::new();
    for who in people {
        let email = email_of(&w, who);
        if let Some(email) = email {
            sign_in(&browser, &t, email).await;
        }
        for page in PAGES.iter().filter(|r| r.who == who) {
            let path = (page.path)(&f);
            browser.goto(&t.url(&path)).await.unwrap();
            let at = browser.current_url().await.unwrap();
            if page.status != REDIRECT && !at.ends_with(&path) {
                failures.push(format!(
                    "{who:?} was sent from {path} to {at}: the table names someone who cannot reach it"
                ));
                continue;
            }
            let status = browser
                .execute_async(
                    "const done = arguments[arguments.length - 1];\n\
                     fetch(location.href).then((r) => done(r.status), (e) => done(String(e)));",
                    json!([]),
                )
                .await
                .unwrap();
            if page.status != REDIRECT && status != json!(page.status) {
                failures.push(format!("{path} as {who:?}: status {status}, not {}", page.status));
            }
            for violation in axe(&browser, &source).await {
                failures.push(format!("{path} as {who:?}: {violation}"));
            }
        }
        if email.is_some() {
            sign_out(&browser, &t).await;
        }
    }
    browser.close().await.unwrap();
    assert_none(&failures);
}

#[tokio::test]
async fn a_developer_admins_pages_have_no_serious_or_critical_axe_violation() {
    axe_pages_of(GROUPS[0]).await;
}

#[tokio::test]
async fn an_evaluators_and_a_developer_members_pages_have_no_serious_or_critical_axe_violation() {
    axe_pages_of(GROUPS[1]).await;
}

#[tokio::test]
async fn the_public_and_program_admin_pages_have_no_serious_or_critical_axe_violation() {
    axe_pages_of(GROUPS[2]).await;
}

#[tokio::test]
async fn the_clearinghouse_and_agency_admin_pages_have_no_serious_or_critical_axe_violation() {
    axe_pages_of(GROUPS[3]).await;
}

/// Pages that no address shows, only a sent form: a form's errors at the top of the page it comes back to, and
/// the confirmation asked before a destructive action. Each: who, the page with the form, the form (sent with its
/// `required` checks lifted, so an empty form is sent empty), and what the page it leads to says.
type SentRow = (Who, fn(&Fx) -> String, &'static str, &'static str);
const SENT: &[SentRow] = &[
    (
        Who::DevAdmin,
        |_| "/notices/new".into(),
        "form[action='/notices']",
        "There is a problem",
    ),
    (
        Who::AgencyAdmin,
        |f| format!("/notices/{}", f.notice),
        "form[action$='/remove']",
        "loses access",
    ),
];

#[tokio::test]
async fn pages_a_sent_form_leads_to_have_no_serious_or_critical_axe_violation() {
    let AxeScene {
        source,
        t,
        w,
        up: _up,
        f,
        browser,
    } = axe_scene().await;
    let mut failures = Vec::new();
    for (who, path, form, says) in SENT {
        let email = email_of(&w, *who).unwrap_or_else(|| panic!("no sign-in for {who:?} here"));
        sign_in(&browser, &t, email).await;
        let path = path(&f);
        browser.goto(&t.url(&path)).await.unwrap();
        let sent = browser
            .execute(
                "const f = document.querySelector(arguments[0]);\n\
                 if (!f) { return false; }\n\
                 f.querySelectorAll('[required]').forEach((e) => e.removeAttribute('required'));\n\
                 HTMLFormElement.prototype.submit.call(f);\n\
                 return true;",
                json!([form]),
            )
            .await
            .unwrap();
        assert_eq!(sent, json!(true), "{path} as {who:?} has no {form}");
        wait_for(&browser, "main", says).await;
        for violation in axe(&browser, &source).await {
            failures.push(format!("{form} sent from {path} as {who:?}: {violation}"));
        }
        sign_out(&browser, &t).await;
    }
    browser.close().await.unwrap();
    assert_none(&failures);
}

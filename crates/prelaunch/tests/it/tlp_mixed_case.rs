//! One case holding reports of every marking, read by every reader of the TLP matrix: what a case shows of each
//! report — the report in its list, its title, its finder's credit, a vendor's statement on it — appears
//! exactly when the reader may read that report, on the API and the case page, under embargo and once
//! published; and the advisory generated at publication names only what its own marking lets it carry.
//!
//! The case is TLP:CLEAR, opened by the reporter's CLEAR report; the reporter then files a GREEN, an AMBER
//! (Water ISAC named as client), an AMBER+STRICT and a RED (one person named) duplicate, each joining it, each
//! with its own finder and words. A coordinator adds Router Vendor and notifies it; the vendor states its status
//! on every report it may read. Expectations come from the matrix's `may_read`, per report.

use crate::support::*;
use crate::tlp_matrix::{Cast, MARKINGS, Marking, Reader, Stage, Who, api, may_read};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::fmt::Write;
use uuid::Uuid;

/// A report of the mixed case, with the words that are its alone.
struct Filed {
    marking: Marking,
    id: Uuid,
    title: String,
    finder: String,
    statement: Option<String>,
    versions: &'static str,
}

/// A word per marking that appears nowhere else on a page (the markings' own labels do).
fn token(m: Marking) -> &'static str {
    match m {
        Marking::Clear => "alpha",
        Marking::Green => "bravo",
        Marking::Amber => "charlie",
        Marking::AmberStrict => "delta",
        Marking::Red => "echo",
    }
}

/// Overlapping ranges of one product, a different one per report, so the advisory shows whose it lists.
fn versions(m: Marking) -> &'static str {
    match m {
        Marking::Clear => ">=2.0.0, <2.3.0",
        Marking::Green => ">=2.0.1, <2.3.0",
        Marking::Amber => ">=2.0.2, <2.3.0",
        Marking::AmberStrict => ">=2.0.3, <2.3.0",
        Marking::Red => ">=2.0.4, <2.3.0",
    }
}

async fn file(t: &TestApp, cast: &Cast, m: Marking, case: Option<Uuid>) -> (Filed, Uuid) {
    let word = token(m);
    let title = format!("Use after free in mixedlib request router, filing {word}");
    let finder = format!("Finder {word}");
    let mut body = json!({
        "kind": "vulnerability",
        "title": title,
        "description": "Freeing a pooled request twice in mixedlib's router leaves a dangling handler; ASan reports a heap-use-after-free READ in route_dispatch.",
        "tlp": m.api(),
        "affected": [{"purl": "pkg:npm/mixedlib", "versions": versions(m)}],
        "cwe": "CWE-416",
        "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "location": "router.c:route_dispatch",
        "finder": {"kind": "person", "name": finder},
    });
    if m == Marking::Red {
        body["people"] = json!([cast.get(Who::Named).user_id]);
    }
    let filed = t.post(cast.get(Who::Reporter), "/api/v1/reports", body).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{m:?}: {}", filed.body);
    let joined: Uuid = filed.body["case_id"].as_str().unwrap().parse().unwrap();
    if let Some(case) = case {
        assert_eq!(filed.body["joined"], json!(true), "{m:?}: {}", filed.body);
        assert_eq!(joined, case, "{m:?} joined the case");
    }
    let report = Filed {
        marking: m,
        id: id_of(&filed.body),
        title,
        finder,
        statement: None,
        versions: versions(m),
    };
    (report, joined)
}

/// The failures of one reader in one phase, each naming marking × reader × path.
struct Check<'a> {
    who: Who,
    phase: &'static str,
    failures: &'a mut Vec<String>,
}

impl Check<'_> {
    fn expect(&mut self, m: Option<Marking>, path: &str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            let about = m.map_or_else(|| "the case".to_owned(), |m| format!("{m:?} report"));
            self.failures.push(format!(
                "{about} ({}) × {:?} × {path}: {}",
                self.phase,
                self.who,
                detail()
            ));
        }
    }
}

/// Each report's words appear in `text` exactly when the reader may read the report.
fn per_report(check: &mut Check<'_>, reports: &[Filed], stage: Stage, path: &str, text: &str) {
    for r in reports {
        let want = may_read(r.marking, check.who, stage);
        // The API lists a case's reports by id, the page by title.
        let mut words = vec![("finder", r.finder.clone())];
        if path.starts_with("GET") {
            words.push(("id", r.id.to_string()));
        } else {
            words.push(("title", r.title.clone()));
        }
        if let Some(statement) = &r.statement {
            words.push(("statement", statement.clone()));
        }
        for (what, word) in words {
            let shown = text.contains(&word);
            check.expect(Some(r.marking), &format!("{path} {what}"), shown == want, || {
                format!("shown: {shown}, expected {want}")
            });
        }
    }
}

async fn read_case(
    t: &TestApp,
    r: &Reader,
    case: Uuid,
    reports: &[Filed],
    stage: Stage,
    check: &mut Check<'_>,
) {
    // The case is CLEAR: under embargo its recipients read it, once published every member.
    let case_readable = may_read(Marking::Clear, r.who, stage);
    let signed_in = r.persona.is_some();
    let got = api(t, r, &format!("/api/v1/cases/{case}")).await;
    let want = match (signed_in, case_readable) {
        (false, _) => 401,
        (true, true) => 200,
        (true, false) => 404,
    };
    check.expect(
        None,
        "GET /api/v1/cases/{id}",
        got.status.as_u16() == want,
        || format!("{}, expected {want}", got.status),
    );
    if got.status == StatusCode::OK {
        let body = &got.body;
        per_report(check, reports, stage, "GET /api/v1/cases/{id}", &body.to_string());
        // Each list names exactly the readable reports, by id.
        let listed = |key: &str, field: &str| -> Vec<Value> {
            body[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    if field.is_empty() {
                        x.clone()
                    } else {
                        x[field].clone()
                    }
                })
                .collect()
        };
        for r_ in reports {
            let want = may_read(r_.marking, r.who, stage);
            let id = json!(r_.id);
            let in_reports = listed("reports", "").contains(&id);
            let credited = listed("credits", "report_id").contains(&id);
            let stated = listed("vendor_statuses", "report_id").contains(&id);
            for (path, shown, expected) in [
                ("reports", in_reports, want),
                ("credits", credited, want),
                ("vendor_statuses", stated, want && r_.statement.is_some()),
            ] {
                check.expect(
                    Some(r_.marking),
                    &format!("GET /api/v1/cases/{{id}} {path}"),
                    shown == expected,
                    || format!("listed: {shown}, expected {expected}"),
                );
            }
        }
    }
    let page = r.web.get(&format!("/cases/{case}")).await;
    let want = match (signed_in, case_readable) {
        (false, _) => 303,
        (true, true) => 200,
        (true, false) => 404,
    };
    check.expect(None, "page /cases/{id}", page.status.as_u16() == want, || {
        format!("{}, expected {want}", page.status)
    });
    if page.status == StatusCode::OK {
        per_report(check, reports, stage, "page /cases/{id}", &page.body);
        let hidden = page.body.contains("A report you may not read");
        check.expect(None, "page /cases/{id} statuses", !hidden, || {
            "lists a status on a report the reader may not read".to_owned()
        });
    }
}

#[tokio::test]
async fn a_case_of_mixed_markings_shows_each_report_only_to_its_readers() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    let (first, case) = file(&t, &cast, Marking::Clear, None).await;
    let mut reports = vec![first];
    for m in MARKINGS.into_iter().skip(1) {
        reports.push(file(&t, &cast, m, Some(case)).await.0);
    }
    let amber = reports.iter().find(|r| r.marking == Marking::Amber).unwrap().id;
    let client = json!({"organizations": [cast.get(Who::Client).org_id]});
    let named = t
        .put(
            cast.get(Who::Reporter),
            &format!("/api/v1/reports/{amber}/tlp-clients"),
            client,
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.body);

    let (coordinator, vendor) = (cast.get(Who::Coordinator), cast.get(Who::Participant));
    let path = |p: &str| format!("/api/v1/cases/{case}{p}");
    let add = json!({"org_id": vendor.org_id, "role": "vendor"});
    let added = t.post(coordinator, &path("/participants"), add).await;
    assert!(added.status.is_success(), "{}", added.body);
    for to in ["triaged", "vendors_notified"] {
        let moved = t.post(coordinator, &path("/transition"), json!({"to": to})).await;
        assert!(moved.status.is_success(), "→ {to}: {}", moved.body);
    }
    // The vendor states its status on every report it may read (all but RED, which names someone else).
    let status_path = path(&format!("/vendors/{}/status", vendor.org_id));
    for r in &mut reports {
        let statement = format!("Statement on report {}", token(r.marking));
        let body = json!({"report_id": r.id, "status": "affected", "statement": statement});
        let stated = t.put(vendor, &status_path, body).await;
        if r.marking == Marking::Red {
            assert_eq!(stated.problem(422, "invalid-field")["field"], "report_id");
        } else {
            assert!(stated.status.is_success(), "{:?}: {}", r.marking, stated.body);
            r.statement = Some(statement);
        }
    }

    let mut failures = Vec::new();
    let mut stage = Stage {
        vendor_notified: true,
        published: false,
    };
    for phase in ["embargoed", "published"] {
        if phase == "published" {
            let moved = t
                .post(coordinator, &path("/transition"), json!({"to": "published"}))
                .await;
            assert!(moved.status.is_success(), "{}", moved.body);
            stage.published = true;
        }
        for r in &cast.readers {
            let mut check = Check {
                who: r.who,
                phase,
                failures: &mut failures,
            };
            read_case(&t, r, case, &reports, stage, &mut check).await;
        }
    }

    // The advisory is CLEAR, as its case: it is public, so it carries the CLEAR report only — its finder,
    // its range of versions and the vendor's statement on it — and nothing of the others, however its readers
    // may read them.
    let list = t
        .call(reqwest::Method::GET, "/api/v1/advisories", None, None)
        .await;
    let advisory = list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == json!(case))
        .expect("the public reads the CLEAR advisory")
        .clone();
    let page = crate::web::Web::new(&t)
        .get(&format!("/advisories/{}", advisory["id"].as_str().unwrap()))
        .await;
    page.assert(200);
    let text = advisory.to_string();
    for r in &reports {
        let carried = r.marking == Marking::Clear;
        // The finder and the statement on the page and in the API; the range of versions in the API (the
        // page escapes its `<`).
        let mut words = vec![(r.finder.as_str(), true), (r.versions, false)];
        words.extend(r.statement.as_deref().map(|s| (s, true)));
        for (word, on_page) in words {
            let mut places = vec![("GET /api/v1/advisories", text.as_str())];
            if on_page {
                places.push(("page /advisories/{id}", page.body.as_str()));
            }
            for (path, body) in places {
                let shown = body.contains(word);
                if shown != carried {
                    failures.push(format!(
                        "{:?} report × advisory × {path}: {word:?} shown: {shown}, expected {carried}",
                        r.marking
                    ));
                }
            }
        }
    }
    for list in ["credits", "affected", "remediation"] {
        let n = advisory[list].as_array().map_or(0, Vec::len);
        if n != 1 {
            failures.push(format!(
                "advisory × {list}: {n} entries, expected the CLEAR report's only"
            ));
        }
    }

    let mut report = String::new();
    for failure in &failures {
        writeln!(report, "{failure}").unwrap();
    }
    assert!(failures.is_empty(), "{} cells wrong:\n{report}", failures.len());
}

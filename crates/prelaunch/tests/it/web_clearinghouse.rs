//! The clearinghouse's pages over real HTTP without script: advisories readable by the public when marked
//! TLP:CLEAR, and an advisory the reader may not read answering the very page a missing one does.

use crate::cases::{Report, file_report, open_case, transition};
use crate::support::*;
use crate::web::{Web, assert_accessible, signed_in};
use serde_json::json;
use uuid::Uuid;

/// Opens a case marked `tlp` with the vendor, files a report and publishes it; the advisory's id.
async fn published_advisory(t: &TestApp, w: &World, tlp: &str) -> String {
    let case = open_case(t, &w.coordinator, tlp, &[w.vendor.org_id]).await;
    // The report is marked as its case, so the advisory carries it.
    let report = Report {
        tlp,
        ..Report::new(case, &w.dev_admin, t.clock_now())
    };
    file_report(t, &report).await;
    for to in ["triaged", "vendors_notified", "published"] {
        transition(t, &w.coordinator, case, to).await.ok();
    }
    let list = t.get(&w.coordinator, "/api/v1/advisories").await;
    let items = list.ok()["items"].as_array().unwrap().clone();
    let found = items.iter().find(|a| a["case_id"] == json!(case)).unwrap();
    found["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_public_reads_clear_advisories_and_nothing_else() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let clear = published_advisory(&t, &w, "clear").await;
    let amber = published_advisory(&t, &w, "amber+strict").await;
    let public = Web::new(&t);

    let list = public.get("/advisories").await;
    list.assert(200);
    assert_accessible("/advisories", &list.body);
    assert!(
        list.body.contains(&format!("/advisories/{clear}")),
        "{}",
        list.body
    );
    assert!(!list.body.contains(&amber), "the public lists an AMBER advisory");
    assert!(list.body.contains("TLP:CLEAR"));

    let page = public.get(&format!("/advisories/{clear}")).await;
    page.assert(200);
    assert_accessible("/advisories/{id}", &page.body);
    for shown in [
        "Heap overflow in Acme Router",
        "TLP:CLEAR",
        "class=\"tlp tlp-clear\"",
        "PLA-2027-",
        "PLC-2027-",
        "<strong>request parser</strong>",
        "pkg:npm/acme/router@1.2.0",
        "9.8 (Critical)",
        "CWE-787",
        "Ada",
    ] {
        assert!(page.body.contains(shown), "{shown} missing:\n{}", page.body);
    }
    // Human labels, never stored keywords.
    for raw in [
        "vendors_notified",
        "under_investigation",
        "amber+strict",
        ">clear<",
        ">critical<",
    ] {
        assert!(!page.body.contains(raw), "{raw} shown:\n{}", page.body);
    }

    // An advisory the public may not read is the same page as one that does not exist.
    let hidden = public.get(&format!("/advisories/{amber}")).await;
    let missing = public.get(&format!("/advisories/{}", Uuid::now_v7())).await;
    hidden.assert(404);
    missing.assert(404);
    assert_eq!(hidden.body, missing.body);
    public.get("/advisories/not-an-id").await.assert(404);

    // A member of the vendor's organisation, signed in, reads the AMBER+STRICT one, labelled as such, and
    // finds Advisories in the navigation.
    let vendor = signed_in(&t, "Router Vendor", "analyst@vendor.example", "member", "Val").await;
    let page = vendor.get(&format!("/advisories/{amber}")).await;
    page.assert(200);
    assert!(page.body.contains("TLP:AMBER+STRICT"));
    assert!(page.body.contains("class=\"tlp tlp-amber-strict\""));
    assert!(page.body.contains("href=\"/advisories\" aria-current=\"page\""));
    let list = vendor.get("/advisories").await;
    assert!(list.body.contains(&amber) && list.body.contains(&clear));
    // Someone the marking does not admit gets the not-found page, signed in or not.
    let other = signed_in(&t, "Grid Operator", "night@grid.example", "member", "Nia").await;
    let page = other.get(&format!("/advisories/{amber}")).await;
    page.assert(404);
}

pub(crate) const VECTOR: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

pub(crate) fn report_form<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", "Heap overflow in the request parser"),
        ("description", "A long header overflows a **fixed** buffer."),
        ("tlp", "amber"),
        ("product", "pkg:npm/acme/router@1.2.0"),
        ("versions", ">=1.2.0, <1.4.3"),
        ("cwe", "CWE-787"),
        ("cvss_v3", VECTOR),
        ("cvss_v4", ""),
        ("ai_found", "true"),
    ]
}

#[tokio::test]
async fn a_member_reports_a_vulnerability_from_the_form() {
    let t = spawn_app().await;
    World::new(&t).await;
    let web = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let form = web.get("/reports/new").await;
    form.assert(200);
    assert_accessible("/reports/new", &form.body);
    assert!(form.body.contains("href=\"/reports/new\" aria-current=\"page\""));
    assert!(form.body.contains("TLP:AMBER+STRICT"));
    assert!(!form.body.contains(">amber+strict<"));

    let filed = web.submit("/reports/new", "/reports", &report_form()).await;
    filed.assert(303);
    let first = filed.location().to_owned();
    assert!(first.starts_with("/reports/"), "{first}");
    let page = web.get(&first).await;
    page.assert(200);
    assert_accessible(&first, &page.body);
    for shown in [
        "Heap overflow in the request parser",
        "<strong>fixed</strong>",
        "class=\"tlp tlp-amber\">TLP:AMBER<",
        "id=\"case-reference\">PLC-2027-",
        "9.8 (Critical)",
        "CWE-787",
        "pkg:npm/acme/router@1.2.0",
        "with AI",
        "href=\"/cases/",
    ] {
        assert!(page.body.contains(shown), "{shown} missing:\n{}", page.body);
    }
    assert!(!page.body.contains("Possible duplicate"));

    // The same report again: the form first shows the report it repeats, then files it on confirmation.
    let shown = web.submit("/reports/new", "/reports", &report_form()).await;
    shown.assert(200);
    assert!(shown.body.contains("Possible duplicates"), "{}", shown.body);
    let mut confirm = vec![("csrf", shown.csrf()), ("file_anyway", "true".to_owned())];
    confirm.extend(report_form().iter().map(|(k, v)| (*k, (*v).to_owned())));
    let confirm: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let again = web.post("/reports", &confirm).await;
    again.assert(303);
    let page = web.get(again.location()).await;
    page.assert(200);
    assert!(page.body.contains("Possible duplicate"), "{}", page.body);
    assert!(page.body.contains(&format!("href=\"{first}\"")), "{}", page.body);

    // Someone the marking does not admit gets the not-found page.
    let other = signed_in(&t, "Other Lab", "bo@other.example", "member", "Bo").await;
    other.get(&first).await.assert(404);
}

#[tokio::test]
async fn a_bad_field_is_shown_on_the_field_with_the_values_kept() {
    let t = spawn_app().await;
    World::new(&t).await;
    let web = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    // field, bad value, the field the error is shown on
    let cases = [
        ("title", "", "title"),
        ("tlp", "purple", "tlp"),
        ("product", "npm:acme", "product"),
        ("versions", "sometime", "versions"),
        ("cwe", "CWE-x", "cwe"),
        ("cvss_v3", "CVSS:3.1/AV:Q", "cvss_v3"),
    ];
    for (field, bad, shown_on) in cases {
        // Marked CLEAR, so that anything filed would show in the public list below.
        let mut fields = report_form();
        for pair in fields.iter_mut() {
            if pair.0 == field {
                pair.1 = bad;
            } else if pair.0 == "tlp" {
                pair.1 = "clear";
            }
        }
        let page = web.submit("/reports/new", "/reports", &fields).await;
        let kept = if field == "title" {
            "pkg:npm/acme/router@1.2.0"
        } else {
            "Heap overflow in the request parser"
        };
        page.assert_form_error(shown_on, kept);
        assert_accessible("/reports", &page.body);
    }
    // Nothing was filed.
    let list = t.call(reqwest::Method::GET, "/api/v1/reports", None, None).await;
    assert_eq!(list.body["items"], json!([]), "{}", list.body);
}

#[tokio::test]
async fn a_participant_reads_the_case_page_and_others_find_nothing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let case = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    for to in ["triaged", "vendors_notified"] {
        transition(&t, &w.coordinator, case, to).await.ok();
    }
    t.post(
        &w.coordinator,
        &format!("/api/v1/cases/{case}/posts"),
        json!({"body": "Vendor, please **confirm**."}),
    )
    .await
    .ok();
    let path = format!("/cases/{case}");

    let vendor = signed_in(&t, "Router Vendor", "analyst@vendor.example", "member", "Val").await;
    let page = vendor.get(&path).await;
    page.assert(200);
    assert_accessible(&path, &page.body);
    for shown in [
        "Heap overflow in Acme Router",
        "class=\"tlp tlp-amber\">TLP:AMBER<",
        "id=\"case-state\">Vendors notified<",
        "Embargo until",
        "id=\"days-left\">",
        "<strong>request parser</strong>",
        "Router Vendor",
        "Frontier Lab",
        "Reporter",
        "Ada",
        "Vendor, please <strong>confirm</strong>.",
        "Energy",
    ] {
        assert!(page.body.contains(shown), "{shown} missing:\n{}", page.body);
    }
    for raw in ["vendors_notified", ">amber<", ">energy<", ">reporter<"] {
        assert!(!page.body.contains(raw), "{raw} shown:\n{}", page.body);
    }

    // Outside the marking, the case is the same not-found page as no case at all.
    let other = signed_in(&t, "Other Lab", "bo@other.example", "member", "Bo").await;
    let hidden = other.get(&path).await;
    let missing = other.get(&format!("/cases/{}", Uuid::now_v7())).await;
    hidden.assert(404);
    missing.assert(404);
    assert_eq!(hidden.body, missing.body);
    // Not signed in: off to the sign-in page.
    let public = Web::new(&t).get(&path).await;
    public.assert(303);
    assert_eq!(public.location(), "/login");
}

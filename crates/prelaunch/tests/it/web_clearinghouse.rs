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
    file_report(t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
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

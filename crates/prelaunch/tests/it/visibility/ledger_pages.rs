//! The ledger pages show an object's events only to those who may see them.

use super::*;

#[tokio::test]
async fn the_ledger_pages_show_an_object_s_events_only_to_those_who_may_see_them() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency, w.other_agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let events = t.audit_after(0).await;
    let filing = events.iter().find(|e| e.action == "notice.file").unwrap().id;
    let assignment = events
        .iter()
        .find(|e| e.action == "assignment.create")
        .unwrap()
        .id;
    let other = crate::web::signed_in(
        &t,
        "Infrastructure Agency",
        "reader@infra.example",
        "member",
        "Reader",
    )
    .await;
    let dev = crate::web::signed_in(&t, "Frontier Lab", "reader@lab.example", "member", "Reader").await;
    // The other agency sees the notice but neither the filing (it names the first agency) nor the
    // assignment (it names the first agency's evaluator).
    other.get(&format!("/notices/{notice}")).await.assert(200);
    other.get(&format!("/ledger/objects/{notice}")).await.assert(404);
    other.get(&format!("/ledger/events/{filing}")).await.assert(404);
    other
        .get(&format!("/ledger/events/{assignment}"))
        .await
        .assert(404);
    let page = dev.get(&format!("/ledger/objects/{notice}")).await;
    page.assert(200);
    assert!(page.body.contains(&filing.to_string()) && page.body.contains(&assignment.to_string()));
    let receipt = dev.get(&format!("/ledger/events/{assignment}")).await;
    receipt.assert(200);
    assert!(receipt.body.contains(&w.evaluator.email));
    let missing = other.get(&format!("/ledger/events/{}", Uuid::now_v7())).await;
    let invisible = other.get(&format!("/ledger/events/{assignment}")).await;
    assert_eq!(
        missing.body, invisible.body,
        "an invisible event reads as a missing one"
    );
    // A third, the other agency's own action, is listed for it.
    t.assign(&w.other_agency_admin, notice, &w.other_evaluator).await;
    let page = other.get(&format!("/ledger/objects/{notice}")).await;
    page.assert(200);
    assert!(!page.body.contains(&filing.to_string()) && !page.body.contains(&assignment.to_string()));
}

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn a_developer_files_a_notice_and_the_agency_sees_it() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 45, &[w.agency]).await;
    assert_eq!(notice["state"], "scheduled");
    let id = notice["id"].as_str().unwrap();
    let seen = t.get(&w.evaluator, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(seen.ok()["model_name"], "Orion");
    assert!(
        seen.body.get("shared_with").is_none(),
        "agencies are not told who else received it"
    );
    t.get(&w.other_evaluator, &format!("/api/v1/notices/{id}"))
        .await
        .problem(404, "not-found");
    let bad = t
        .post(&w.dev_admin, "/api/v1/notices", json!({"model_name": 1}))
        .await;
    bad.problem(422, "invalid-field");
    assert_eq!(bad.body["field"], "model_name");
}

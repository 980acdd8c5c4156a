//! The table's rows of the program and the service: the policy, jobs, webhooks, keys, and the last date.

use super::*;
use rows_notices::Notices;

/// These rows, in order.
pub(super) async fn rows(table: &mut Table<'_>, w: &World, notices: &Notices) {
    let t = table.t;
    let Notices { narrow, open, .. } = *notices;
    // The program and the service.
    let policy = json!({"window_days": 31, "launch_horizon_days": 700, "reminder_days": [3]});
    t.put(&w.program_admin, "/api/v1/policy", policy).await.ok();
    let changes = table.events().await;
    table.push(
        "the review window is changed",
        only(&changes, "policy.window_days"),
        "+ . . . . . . . . . . . .",
    );
    table.push(
        "the launch horizon is changed",
        only(&changes, "policy.launch_horizon_days"),
        "+ . . . . . . . . . . . .",
    );
    table.push(
        "the reminder days are changed",
        only(&changes, "policy.reminder_days"),
        "+ . . . . . . . . . . . .",
    );
    // A job whose attempts are spent, queued again by a program administrator.
    let job = failed_job(t).await;
    t.post(&w.program_admin, &format!("/api/v1/jobs/{job}/retry"), json!({}))
        .await
        .ok();
    table
        .row(
            "a failed job is queued again",
            "job.retry",
            "+ . . . . . . . . . . . .",
        )
        .await;

    // An organisation's webhook endpoints: its admins' matter.
    let hook = json!({"url": "https://hooks.example.com/in", "events": ["notice.shared"]});
    let made = t.post(&w.dev_admin, "/api/v1/webhooks", hook).await;
    let hook = format!("/api/v1/webhooks/{}", made.ok()["id"].as_str().unwrap());
    table
        .row(
            "a webhook endpoint is registered",
            "webhook.create",
            "+ . + . . . . . . . . . .",
        )
        .await;
    t.patch(&w.dev_admin, &hook, json!({"enabled": false})).await.ok();
    table
        .row("and changed", "webhook.update", "+ . + . . . . . . . . . .")
        .await;
    t.delete(&w.dev_admin, &hook).await;
    table
        .row("and removed", "webhook.delete", "+ . + . . . . . . . . . .")
        .await;
    // An endpoint failing for a day is disabled by the service (as `webhooks.rs` drives it by the clock); the
    // event is the organisation's.
    let disabled = store::AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: t.clock.now(),
        actor_user_id: None,
        actor_org_id: None,
        action: "webhook.auto_disable".into(),
        object_type: "organization".into(),
        object_id: Some(w.dev_admin.org_id),
        details: store::Json(json!({"webhook_id": Uuid::now_v7(), "host": "hooks.example.com"})),
    };
    t.app.store.append_events(&[disabled]).await.unwrap();
    table
        .row(
            "an endpoint is disabled for failing",
            "webhook.auto_disable",
            "+ . + . . . . . . . . . .",
        )
        .await;
    t.app.check_master_key().await.unwrap();
    table
        .row(
            "the master key is registered",
            "master_key.register",
            "+ . . . . . . . . . . . .",
        )
        .await;
    t.app
        .reseal_secrets(&gateway::MasterKey::generate())
        .await
        .unwrap();
    table
        .row(
            "the master key is rotated",
            "master_key.rotate",
            "+ . . . . . . . . . . . .",
        )
        .await;
    t.app.register_ledger_key().await.unwrap();
    table
        .row(
            "the ledger's key is registered",
            "ledger.key",
            "+ + + + + + + + + + + + +",
        )
        .await;

    // The last date changes.
    t.post(&w.dev_admin, &format!("/api/v1/notices/{open}/launch"), json!({}))
        .await
        .ok();
    table
        .row(
            "a notice shared with all launches",
            "notice.launched",
            "+ . + + . + + + + + + . .",
        )
        .await;
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{narrow}/withdraw"),
        json!({}),
    )
    .await
    .ok();
    table
        .row(
            "a notice shared with one is withdrawn",
            "notice.withdrawn",
            "+ . + + . + + + . . . . .",
        )
        .await;
}

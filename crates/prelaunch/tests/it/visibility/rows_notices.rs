//! The table's rows of a notice's review: notices, assignments, findings and assessments, model connections,
//! gateway tokens and evaluation runs.

use super::*;

/// The notices the later rows act on.
pub(super) struct Notices {
    /// Shared with three agencies.
    pub(super) broad: Uuid,
    /// Shared with one agency.
    pub(super) narrow: Uuid,
    /// Shared with every agency.
    pub(super) open: Uuid,
}

/// These rows, in order, with the notices they filed.
pub(super) async fn rows(table: &mut Table<'_>, w: &World, third_agency: Uuid) -> Notices {
    let t = table.t;
    // Notices: a filing names every agency it is shared with.
    let agencies = [w.agency, w.other_agency, third_agency];
    let broad = notice_shared(t, &w.dev_member, json!({"shared_with": agencies})).await;
    table
        .row(
            "a notice shared with three agencies is filed",
            "notice.file",
            "+ . + + . . . . . . . . .",
        )
        .await;
    let narrow = notice_shared(t, &w.dev_admin, json!({"shared_with": [w.agency]})).await;
    table
        .row(
            "a notice shared with one agency is filed",
            "notice.file",
            "+ . + + . + + + . . . . .",
        )
        .await;
    let open = notice_shared(t, &w.dev_admin, json!({"shared_with_all": true})).await;
    table
        .row(
            "a notice shared with every agency is filed",
            "notice.file",
            "+ . + + . + + + + + + . .",
        )
        .await;
    let to = t.clock_now() + chrono::Duration::days(45);
    t.put(
        &w.dev_admin,
        &format!("/api/v1/notices/{broad}/launch"),
        json!({"planned_launch_at": to}),
    )
    .await
    .ok();
    table
        .row("its launch is moved", "notice.moved", "+ . + + . + + + + + + . .")
        .await;
    t.patch(
        &w.dev_admin,
        &format!("/api/v1/notices/{broad}"),
        json!({"model_card": "# Orion\nEdited.", "model_version": "1.1"}),
    )
    .await
    .ok();
    table
        .row(
            "it is edited (an edit names the agencies before and after, and whose access ended)",
            "notice.edit",
            "+ . + + . . . . . . . . .",
        )
        .await;

    // Assignments name an agency's evaluator.
    t.assign(&w.agency_admin, broad, &w.evaluator).await;
    table
        .row(
            "an agency assigns its evaluator",
            "assignment.create",
            "+ . + + . + + + . . . . .",
        )
        .await;
    t.assign(&w.other_agency_admin, broad, &w.other_evaluator).await;
    table
        .row(
            "another agency assigns its own",
            "assignment.create",
            "+ . + + . . . . + + . . .",
        )
        .await;
    t.assign(&w.agency_admin, broad, &w.evaluator2).await;
    table.events().await;
    let path = format!("/api/v1/notices/{broad}/assignments/{}", w.evaluator2.user_id);
    t.delete(&w.agency_admin, &path).await.ok();
    table
        .row(
            "an agency removes its evaluator",
            "assignment.delete",
            "+ . + + . + + + . . . . .",
        )
        .await;

    // Findings and assessments name the agencies they are shared with.
    t.file_finding(&w.evaluator, broad, &[w.other_agency]).await;
    table
        .row(
            "a finding shared with one other agency",
            "finding.file",
            "+ . + + . + + + + + . . .",
        )
        .await;
    t.file_finding(&w.evaluator, broad, &[w.other_agency, third_agency])
        .await;
    table
        .row(
            "a finding shared with two other agencies",
            "finding.file",
            "+ . + + . + + + . . . . .",
        )
        .await;
    t.file_finding(&w.evaluator, broad, &[]).await;
    table
        .row(
            "a finding kept to its agency",
            "finding.file",
            "+ . + + . + + + . . . . .",
        )
        .await;
    t.publish_assessment(&w.other_evaluator, broad, &[w.agency]).await;
    table
        .row(
            "an assessment shared with one other agency",
            "assessment.publish",
            "+ . + + . + + + + + . . .",
        )
        .await;
    t.publish_assessment(&w.other_evaluator, broad, &[w.agency, third_agency])
        .await;
    table
        .row(
            "an assessment shared with two other agencies",
            "assessment.publish",
            "+ . + + . . . . + + . . .",
        )
        .await;

    // A finding's life: its later events are read as the finding is now (the developer, its agency, and an
    // agency it is shared with alone). A draft assessment's event is its agency's until the draft is published.
    let kept = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    table.events().await;
    let finding = |tail: &str| format!("/api/v1/findings/{kept}{tail}");
    t.post(&w.dev_member, &finding("/status"), json!({"status": "disputed"}))
        .await
        .ok();
    table
        .row(
            "the developer disputes a finding kept to its agency",
            "finding.status",
            "+ . + + . + + + . . . . .",
        )
        .await;
    t.post(
        &w.dev_member,
        &finding("/responses"),
        json!({"body": "Not reproducible."}),
    )
    .await
    .ok();
    table
        .row(
            "and answers in its thread",
            "finding.respond",
            "+ . + + . + + + . . . . .",
        )
        .await;
    t.patch(&w.evaluator, &finding(""), json!({"severity": "medium"}))
        .await
        .ok();
    table
        .row("its author edits it", "finding.edit", "+ . + + . + + + . . . . .")
        .await;
    let later = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    table.events().await;
    t.post(
        &w.agency_admin,
        &format!("/api/v1/findings/{later}/share"),
        json!({"shared_with": [w.other_agency]}),
    )
    .await
    .ok();
    table
        .row(
            "a finding is shared with one other agency after filing",
            "finding.share",
            "+ . + + . + + + + + . . .",
        )
        .await;
    let assessments = format!("/api/v1/notices/{broad}/assessments");
    let draft = json!({"levels": {"autonomy": "low"}, "rationale": "So far.", "draft": true});
    t.post(&w.evaluator, &assessments, draft.clone()).await.ok();
    table
        .row(
            "an evaluator drafts an assessment",
            "assessment.draft",
            "+ . . . . + + + . . . . .",
        )
        .await;
    let published = id_of(t.post(&w.evaluator, &assessments, draft).await.ok());
    let drafted = only(&table.events().await, "assessment.draft");
    t.post(
        &w.agency_admin,
        &format!("/api/v1/assessments/{published}/publish"),
        json!({}),
    )
    .await
    .ok();
    table
        .row(
            "its agency's admin publishes a draft",
            "assessment.publish",
            "+ . + + . + + + . . . . .",
        )
        .await;
    table.push(
        "whose drafting the developer then reads",
        drafted,
        "+ . + + . + + + . . . . .",
    );

    // Model connections are the developer's; program administrators see what their events say, which is
    // no longer the upstream.
    // An upstream that accepts and never answers, before and after the connection is re-pointed, so that the
    // evaluation run started below is still going when it is cancelled whichever version of the connection it
    // reads (a refused upstream ends it on its own first).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let connections = format!("/api/v1/notices/{broad}/connections");
    let body = json!({
        "api_style": "openai", "base_url": format!("http://127.0.0.1:{silent_port}/upstream-secret-path"),
        "upstream_model": "orion-internal-7",
        "credential": "sk-test-credential", "headers": {"X-Upstream-Org": "lab-org-1"},
    });
    let connection = id_of(t.post(&w.dev_admin, &connections, body).await.ok());
    table
        .row(
            "a connection is made",
            "connection.create",
            "+ . + + . . . . . . . . .",
        )
        .await;
    let one = format!("{connections}/{connection}");
    let body = json!({
        "api_style": "openai", "base_url": format!("http://127.0.0.1:{silent_port}/moved"),
        "upstream_model": "orion-internal-8",
    });
    t.put(&w.dev_admin, &one, body).await.ok();
    let update = only(&table.events().await, "connection.update");
    assert_eq!(update.details.0["upstream_changed"], true, "{}", update.details.0);
    table.push("it is re-pointed", update, "+ . + + . . . . . . . . .");
    // An event written before connection events left the upstream out names it: the developer's only.
    let legacy = AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: t.clock_now(),
        actor_user_id: Some(w.dev_admin.user_id),
        actor_org_id: Some(w.dev_admin.org_id),
        action: "connection.update".into(),
        object_type: "connection".into(),
        object_id: Some(connection),
        details: store::Json(json!({
            "notice": broad, "model": "orion", "base_url": "http://127.0.0.1:9/upstream-secret-path",
            "upstream_model": "orion-internal-7", "header_names": ["x-upstream-org"],
        })),
    };
    t.app
        .store
        .append_events(std::slice::from_ref(&legacy))
        .await
        .unwrap();
    table.events().await;
    table.push(
        "an older connection event naming the upstream",
        legacy,
        ". . + + . . . . . . . . .",
    );

    // Gateway tokens: the developer, the holder, the holder's agency admins.
    let tokens = format!("/api/v1/notices/{broad}/gateway-tokens");
    let token = t.post(&w.evaluator, &tokens, json!({"name": "inspect"})).await;
    let token = id_of(token.ok());
    table
        .row(
            "an evaluator takes a gateway token",
            "gateway_token.create",
            "+ . + + . + + . . . . . .",
        )
        .await;
    t.delete(&w.agency_admin, &format!("{tokens}/{token}")).await.ok();
    table
        .row(
            "their admin revokes it",
            "gateway_token.revoke",
            "+ . + + . + + . . . . . .",
        )
        .await;
    // Evaluation runs: an evaluator's work product, seen as their findings are (their agency, the developer).
    let model = t.get(&w.dev_admin, &one).await.ok()["model"].clone();
    let body = json!({"notice_id": broad, "model": model, "suite": "knowledge", "epochs": 50});
    let run = id_of(t.post(&w.evaluator, "/api/v1/eval-runs", body).await.ok());
    let run_readers = "+ . + + . + + + . . . . .";
    table
        .row("an evaluator starts a run", "eval_run.start", run_readers)
        .await;
    let cancelled = t
        .post(
            &w.agency_admin,
            &format!("/api/v1/eval-runs/{run}/cancel"),
            json!({}),
        )
        .await;
    if !cancelled.status.is_success() {
        // The run ended before it was cancelled: say how, from the run as its evaluator reads it.
        let read = t.get(&w.evaluator, &format!("/api/v1/eval-runs/{run}")).await;
        panic!(
            "cancelling the run: {} {}; the run: {}",
            cancelled.status, cancelled.body, read.body
        );
    }
    table
        .row("their admin cancels it", "eval_run.cancel", run_readers)
        .await;
    // A run imported from an Inspect log is the importing evaluator's, read as the runs they start.
    let imported = t
        .raw(
            Method::POST,
            &format!("/api/v1/notices/{broad}/eval-runs/import"),
            Some(&w.evaluator.token),
            Some("application/octet-stream"),
            crate::eval_io::tiny_log(),
        )
        .await;
    assert_eq!(imported.status, 201, "{}", imported.body);
    table
        .row(
            "an evaluator imports an Inspect log as a run",
            "eval_run.import",
            run_readers,
        )
        .await;
    // The service completes a run, or stops it when the evaluator's access ends, on the evaluator's behalf.
    for (action, what) in [
        ("eval_run.complete", "a run completes"),
        ("eval_run.stop", "a run stops"),
    ] {
        let event = AuditEvent {
            seq: 0,
            id: Uuid::now_v7(),
            at: t.clock_now(),
            actor_user_id: Some(w.evaluator.user_id),
            actor_org_id: Some(w.evaluator.org_id),
            action: action.into(),
            object_type: "eval_run".into(),
            object_id: Some(run),
            details: store::Json(json!({"notice": broad})),
        };
        t.app
            .store
            .append_events(std::slice::from_ref(&event))
            .await
            .unwrap();
        table.events().await;
        table.push(what, event, run_readers);
    }
    t.delete(&w.dev_admin, &one).await.ok();
    table
        .row(
            "the connection is removed",
            "connection.delete",
            "+ . + + . . . . . . . . .",
        )
        .await;
    Notices { broad, narrow, open }
}

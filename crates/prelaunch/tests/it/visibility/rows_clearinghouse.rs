//! The table's rows of the clearinghouse: reports, cases, TAXII, communities, collections, federation peers.

use super::*;

/// These rows, in order; `broad` is a notice whose finding is forwarded as a report.
pub(super) async fn rows(table: &mut Table<'_>, w: &World, broad: Uuid) {
    let t = table.t;
    // The clearinghouse: events about a report or a case go to whoever may read it (TLP, the case's embargo),
    // beside the actor and their organisation's admins.
    let vulnerability = |product: &str| {
        json!({
            "kind": "vulnerability", "title": "Heap overflow in png_read_row", "tlp": "amber",
            "description": "ASan: heap-buffer-overflow WRITE in png_read_row at pngread.c:512.",
            "affected": [{"purl": product, "versions": "*"}], "location": "pngread.c:png_read_row",
        })
    };
    let filed = t
        .post(
            &w.dev_member,
            "/api/v1/reports",
            vulnerability("pkg:generic/libpng"),
        )
        .await;
    let report = id_of(filed.ok());
    let case = filed.body["case_id"].as_str().unwrap().to_owned();
    let made = table.events().await;
    table.push(
        "a report is filed",
        only(&made, "report.file"),
        "+ + + + . . . . . . . . .",
    );
    table.push(
        "it opens a case",
        only(&made, "case.open"),
        "+ + + + . . . . . . . . .",
    );
    let joined = t
        .post(
            &w.operator,
            "/api/v1/reports",
            vulnerability("pkg:generic/libpng"),
        )
        .await;
    let joined = id_of(joined.ok());
    table
        .row(
            "a duplicate joins the case",
            "case.join",
            "+ + + + . . . . . . . . +",
        )
        .await;
    let attach = format!("/api/v1/reports/{report}/attachments?role=patch&name=fix.diff");
    t.raw(
        reqwest::Method::POST,
        &attach,
        Some(&w.dev_member.token),
        Some("text/plain"),
        b"fix".to_vec(),
    )
    .await
    .ok();
    table
        .row("a file is attached", "report.attach", "+ + + + . . . . . . . . .")
        .await;
    // TLP:AMBER clients named on the report (by its reporter) and on its case (by a coordinator): an
    // organisation none of the columns belongs to, so what the others read stays as it is.
    let client = t.org("operator", "Client ISAC").await;
    let clients = json!({"organizations": [client]});
    t.put(
        &w.dev_member,
        &format!("/api/v1/reports/{report}/tlp-clients"),
        clients.clone(),
    )
    .await
    .ok();
    table
        .row(
            "clients are named on the report",
            "report.tlp_clients",
            "+ + + + . . . . . . . . .",
        )
        .await;
    t.put(
        &w.coordinator,
        &format!("/api/v1/cases/{case}/tlp-clients"),
        clients,
    )
    .await
    .ok();
    table
        .row("and on its case", "case.tlp_clients", "+ + + + . . . . . . . . .")
        .await;
    let finding = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    let forwarded = t
        .post(
            &w.evaluator,
            &format!("/api/v1/findings/{finding}/report"),
            json!({"tlp": "amber", "affected": [{"purl": "pkg:generic/orion", "versions": "*"}]}),
        )
        .await;
    forwarded.ok();
    table
        .row(
            "a finding is forwarded",
            "report.forward",
            "+ + . . . + + + . . . . .",
        )
        .await;
    let other = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability("pkg:npm/other"))
        .await;
    let other_case = other.ok()["case_id"].as_str().unwrap().to_owned();
    table.events().await;
    t.post(
        &w.coordinator,
        &format!("/api/v1/cases/{other_case}/merge"),
        json!({"into": case}),
    )
    .await
    .ok();
    table
        .row(
            "a coordinator merges a case",
            "case.merge",
            "+ + + + . . . . . . . . .",
        )
        .await;
    t.post(
        &w.coordinator,
        &format!("/api/v1/cases/{case}/split"),
        json!({"reports": [joined]}),
    )
    .await
    .ok();
    table
        .row("and splits one", "case.split", "+ + + + . . . . . . . . .")
        .await;
    // A case's life, from a report through triage to publication: events of the case go to whoever reads
    // it at the end (TLP:AMBER, published: its notified participants — the reporter's organisation and the
    // vendor — and coordinators); an organisation's own settings to its admins.
    let vendor_policy =
        json!({"ai_found_public": false, "require_reproducer": false, "products": ["pkg:npm/acme"]});
    t.put(&w.vendor, "/api/v1/vendor-policy", vendor_policy)
        .await
        .ok();
    table
        .row(
            "a vendor sets its disclosure policy",
            "vendor_policy.update",
            "+ . . . . . . . . . . + .",
        )
        .await;
    let filed = t
        .post(
            &w.dev_member,
            "/api/v1/reports",
            vulnerability("pkg:npm/acme/router"),
        )
        .await;
    let acme_report = id_of(filed.ok()).to_owned();
    let acme = filed.body["case_id"].as_str().unwrap().to_owned();
    table.events().await;
    let readers = "+ + + + . . . . . . . + .";
    let step = |to: &str| json!({"to": to, "reason": format!("moving to {to}")});
    let transition = format!("/api/v1/cases/{acme}/transition");
    t.post(&w.coordinator, &transition, step("triaged")).await.ok();
    table
        .row("a coordinator triages the case", "case.transition", readers)
        .await;
    t.post(&w.coordinator, &transition, step("vendors_notified"))
        .await
        .ok();
    table
        .row("the vendors are notified", "case.transition", readers)
        .await;
    let participants = format!("/api/v1/cases/{acme}/participants");
    t.post(
        &w.coordinator,
        &participants,
        json!({"org_id": w.operator.org_id, "role": "observer"}),
    )
    .await
    .ok();
    table
        .row("an observer is added", "case.participant_add", readers)
        .await;
    t.delete(&w.coordinator, &format!("{participants}/{}", w.operator.org_id))
        .await;
    table.row("and removed", "case.participant_remove", readers).await;
    t.put(
        &w.vendor,
        &format!("/api/v1/cases/{acme}/vendors/{}/status", w.vendor.org_id),
        json!({"report_id": acme_report, "status": "fixed", "statement": "Fixed in 1.4.3."}),
    )
    .await
    .ok();
    table
        .row("the vendor states its status", "case.vendor_status", readers)
        .await;
    t.post(
        &w.vendor,
        &format!("/api/v1/cases/{acme}/posts"),
        json!({"body": "Patched."}),
    )
    .await
    .ok();
    table.row("the vendor posts", "case.post", readers).await;
    let ends = (t.clock_now() + chrono::Duration::days(30)).to_rfc3339();
    t.put(
        &w.coordinator,
        &format!("/api/v1/cases/{acme}/embargo"),
        json!({"embargo_ends_at": ends, "reason": "the fix ships sooner"}),
    )
    .await
    .ok();
    table.row("the embargo moves", "case.embargo", readers).await;
    t.put(
        &w.coordinator,
        &format!("/api/v1/cases/{acme}/cve"),
        json!({"cve": "CVE-2026-55555"}),
    )
    .await
    .ok();
    table.row("the case takes a CVE id", "case.cve", readers).await;
    let subscription = t
        .post(&w.operator, "/api/v1/subscriptions", json!({"sector": "energy"}))
        .await;
    let subscription = id_of(subscription.ok()).to_owned();
    let operator_own = "+ . . . . . . . . . . . +";
    table
        .row("an operator subscribes", "subscription.create", operator_own)
        .await;
    t.post(&w.coordinator, &transition, step("published")).await.ok();
    let made = table.events().await;
    for kind in ["case.publish", "advisory.publish", "advisory.fanout"] {
        table.push("the case is published", only(&made, kind), readers);
    }
    t.delete(&w.operator, &format!("/api/v1/subscriptions/{subscription}"))
        .await;
    table
        .row("and unsubscribes", "subscription.delete", operator_own)
        .await;
    // The operator posts a STIX object over TAXII and deletes it: events about its own organisation.
    let green = app::clearinghouse::taxii::Collection::all()[1].id;
    let objects = format!("/taxii2/api/collections/{green}/objects/");
    let tool = "tool--6c1f3d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f";
    let envelope = json!({"objects": [{"type": "tool", "spec_version": "2.1", "id": tool,
        "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "scanner"}]});
    let taxii = "application/taxii+json;version=2.1";
    let posted = t
        .raw(
            reqwest::Method::POST,
            &objects,
            Some(&w.operator.token),
            Some(taxii),
            envelope.to_string().into_bytes(),
        )
        .await;
    assert_eq!(posted.status.as_u16(), 202, "{:?}", posted.body);
    table
        .row("an operator posts over TAXII", "taxii.post", operator_own)
        .await;
    let deleted = t
        .raw(
            reqwest::Method::DELETE,
            &format!("{objects}{tool}/"),
            Some(&w.operator.token),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(deleted.status.as_u16(), 200);
    table
        .row("and deletes the object", "taxii.delete", operator_own)
        .await;

    // A coordinator defines a TAXII sharing community and changes it; a program administrator defines a
    // collection by a filter and removes it. The details name member organisations: program administrators.
    let community = json!({"name": "Grid sharing", "organizations": [w.operator.org_id, w.vendor.org_id]});
    let made = t
        .post(&w.coordinator, "/api/v1/taxii/communities", community)
        .await;
    let community = format!("/api/v1/taxii/communities/{}", made.ok()["id"].as_str().unwrap());
    let coordinator_own = "+ + . . . . . . . . . . .";
    table
        .row(
            "a coordinator defines a sharing community",
            "taxii_community.create",
            coordinator_own,
        )
        .await;
    t.put(
        &w.coordinator,
        &community,
        json!({"name": "Grid sharing", "organizations": [w.operator.org_id]}),
    )
    .await
    .ok();
    table
        .row(
            "and changes its members",
            "taxii_community.update",
            coordinator_own,
        )
        .await;
    let made = t
        .post(
            &w.program_admin,
            "/api/v1/taxii/collections",
            json!({"title": "Indicators", "types": ["indicator"], "tlp_ceiling": "green"}),
        )
        .await;
    let filtered = format!("/api/v1/taxii/collections/{}", made.ok()["id"].as_str().unwrap());
    table
        .row(
            "a program administrator defines a TAXII collection",
            "taxii_collection.create",
            "+ . . . . . . . . . . . .",
        )
        .await;
    assert_eq!(t.delete(&w.program_admin, &filtered).await.status.as_u16(), 204);
    table
        .row(
            "and removes it",
            "taxii_collection.delete",
            "+ . . . . . . . . . . . .",
        )
        .await;

    let policy =
        json!({"dedup_join_threshold": 0.9, "dedup_suggest_threshold": 0.4, "intake_reports_per_day": 400});
    t.put(&w.program_admin, "/api/v1/policy", policy).await.ok();
    let made = table.events().await;
    for kind in [
        "policy.dedup_join_threshold",
        "policy.dedup_suggest_threshold",
        "policy.intake_reports_per_day",
    ] {
        table.push(
            "the intake policy changes",
            only(&made, kind),
            "+ . . . . . . . . . . . .",
        );
    }

    // A coordinator registers a federation peer, changes and removes it: the clearinghouse's settings, read by
    // program administrators (the credential is in no event).
    let peer = t
        .post(
            &w.coordinator,
            "/api/v1/federation/peers",
            json!({"name": "Peer", "api_root": "http://127.0.0.1:9/taxii2/api/",
                   "collection_id": Uuid::new_v4(), "token": "tok_peer", "tlp": "green",
                   "interval_seconds": 3600}),
        )
        .await;
    let peer = peer.ok()["id"].as_str().unwrap().to_owned();
    t.patch(
        &w.coordinator,
        &format!("/api/v1/federation/peers/{peer}"),
        json!({"enabled": false}),
    )
    .await
    .ok();
    t.delete(&w.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    let made = table.events().await;
    for (row, kind) in [
        (
            "a coordinator registers a federation peer",
            "federation_peer.create",
        ),
        ("changes it", "federation_peer.update"),
        ("and removes it", "federation_peer.delete"),
    ] {
        // Program administrators, and the coordinator who acted (every actor reads their own events).
        table.push(row, only(&made, kind), "+ + . . . . . . . . . . .");
    }
}

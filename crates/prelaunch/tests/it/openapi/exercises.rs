//! The parts of the walk through the API that `every_answer_conforms_to_the_document` takes, one area each.

use super::answers::*;
use super::*;

/// Evaluation runs on a notice with a model behind the gateway: started (an example suite), listed, watched to
/// its end (its results), its samples read, cancelled (a longer one), bad input and an invisible run refused.
pub(super) async fn exercise_eval_runs(c: &mut Checked<'_>, w: &World) {
    let (ev, other) = (Some(&w.evaluator), Some(&w.other_evaluator));
    let up = Upstream::start().await;
    let notice = crate::gateway::notice_with_evaluator(c.t, w, 10).await;
    let connection = crate::gateway::connection_body(&up, json!({"model": "orion-1.0"}));
    c.t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/connections"),
        connection,
    )
    .await
    .ok();
    let suite = |epochs: u32| json!({"notice_id": notice, "model": "orion-1.0", "suite": "knowledge", "epochs": epochs});
    let (_, run) = c.create(ev, "/eval-runs", "/eval-runs", suite(1)).await;
    let path = format!("/eval-runs/{run}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c.t.get(&w.evaluator, &format!("/api/v1{path}")).await.ok()["state"] != "completed" {
        assert!(std::time::Instant::now() < deadline, "the run did not complete");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let (_, long) = c.create(ev, "/eval-runs", "/eval-runs", suite(100)).await;
    let bad = Some(json!({"notice_id": notice, "model": "orion-1.0", "task": "name = ", "dataset": "{}"}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "GET", "/eval-runs", format!("/eval-runs?notice_id={notice}"), None, 200),
        (ev, "GET", "/eval-runs/{id}", path.clone(), None, 200),
        (other, "GET", "/eval-runs/{id}", path.clone(), None, 404),
        (ev, "GET", "/eval-runs/{id}/results", format!("{path}/results?limit=2"), None, 200),
        (ev, "GET", "/eval-runs/{id}/compare/{other}", format!("{path}/compare/{long}?limit=2"), None, 200),
        (other, "GET", "/eval-runs/{id}/compare/{other}", format!("{path}/compare/{long}"), None, 404),
        (ev, "POST", "/eval-runs", "/eval-runs".into(), bad, 422),
        (ev, "POST", "/eval-runs/{id}/cancel", format!("/eval-runs/{long}/cancel"), None, 200),
        (ev, "POST", "/eval-runs/{id}/cancel", format!("{path}/cancel"), None, 409),
        (ev, "GET", "/eval-suites", "/eval-suites".into(), None, 200),
        (Some(&w.dev_admin), "GET", "/eval-suites", "/eval-suites".into(), None, 403),
        (ev, "GET", "/eval-runs/{id}/log", format!("{path}/log?format=inspect"), None, 200),
        (ev, "GET", "/eval-runs/{id}/log", format!("{path}/log?format=csv"), None, 422),
        (other, "GET", "/eval-runs/{id}/log", format!("{path}/log?format=inspect"), None, 404),
        (other, "POST", "/notices/{id}/eval-runs/import", format!("/notices/{notice}/eval-runs/import"), None, 404),
    ];
    c.run(steps).await;
    // An Inspect log imported as a run; a body that is not one refused naming the problem.
    let import = format!("/notices/{notice}/eval-runs/import");
    let template = "/notices/{id}/eval-runs/import";
    let log = crate::eval_io::tiny_log();
    let reply = c
        .raw(&w.evaluator, template, &import, "application/octet-stream", log)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = c
        .raw(
            &w.evaluator,
            template,
            &import,
            "application/octet-stream",
            b"not a log".to_vec(),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
}

/// The clearinghouse: a vendor's policy, a case opened, triaged (the vendor matched), its vendors notified,
/// a participant added and removed, the vendor's status, the discussion, the embargo, a subscription, the
/// metrics, publication, and the public advisory.
pub(super) async fn exercise_clearinghouse(c: &mut Checked<'_>, w: &World) {
    let (co, ve, op) = (Some(&w.coordinator), Some(&w.vendor), Some(&w.operator));
    let da = Some(&w.dev_admin);
    let policy = json!({"ai_found_public": false, "require_reproducer": false, "products": ["pkg:npm/acme"]});
    let new_case =
        json!({"title": "Overflow", "summary": "A long header.", "tlp": "clear", "sectors": ["energy"]});
    let (_, case) = c.create(co, "/cases", "/cases", new_case).await;
    let case_id: uuid::Uuid = case.parse().unwrap();
    let report = crate::cases::file_report(
        c.t,
        &crate::cases::Report::new(case_id, &w.dev_admin, c.t.clock_now()),
    )
    .await;
    let k = format!("/cases/{case}");
    let operator = format!("{k}/participants/{}", w.operator.org_id);
    let status = format!("{k}/vendors/{}/status", w.vendor.org_id);
    let ends = (c.t.clock_now() + chrono::Duration::days(30)).to_rfc3339();
    let to = |state: &str| Some(json!({"to": state, "reason": "as planned"}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ve, "PUT", "/vendor-policy", "/vendor-policy".into(), Some(policy), 200),
        (ve, "GET", "/vendor-policy", "/vendor-policy".into(), None, 200),
        (op, "GET", "/vendor-policy", "/vendor-policy".into(), None, 403),
        (co, "GET", "/cases", "/cases?state=new&mine=true".into(), None, 200),
        (co, "GET", "/cases/{id}", k.clone(), None, 200),
        (ve, "GET", "/cases/{id}", k.clone(), None, 404),
        (co, "POST", "/cases/{id}/transition", format!("{k}/transition"), to("triaged"), 200),
        (co, "POST", "/cases/{id}/transition", format!("{k}/transition"), to("new"), 409),
        (co, "POST", "/cases/{id}/transition", format!("{k}/transition"), to("vendors_notified"), 200),
        (co, "POST", "/cases/{id}/participants", format!("{k}/participants"), Some(json!({"org_id": w.operator.org_id, "role": "observer"})), 201),
        (co, "DELETE", "/cases/{id}/participants/{org_id}", operator.clone(), None, 204),
        (co, "DELETE", "/cases/{id}/participants/{org_id}", operator, None, 404),
        (ve, "PUT", "/cases/{id}/vendors/{org_id}/status", status.clone(), Some(json!({"report_id": report, "status": "fixed", "statement": "Fixed in 1.4.3."})), 200),
        (ve, "PUT", "/cases/{id}/vendors/{org_id}/status", status, Some(json!({"report_id": report, "status": "gone"})), 422),
        (ve, "POST", "/cases/{id}/posts", format!("{k}/posts"), Some(json!({"body": "Patched."})), 201),
        (ve, "GET", "/cases/{id}/posts", format!("{k}/posts"), None, 200),
        (co, "GET", "/cases/{id}/tlp-clients", format!("{k}/tlp-clients"), None, 200),
        (co, "PUT", "/cases/{id}/tlp-clients", format!("{k}/tlp-clients"), Some(json!({"organizations": [w.operator.org_id]})), 409),
        (da, "GET", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), None, 200),
        (da, "PUT", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), Some(json!({"organizations": [w.operator.org_id]})), 200),
        (da, "PUT", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), Some(json!({"organizations": ["no such"]})), 422),
        (ve, "PUT", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), Some(json!({"organizations": []})), 403),
        (co, "PUT", "/cases/{id}/embargo", format!("{k}/embargo"), Some(json!({"embargo_ends_at": ends, "reason": "shipped early"})), 200),
        (co, "PUT", "/cases/{id}/cve", format!("{k}/cve"), Some(json!({"cve": "CVE-2026-1234"})), 200),
        (co, "PUT", "/cases/{id}/cve", format!("{k}/cve"), Some(json!({"cve": "CVE-1"})), 422),
        (ve, "PUT", "/cases/{id}/cve", format!("{k}/cve"), Some(json!({"cve": "CVE-2026-1234"})), 403),
        (da, "POST", "/reports/import", "/reports/import".into(), Some(crate::exchange_import::osv_record("GHSA-aaaa-bbbb-cccc", None)), 201),
        (da, "POST", "/reports/import", "/reports/import".into(), Some(json!({"title": "neither CSAF nor OSV"})), 422),
        (op, "GET", "/subscriptions", "/subscriptions".into(), None, 200),
        (co, "GET", "/clearinghouse/metrics", format!("/clearinghouse/metrics?vendor={}", w.vendor.org_id), None, 200),
        (ve, "GET", "/clearinghouse/metrics", "/clearinghouse/metrics".into(), None, 403),
    ];
    c.run(steps).await;
    // TAXII sharing communities and collections defined by a filter.
    let pa = Some(&w.program_admin);
    let community = json!({"name": "Grid sharing", "organizations": [w.operator.org_id]});
    let (_, energy) = c
        .create(co, "/taxii/communities", "/taxii/communities", community)
        .await;
    let energy_path = format!("/taxii/communities/{energy}");
    let filter = json!({"title": "Grid indicators", "types": ["indicator"], "tlp_ceiling": "amber", "community": energy});
    let (_, filtered) = c
        .create(pa, "/taxii/collections", "/taxii/collections", filter)
        .await;
    let filtered = format!("/taxii/collections/{filtered}");
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (op, "GET", "/taxii/communities", "/taxii/communities".into(), None, 200),
        (op, "GET", "/taxii/communities/{id}", energy_path.clone(), None, 200),
        (ve, "GET", "/taxii/communities/{id}", energy_path.clone(), None, 404),
        (co, "PUT", "/taxii/communities/{id}", energy_path.clone(), Some(json!({"name": "Grid", "organizations": [w.operator.org_id, w.vendor.org_id]})), 200),
        (co, "PUT", "/taxii/communities/{id}", energy_path.clone(), Some(json!({"name": "Grid", "organizations": []})), 422),
        (op, "PUT", "/taxii/communities/{id}", energy_path, Some(json!({"name": "Grid", "organizations": [w.operator.org_id]})), 403),
        (co, "POST", "/taxii/communities", "/taxii/communities".into(), Some(json!({"name": "grid", "organizations": [w.operator.org_id]})), 409),
        (pa, "GET", "/taxii/collections", "/taxii/collections".into(), None, 200),
        (co, "GET", "/taxii/collections", "/taxii/collections".into(), None, 403),
        (pa, "POST", "/taxii/collections", "/taxii/collections".into(), Some(json!({"title": "T", "tlp_ceiling": "mauve"})), 422),
        (pa, "DELETE", "/taxii/collections/{id}", filtered.clone(), None, 204),
        (pa, "DELETE", "/taxii/collections/{id}", filtered, None, 404),
    ];
    c.run(steps).await;
    let (_, subscription) = c
        .create(
            op,
            "/subscriptions",
            "/subscriptions",
            json!({"sector": "energy", "min_severity": "high"}),
        )
        .await;
    let published = c
        .call(
            co,
            Method::POST,
            "/cases/{id}/transition",
            &format!("{k}/transition"),
            to("published"),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let advisories = c
        .call(None, Method::GET, "/advisories", "/advisories", None)
        .await;
    let advisory = advisories.ok()["items"][0]["id"].as_str().unwrap().to_owned();
    let reference = advisories.ok()["items"][0]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let cna = "cna_org_id=3b9f2a5e-6c1d-4e8f-9a0b-1c2d3e4f5a6b";
    let cve = |id: &str, query: &str| format!("/advisories/{id}/cve?{query}&{cna}");
    let nothing = uuid::Uuid::now_v7().to_string();
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (None, "GET", "/advisories/{id}", format!("/advisories/{advisory}"), None, 200),
        (op, "GET", "/advisories/{id}", format!("/advisories/{}", uuid::Uuid::now_v7()), None, 404),
        (co, "GET", "/advisories/{id}/cve", cve(&advisory, "cve_id=CVE-2026-1234"), None, 200),
        (co, "GET", "/advisories/{id}/cve", cve(&advisory, "cve_id=CVE-1"), None, 422),
        (op, "GET", "/advisories/{id}/cve", cve(&advisory, "cve_id=CVE-2026-1234"), None, 403),
        (co, "GET", "/advisories/{id}/cve", cve(&nothing, "cve_id=CVE-2026-1234"), None, 404),
        (None, "GET", "/{file}", format!("/x_{reference}.json"), None, 200),
        (op, "GET", "/{file}", format!("/x_{reference}.json"), None, 200),
        (None, "GET", "/{file}", "/x_PLA-1999-1.json".into(), None, 404),
        (None, "GET", "/all.zip", "/all.zip".into(), None, 200),
        (co, "GET", "/all.zip", "/all.zip".into(), None, 200),
        (None, "GET", "/advisories/{id}/csaf", format!("/advisories/{advisory}/csaf"), None, 200),
        (op, "GET", "/advisories/{id}/csaf", format!("/advisories/{}/csaf", uuid::Uuid::now_v7()), None, 404),
        // The CSAF provider.
        (None, "GET", "/provider-metadata.json", "/provider-metadata.json".into(), None, 200),
        (None, "GET", "/{dir}/{file}", "/white/index.txt".into(), None, 200),
        (op, "GET", "/{dir}/{file}", "/white/changes.csv".into(), None, 200),
        (None, "GET", "/{dir}/{file}", "/white/csaf-feed-tlp-white.json".into(), None, 200),
        (None, "GET", "/{dir}/{file}", "/purple/index.txt".into(), None, 404),
        (None, "GET", "/{dir}/{year}/{file}", "/white/1999/pla-1999-1.json".into(), None, 404),
        (op, "DELETE", "/subscriptions/{id}", format!("/subscriptions/{subscription}"), None, 204),
    ];
    c.run(steps).await;
}

/// The clearinghouse: reports of both kinds (one joining another's case), an attachment, reading under TLP
/// (the public too), forwarding a finding (`forward`, the evaluator's), triage, merge and split, and the
/// intake limit.
pub(super) async fn exercise_reports(c: &mut Checked<'_>, w: &World, forward: &str) {
    // The reporter is Other Lab's admin (Frontier Lab's member was deactivated above).
    let (pa, dm, dev, op) = (
        Some(&w.program_admin),
        Some(&w.other_dev),
        Some(&w.dev_admin),
        Some(&w.operator),
    );
    let (co, ev) = (Some(&w.coordinator), Some(&w.evaluator));
    let vulnerability = |product: &str| {
        json!({
            "kind": "vulnerability", "title": "Heap overflow in png_read_row", "tlp": "amber",
            "description": "ASan: heap-buffer-overflow WRITE of size 4 in png_read_row at pngread.c:512.",
            "affected": [{"purl": product, "versions": ">=1.6.0, <1.6.44"}], "cwe": "CWE-787",
            "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "cvss_v4": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "finder": {"kind": "person", "name": "A. Finder"}, "ai_found": true,
            "location": "pngread.c:png_read_row", "crash_signature": "#0 png_read_row pngread.c:512",
            "threat_model": "Untrusted images.", "sectors": ["energy"],
        })
    };
    let (filed, report) = c
        .create(dm, "/reports", "/reports", vulnerability("pkg:generic/libpng"))
        .await;
    let (joined, joined_id) = c
        .create(dm, "/reports", "/reports", vulnerability("pkg:generic/libpng"))
        .await;
    assert_eq!(joined["joined"], true);
    assert_eq!(joined["duplicates"][0]["report_id"], report.as_str());
    let case = filed["case_id"].as_str().unwrap().to_owned();
    let (other, _) = c
        .create(dm, "/reports", "/reports", vulnerability("pkg:npm/other"))
        .await;
    let other_case = other["case_id"].as_str().unwrap().to_owned();
    let red = json!({
        "kind": "threat", "title": "Lures", "description": "Model-written lures.", "tlp": "red",
        "people": [w.evaluator.user_id], "indicators": ["[domain-name:value = 'lure.example']"],
        "attack_patterns": ["T1566"], "misuse": "Per-target lures.",
    });
    let (_, threat) = c.create(dm, "/reports", "/reports", red).await;
    let r = format!("/reports/{report}");
    let attached = c
        .raw(
            &w.other_dev,
            "/reports/{id}/attachments",
            &format!("{r}/attachments?role=reproducer&name=poc.txt"),
            "text/plain",
            b"poc".to_vec(),
        )
        .await;
    assert_eq!(attached.status, 201, "{}", attached.body);
    let a = format!("{r}/attachments/{}", attached.body["id"].as_str().unwrap());
    let split = |report: &str| Some(json!({"reports": [report]}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (dm, "GET", "/reports", "/reports?mine=true&tlp=amber&limit=2".into(), None, 200),
        (None, "GET", "/reports", "/reports".into(), None, 200),
        (dm, "GET", "/reports", "/reports?tlp=white".into(), None, 422),
        (dm, "POST", "/reports", "/reports".into(), Some(json!({"kind": "vulnerability", "title": "t", "description": "d", "tlp": "white"})), 422),
        (dm, "POST", "/reports/candidates", "/reports/candidates".into(), Some(vulnerability("pkg:generic/libpng")), 200),
        (op, "POST", "/reports/candidates", "/reports/candidates".into(), Some(vulnerability("pkg:generic/libpng")), 200),
        (dm, "POST", "/reports/candidates", "/reports/candidates".into(), Some(json!({"kind": "vulnerability", "title": "t", "description": "d", "tlp": "white"})), 422),
        (dm, "GET", "/reports/{id}", r.clone(), None, 200),
        (op, "GET", "/reports/{id}", r.clone(), None, 404),
        (ev, "GET", "/reports/{id}", format!("/reports/{threat}"), None, 200),
        (dm, "GET", "/reports/{id}/attachments", format!("{r}/attachments"), None, 200),
        (op, "GET", "/reports/{id}/attachments", format!("{r}/attachments"), None, 404),
        (dm, "GET", "/reports/{id}/attachments/{attachment_id}", a.clone(), None, 200),
        (None, "GET", "/reports/{id}/attachments/{attachment_id}", a, None, 404),
        (ev, "POST", "/findings/{id}/report", forward.into(), Some(json!({"tlp": "green", "affected": [{"purl": "pkg:generic/orion", "versions": "*"}]})), 201),
        (ev, "POST", "/findings/{id}/report", forward.into(), Some(json!({"tlp": "green"})), 409),
        (dev, "POST", "/findings/{id}/report", forward.into(), Some(json!({"tlp": "green"})), 403),
        (co, "GET", "/triage", "/triage?limit=1".into(), None, 200),
        (dm, "GET", "/triage", "/triage".into(), None, 403),
        (co, "POST", "/cases/{id}/merge", format!("/cases/{other_case}/merge"), Some(json!({"into": case})), 200),
        (co, "POST", "/cases/{id}/merge", format!("/cases/{other_case}/merge"), Some(json!({"into": case})), 409),
        (dm, "POST", "/cases/{id}/split", format!("/cases/{case}/split"), split(&joined_id), 403),
        (co, "POST", "/cases/{id}/split", format!("/cases/{case}/split"), split(&threat), 422),
        (co, "POST", "/cases/{id}/split", format!("/cases/{case}/split"), split(&joined_id), 201),
        (pa, "PUT", "/policy", "/policy".into(), Some(json!({"intake_reports_per_day": 1})), 200),
        (op, "POST", "/reports", "/reports".into(), Some(vulnerability("pkg:npm/limited")), 201),
        (op, "POST", "/reports", "/reports".into(), Some(vulnerability("pkg:npm/limited")), 429),
    ];
    let replies = c.run(steps).await;
    assert!(replies.last().unwrap().headers.contains_key("retry-after"));
}

/// The model gateway: a notice's connections, an evaluator's gateway token, calls in both API styles through a
/// scripted model API, and what the calls left. `n` is the path of a notice in review, shared with the agency
/// and its evaluator assigned.
pub(super) async fn exercise_gateway(c: &mut Checked<'_>, w: &World, n: &str) {
    let (dev, ag, ev, other) = (
        Some(&w.dev_admin),
        Some(&w.agency_admin),
        Some(&w.evaluator),
        Some(&w.other_evaluator),
    );
    let up = Upstream::start().await;
    let settings = |style: &str, model: &str| {
        json!({
            "model": model, "api_style": style, "base_url": up.base_url, "upstream_model": UPSTREAM_MODEL,
            "credential": CREDENTIAL, "retention": "encrypted",
        })
    };
    let connections = format!("{n}/connections");
    let mut created = Vec::new();
    for (style, model) in [("openai", "orion-chat"), ("anthropic", "orion-messages")] {
        let (_, id) = c
            .create(
                dev,
                "/notices/{id}/connections",
                &connections,
                settings(style, model),
            )
            .await;
        created.push(format!("{connections}/{id}"));
    }
    let (chat, messages) = (&created[0], &created[1]);
    let tokens = format!("{n}/gateway-tokens");
    let (issued, token_id) = c
        .create(
            ev,
            "/notices/{id}/gateway-tokens",
            &tokens,
            json!({"name": "laptop", "expires_in_days": 7}),
        )
        .await;
    let token = format!("{tokens}/{token_id}");
    // The evaluator, holding their gateway token.
    let holder = Persona {
        token: issued["token"].as_str().unwrap().to_owned(),
        ..w.evaluator.clone()
    };
    let gw = Some(&holder);
    let ask = |model: &str, stream: bool| {
        Some(json!({
            "model": model, "stream": stream, "max_tokens": 5,
            "messages": [{"role": "user", "content": "Hello"}],
        }))
    };
    let mut change = settings("openai", "orion-chat");
    change.as_object_mut().unwrap().remove("credential");
    change["requests_per_minute"] = json!(100);
    let ftp = json!({"api_style": "openai", "base_url": "ftp://model.example", "upstream_model": "m", "credential": "k"});
    let missing = format!("{connections}/{}", Uuid::now_v7());
    let calls = format!("{n}/gateway-calls");

    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        // Connections.
        (dev, "GET", "/notices/{id}/connections", connections.clone(), None, 200),
        (ag, "GET", "/notices/{id}/connections", connections.clone(), None, 403),
        (dev, "POST", "/notices/{id}/connections", connections.clone(), Some(settings("anthropic", "orion-messages")), 409),
        (dev, "POST", "/notices/{id}/connections", connections, Some(ftp), 422),
        (dev, "GET", "/notices/{id}/connections/{connection}", chat.clone(), None, 200),
        (dev, "GET", "/notices/{id}/connections/{connection}", missing, None, 404),
        (dev, "PUT", "/notices/{id}/connections/{connection}", chat.clone(), Some(change), 200),
        (dev, "POST", "/notices/{id}/connections/{connection}/test", format!("{chat}/test"), None, 200),
        (ev, "POST", "/notices/{id}/connections/{connection}/test", format!("{chat}/test"), None, 403),
        // Gateway tokens.
        (dev, "POST", "/notices/{id}/gateway-tokens", tokens.clone(), Some(json!({"name": "mine"})), 403),
        (ag, "GET", "/notices/{id}/gateway-tokens", format!("{tokens}?limit=1"), None, 200),
        // Calls, in both styles, answered and refused.
        (None, "GET", "/models", "/models".into(), None, 401),
        (gw, "GET", "/models", "/models".into(), None, 200),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-chat", false), 200),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-chat", true), 200),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-messages", false), 400),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("nothing", false), 404),
        (None, "POST", "/messages", "/messages".into(), ask("orion-messages", false), 401),
        (gw, "POST", "/messages", "/messages".into(), ask("orion-messages", false), 200),
        // What the calls left.
        (dev, "GET", "/notices/{id}/gateway-usage", format!("{n}/gateway-usage"), None, 200),
        (ag, "GET", "/notices/{id}/gateway-usage", format!("{n}/gateway-usage"), None, 200),
        (dev, "GET", "/notices/{id}/gateway-calls", calls.clone(), None, 403),
        (ev, "GET", "/notices/{id}/gateway-calls", calls.clone(), None, 200),
    ];
    let replies = c.run(steps).await;
    assert!(
        replies.iter().any(|r| r.content_type == "text/event-stream"),
        "a streamed call is answered with events"
    );
    let listed = &replies.last().unwrap().body["items"];
    let answered = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|call| call["status"] == 200);
    let transcript = format!("{calls}/{}/transcript", answered.unwrap()["id"].as_str().unwrap());

    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "GET", "/notices/{id}/gateway-calls/{call}/transcript", transcript.clone(), None, 200),
        (other, "GET", "/notices/{id}/gateway-calls/{call}/transcript", transcript, None, 404),
        (ev, "DELETE", "/notices/{id}/gateway-tokens/{token}", token.clone(), None, 200),
        (ev, "DELETE", "/notices/{id}/gateway-tokens/{token}", token, None, 409),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-chat", false), 401),
        (dev, "DELETE", "/notices/{id}/connections/{connection}", messages.clone(), None, 204),
        (dev, "DELETE", "/notices/{id}/connections/{connection}", messages.into(), None, 404),
    ];
    c.run(steps).await;
}

/// The transparency ledger: a receipt for an event of a notice, a checkpoint signed on demand, and the public
/// ledger's reads against it.
pub(super) async fn exercise_ledger(c: &mut Checked<'_>, w: &World, notice_id: &str) {
    let (pa, dev, ev, other) = (
        Some(&w.program_admin),
        Some(&w.dev_admin),
        Some(&w.evaluator),
        Some(&w.other_evaluator),
    );
    let audit = format!("/audit?object_id={notice_id}&limit=1");
    let audit = c.call(pa, Method::GET, "/audit", &audit, None).await;
    let receipt = format!(
        "/audit/{}/receipt",
        audit.ok()["items"][0]["id"].as_str().unwrap()
    );
    let signed = c
        .call(
            pa,
            Method::POST,
            "/ledger/checkpoints",
            "/ledger/checkpoints",
            None,
        )
        .await;
    assert_eq!(signed.status, 201, "{}", signed.body);
    let size = signed.body["size"].as_u64().unwrap();
    let tile = match size {
        256.. => "/tile/0/000".to_owned(),
        _ => format!("/tile/0/000.p/{size}"),
    };

    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "GET", "/audit/{id}/receipt", receipt.clone(), None, 200),
        (other, "GET", "/audit/{id}/receipt", receipt, None, 404),
        (dev, "POST", "/ledger/checkpoints", "/ledger/checkpoints".into(), None, 403),
        // The public ledger.
        (None, "GET", "/key", "/key".into(), None, 200),
        (None, "GET", "/checkpoint", "/checkpoint".into(), None, 200),
        (None, "GET", "/tile/{path}", tile, None, 200),
        (None, "GET", "/tile/{path}", "/tile/9/000".into(), None, 404),
        (None, "GET", "/proof/inclusion", format!("/proof/inclusion?index=0&size={size}"), None, 200),
        (None, "GET", "/proof/inclusion", "/proof/inclusion?index=0".into(), None, 422),
        (None, "GET", "/proof/consistency", format!("/proof/consistency?old=1&new={size}"), None, 200),
        (None, "GET", "/proof/consistency", "/proof/consistency?old=0&new=1".into(), None, 422),
        // The job queue, program administrators only.
        (pa, "GET", "/jobs", "/jobs?state=failed".into(), None, 200),
        (pa, "GET", "/jobs", "/jobs?state=stuck".into(), None, 422),
        (dev, "GET", "/jobs", "/jobs".into(), None, 403),
        (pa, "POST", "/jobs/{id}/retry", format!("/jobs/{}/retry", uuid::Uuid::new_v4()), None, 404),
        (dev, "POST", "/jobs/{id}/retry", format!("/jobs/{}/retry", uuid::Uuid::new_v4()), None, 403),
    ];
    let replies = c.run(steps).await;
    // The texts are what the document says they are: the receipt (the first answer) verifies with the
    // ledger's key (the fourth).
    let key = VerifierKey::parse(replies[3].body.as_str().unwrap().trim()).unwrap();
    let receipt = Receipt::parse(replies[0].body.as_str().unwrap()).unwrap();
    receipt.verify(&key).unwrap();
}

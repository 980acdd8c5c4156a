//! Who reads a case and when: TLP and embargo, publication at the embargo's end, participants, reproducers.

use super::*;

/// Who reads a case, its discussion and its advisory, by marking, before and after publication.
#[tokio::test]
async fn tlp_and_embargo_decide_who_reads_cases_posts_and_advisories() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Columns: coordinator, program admin, vendor (participant), reporter (dev admin, its report's org),
    // other developer, operator, the public (advisories only). `+` reads, `4` not found, `3` forbidden.
    #[rustfmt::skip]
    let table = [
        // marking          case before  case after   posts after   advisory after
        ("clear",          "+ + + + 4 4", "+ + + + + +", "+ + + + 3 3", "+ + + + + + +"),
        ("green",          "+ + + + 4 4", "+ + + + + +", "+ + + + 3 3", "+ + + + + + 4"),
        ("amber",          "+ + + + 4 4", "+ + + + 4 4", "+ + + + 4 4", "+ + + + 4 4 4"),
        ("amber+strict",   "+ + + + 4 4", "+ + + + 4 4", "+ + + + 4 4", "+ + + + 4 4 4"),
    ];
    let readers = [
        &w.coordinator,
        &w.program_admin,
        &w.vendor,
        &w.dev_admin,
        &w.other_dev,
        &w.operator,
    ];
    let check = |reply: &Reply, cell: &str, what: &str| match cell {
        "+" => assert!(reply.status.is_success(), "{what}: {}", reply.body),
        "4" => {
            reply.problem(404, "not-found");
        }
        "3" => {
            reply.problem(403, "forbidden");
        }
        other => panic!("{other}"),
    };
    for (tlp, before, after, posts, advisory) in table {
        let case = open_case(&t, &w.coordinator, tlp, &[w.vendor.org_id]).await;
        file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
        transition(&t, &w.coordinator, case, "triaged").await.ok();
        transition(&t, &w.coordinator, case, "vendors_notified")
            .await
            .ok();
        t.post(
            &w.coordinator,
            &format!("/api/v1/cases/{case}/posts"),
            json!({"body": "hello"}),
        )
        .await
        .ok();
        let path = format!("/api/v1/cases/{case}");
        for (who, cell) in readers.iter().zip(before.split_whitespace()) {
            check(
                &t.get(who, &path).await,
                cell,
                &format!("{tlp} before, {}", who.name),
            );
        }
        let published = transition(&t, &w.coordinator, case, "published").await;
        assert_eq!(published.ok()["case"]["state"], "published");
        let advisory_id = {
            let list = t.get(&w.coordinator, "/api/v1/advisories").await;
            let items = list.ok()["items"].as_array().unwrap().clone();
            let found = items.iter().find(|a| a["case_id"] == json!(case)).unwrap();
            id_of(found)
        };
        for (who, cell) in readers.iter().zip(after.split_whitespace()) {
            check(
                &t.get(who, &path).await,
                cell,
                &format!("{tlp} after, {}", who.name),
            );
        }
        for (who, cell) in readers.iter().zip(posts.split_whitespace()) {
            let reply = t.get(who, &format!("{path}/posts")).await;
            check(&reply, cell, &format!("{tlp} posts, {}", who.name));
        }
        let advisory_path = format!("/api/v1/advisories/{advisory_id}");
        let cells: Vec<&str> = advisory.split_whitespace().collect();
        for (who, cell) in readers.iter().zip(&cells) {
            check(
                &t.get(who, &advisory_path).await,
                cell,
                &format!("{tlp} advisory, {}", who.name),
            );
        }
        let public = t.call(Method::GET, &advisory_path, None, None).await;
        check(&public, cells[6], &format!("{tlp} advisory, the public"));
        // A dead credential is refused, as on every API route, rather than read as the public.
        let dead = t
            .call(Method::GET, &advisory_path, Some("plk_nothing"), None)
            .await;
        dead.problem(401, "invalid-token");
        let listed = t.call(Method::GET, "/api/v1/advisories", None, None).await;
        let public_ids: BTreeSet<String> = listed.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            public_ids.contains(&advisory_id.to_string()),
            cells[6] == "+",
            "{tlp}: the public list"
        );
    }
    // A forged case id reads as absent, exactly like an invisible one.
    let forged = t
        .get(&w.coordinator, &format!("/api/v1/cases/{}", Uuid::now_v7()))
        .await;
    forged.problem(404, "not-found");
}

#[tokio::test]
async fn the_embargo_publishes_at_its_instant_even_across_a_restart() {
    let database = fresh_database_url().await;
    let t = spawn_app_on(&database).await;
    let w = World::new(&t).await;
    let case = open_case(&t, &w.coordinator, "clear", &[w.vendor.org_id]).await;
    file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    let triaged = transition(&t, &w.coordinator, case, "triaged").await;
    let default = time_of(&triaged.ok()["case"], "embargo_ends_at").unwrap();
    assert_eq!(default, t.clock_now() + Duration::days(90), "the program default");
    // Moved earlier, with a reason: the job for the old date will find the date changed.
    let ends = t.clock_now() + Duration::days(30);
    let moved = t
        .put(
            &w.coordinator,
            &format!("/api/v1/cases/{case}/embargo"),
            json!({"embargo_ends_at": ends.to_rfc3339(), "reason": "the vendor shipped early"}),
        )
        .await;
    assert_eq!(time_of(moved.ok(), "embargo_ends_at"), Some(ends));

    t.clock.set(ends - Duration::seconds(1));
    assert_eq!(state_after_a_while(&t, &w.coordinator, case).await, "triaged");
    // A restart: this server and its worker stop; a new one over the same database takes over.
    let before = t.clock_now();
    drop(t);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let t = spawn_app_on(&database).await;
    t.clock.set(before);
    assert_eq!(state_after_a_while(&t, &w.coordinator, case).await, "triaged");
    t.clock.set(ends);
    let published = wait_published(&t, &w.coordinator, case).await;
    assert_eq!(time_of(&published, "published_at"), Some(ends));
    // The old date passing publishes nothing more: one advisory, published once.
    t.clock.set(default + Duration::seconds(1));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let public = t.call(Method::GET, "/api/v1/advisories", None, None).await;
    assert_eq!(public.ok()["items"].as_array().unwrap().len(), 1);
    let publications = t
        .audit_after(0)
        .await
        .into_iter()
        .filter(|e| e.action == "case.publish")
        .count();
    assert_eq!(publications, 1);
}

#[tokio::test]
async fn participants_hear_before_the_embargo_ends() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let case = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    transition(&t, &w.coordinator, case, "triaged").await.ok();
    transition(&t, &w.coordinator, case, "vendors_notified")
        .await
        .ok();
    let ends = t.clock_now() + Duration::days(90);
    let reminded = |p: &Persona| {
        let p = p.clone();
        let t = &t;
        async move {
            let inbox = t.get(&p, "/api/v1/notifications?limit=200").await;
            inbox.ok()["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["kind"] == "case.embargo_ending")
                .map(|n| n["title"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    t.clock.set(ends - Duration::days(8));
    crate::notifications::deliver(&t).await;
    assert!(reminded(&w.vendor).await.is_empty());
    t.clock.set(ends - Duration::days(7));
    crate::notifications::deliver(&t).await;
    let week = reminded(&w.vendor).await;
    assert_eq!(week.len(), 1, "{week:?}");
    assert!(week[0].contains("ends in 7 days"), "{week:?}");
    t.clock.set(ends - Duration::hours(20));
    crate::notifications::deliver(&t).await;
    assert_eq!(reminded(&w.vendor).await.len(), 2);
    assert_eq!(
        reminded(&w.dev_admin).await.len(),
        2,
        "the reporter's organisation"
    );
    // Not a participant: told nothing.
    assert!(reminded(&w.operator).await.is_empty());
    assert!(reminded(&w.other_dev).await.is_empty());
}

#[tokio::test]
async fn a_vendor_requiring_a_reproducer_waits_for_one() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let policy = json!({"embargo_days": null, "ai_found_public": false, "require_reproducer": true, "reports_per_day": null});
    t.put(&w.vendor, "/api/v1/vendor-policy", policy).await.ok();
    let case = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    transition(&t, &w.coordinator, case, "triaged").await.ok();
    let moved = transition(&t, &w.coordinator, case, "vendors_notified").await;
    let left = &moved.ok()["not_notified"];
    assert_eq!(left[0]["org_id"], json!(w.vendor.org_id), "{left}");
    assert!(left[0]["reason"].as_str().unwrap().contains("reproducer"));
    t.get(&w.vendor, &format!("/api/v1/cases/{case}"))
        .await
        .problem(404, "not-found");
    // A report with a reproducer arrives; the coordinator adds the vendor again, now told at once.
    let mut with = Report::new(case, &w.other_dev, t.clock_now());
    with.reproducer = true;
    file_report(&t, &with).await;
    let path = format!("/api/v1/cases/{case}/participants");
    t.delete(&w.coordinator, &format!("{path}/{}", w.vendor.org_id))
        .await;
    let added = t
        .post(
            &w.coordinator,
            &path,
            json!({"org_id": w.vendor.org_id, "role": "vendor"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    t.get(&w.vendor, &format!("/api/v1/cases/{case}")).await.ok();
}

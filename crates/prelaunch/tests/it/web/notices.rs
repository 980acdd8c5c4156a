//! Notices through the web forms: filing, errors, rendering, moves and withdrawals, and the agencies' work on
//! them.

use super::*;

#[tokio::test]
async fn a_developer_files_a_notice_through_the_form_and_sees_it() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;

    let form = web.get("/notices/new").await;
    form.assert(200);
    assert!(form.body.contains("Cyber Evaluation Agency"));
    assert!(form.body.contains("in UTC"), "the form says times are UTC");
    assert!(
        form.body.contains("24-hour time in UTC"),
        "the launch is typed as the site writes times"
    );

    let agency = w.agency.to_string();
    let fields = notice_form(&t, "Orion", 10, &agency);
    let filed = web.submit("/notices/new", "/notices", &pairs(&fields)).await;
    let id = filed.created_id("/notices/");

    let dashboard = web.get("/").await;
    dashboard.assert(200);
    assert!(dashboard.body.contains(&format!("href=\"/notices/{id}\"")));
    assert!(dashboard.body.contains("Orion"));
    assert!(dashboard.body.contains("badge-in_review"));
    assert!(dashboard.body.contains("10 days left"));
    assert!(dashboard.body.contains("<svg class=\"track\""));
    assert!(dashboard.body.contains("never") || dashboard.body.contains("nothing here approves"));

    let detail = web.get(&format!("/notices/{id}")).await;
    detail.assert(200);
    assert!(
        detail.body.contains("<strong>frontier</strong>"),
        "the card is rendered"
    );
    assert!(
        detail.body.contains("Filed"),
        "the history starts with the filing"
    );
    assert!(
        detail.body.contains("Cyber Evaluation Agency"),
        "the developer sees its shares"
    );
    assert!(detail.body.contains("Change the launch date"));

    let listed = web.get("/notices").await;
    assert!(listed.body.contains(&format!("href=\"/notices/{id}\"")));

    // The agency it was shared with sees it too, filtered by developer; the other agency does not.
    let agency_web = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "lin@agency.example",
        "member",
        "Lin",
    )
    .await;
    let filtered = agency_web
        .get(&format!(
            "/notices?state=in_review&developer={}",
            w.dev_admin.org_id
        ))
        .await;
    assert!(filtered.body.contains(&format!("href=\"/notices/{id}\"")));
    let none = agency_web.get("/notices?state=launched").await;
    assert!(!none.body.contains(&format!("href=\"/notices/{id}\"")));
    let agency_view = agency_web.get(&format!("/notices/{id}")).await;
    agency_view.assert(200);
    assert!(!agency_view.body.contains("Change the launch date"));
}

#[tokio::test]
async fn form_errors_name_the_field_and_keep_the_values() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;
    let agency = w.agency.to_string();
    let good = notice_form(&t, "Orion", 40, &agency);
    let cases: &[(&str, &str, &str)] = &[
        ("model_name", "   ", "Model name"),
        ("planned_launch_at", "2026-06-01T12:00", "Planned launch (UTC)"),
        ("planned_launch_at", "next tuesday", "Planned launch (UTC)"),
        ("shared_with", "", "Agencies to share with"),
        ("shared_with", "not-an-id", "Agencies to share with"),
    ];
    for (field, value, label) in cases {
        let mut fields = good.clone();
        for entry in fields.iter_mut().filter(|(k, _)| k == field) {
            entry.1 = (*value).to_owned();
        }
        let page = web.submit("/notices/new", "/notices", &pairs(&fields)).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            page.body
        );
        assert!(
            page.body.contains(&format!("href=\"#{field}\">{label}:")),
            "{field}"
        );
        assert!(page.body.contains("aria-invalid=\"true\""));
        assert!(page.body.contains("A **frontier** model."), "the card is kept");
        if *field != "model_name" {
            assert!(page.body.contains("value=\"Orion\""), "the name is kept");
        }
        if *field != "shared_with" {
            assert!(
                page.body.contains(&format!("value=\"{agency}\" checked")),
                "the choice is kept"
            );
        }
    }
    let listed = t.get(&w.dev_admin, "/api/v1/notices").await;
    assert_eq!(listed.ok()["items"], json!([]), "nothing was filed");
}

#[tokio::test]
async fn a_model_card_with_script_is_rendered_inert() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;
    let agency = w.agency.to_string();
    let mut fields = notice_form(&t, "<b>Orion</b>", 40, &agency);
    for entry in fields.iter_mut().filter(|(k, _)| k == "model_card") {
        entry.1 = "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))"
            .into();
    }
    let id = web
        .submit("/notices/new", "/notices", &pairs(&fields))
        .await
        .created_id("/notices/");
    for path in [format!("/notices/{id}"), "/".to_owned(), "/notices".to_owned()] {
        let page = web.get(&path).await;
        page.assert(200);
        assert_accessible(&path, &page.body);
        assert!(!page.body.contains("<b>Orion</b>"), "{path}: the name is escaped");
        assert!(!page.body.contains("<img src=x"), "{path}");
    }
    let detail = web.get(&format!("/notices/{id}")).await;
    assert!(detail.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        detail.body.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "shown as text"
    );
    assert!(
        detail.body.contains("&lt;b&gt;Orion") || detail.body.contains("&#60;b&#62;Orion"),
        "the name is shown as text"
    );
    assert!(
        detail.body.contains("<p>click</p>"),
        "the unsafe link became text"
    );
}

#[tokio::test]
async fn an_outsider_gets_the_same_not_found_page_as_for_nothing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let missing = uuid::Uuid::now_v7();
    let cases = [
        ("Other Lab", "bob@other-lab.example"),
        ("Infrastructure Agency", "ivy@infra.example"),
        ("Router Vendor", "val@vendor.example"),
    ];
    for (org, email) in cases {
        let web = signed_in(&t, org, email, "admin", "Outsider").await;
        let hidden = web.get(&format!("/notices/{id}")).await;
        hidden.assert(404);
        assert!(hidden.body.contains("Page not found"));
        assert!(!hidden.body.contains("Orion"), "{org}");
        let nothing = web.get(&format!("/notices/{missing}")).await;
        nothing.assert(404);
        assert_eq!(hidden.body, nothing.body, "{org}: existence does not leak");
        web.get("/notices/not-a-uuid").await.assert(404);
        web.get(&format!("/findings/{missing}")).await.assert(404);
        web.get("/no/such/page").await.assert(404);
        // Acting on it fails the same way.
        web.submit("/", &format!("/notices/{id}/withdraw"), &[("confirm", "yes")])
            .await
            .assert(404);
        assert!(
            !web.get("/").await.body.contains(id),
            "{org}: not on the timeline"
        );
    }
    let state = t.get(&w.dev_admin, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(state.ok()["state"], "in_review");
}

#[tokio::test]
async fn the_developer_moves_announces_and_withdraws_through_the_forms() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada Lovelace").await;
    let web = Web::sign_in(&t, &dev).await;
    let notice = t.file_notice(&w.dev_admin, 45, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let page = format!("/notices/{id}");

    let past = web
        .submit(
            &page,
            &format!("{page}/launch"),
            &[("planned_launch_at", "2026-12-01T00:00"), ("reason", "oops")],
        )
        .await;
    past.assert_form_error("launch-planned_launch_at", "2026-12-01T00:00");

    web.submit(
        &page,
        &format!("{page}/launch"),
        &[
            ("planned_launch_at", "2027-01-20T09:30"),
            ("reason", "Training finished early"),
        ],
    )
    .await
    .assert(303);
    let moved = web.get(&page).await;
    assert!(moved.body.contains("Launch date moved"));
    assert!(moved.body.contains("Training finished early"));
    assert!(moved.body.contains("20 Jan 2027, 09:30 UTC"));
    assert!(moved.body.contains("Ada Lovelace"), "who moved it");
    assert!(
        moved.body.contains("badge-in_review"),
        "the window opened with the move"
    );

    let unconfirmed = web
        .submit(&page, &format!("{page}/withdraw"), &[("reason", "Changed plans")])
        .await;
    unconfirmed.assert_form_error("withdraw-confirm", "Changed plans");
    let state = t.get(&w.dev_admin, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(state.ok()["state"], "in_review", "nothing happened");

    web.submit(
        &page,
        &format!("{page}/withdraw"),
        &[("reason", "Changed plans"), ("confirm", "yes")],
    )
    .await
    .assert(303);
    let withdrawn = web.get(&page).await;
    assert!(withdrawn.body.contains("badge-withdrawn"));
    assert!(withdrawn.body.contains("Changed plans"));
    assert!(
        !withdrawn.body.contains("Change the launch date"),
        "no more date actions"
    );

    // Announcing a launch works the same way on another notice.
    let other = t.file_notice(&w.dev_admin, 5, &[w.agency]).await;
    let other = format!("/notices/{}", other["id"].as_str().unwrap());
    web.submit(&other, &format!("{other}/launch-now"), &[("confirm", "yes")])
        .await
        .assert(303);
    assert!(web.get(&other).await.body.contains("Marked launched"));
}

#[tokio::test]
async fn agencies_assign_file_findings_and_publish_assessments_through_the_forms() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let page = format!("/notices/{id}");
    let chief = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "chief@agency.example",
        "admin",
        "Chief",
    )
    .await;
    let analyst_member = member(
        &t,
        "Cyber Evaluation Agency",
        "lin@agency.example",
        "member",
        "Lin Analyst",
    )
    .await;
    let analyst = Web::sign_in(&t, &analyst_member).await;
    let lin = t
        .app
        .store
        .find_user_by_email("lin@agency.example")
        .await
        .unwrap()
        .unwrap();

    let before = analyst.get(&page).await;
    assert!(!before.body.contains("File a finding"), "not assigned yet");
    assert!(!before.body.contains("Assign an evaluator"));
    let offered = chief.get(&page).await;
    assert!(offered.body.contains(&format!("value=\"{}\"", lin.id)));
    chief
        .submit(
            &page,
            &format!("{page}/assignments"),
            &[("user_id", &lin.id.to_string())],
        )
        .await
        .assert(303);
    assert!(chief.get(&page).await.body.contains("Lin Analyst"));

    let incomplete = analyst
        .submit(
            &page,
            &format!("{page}/findings"),
            &[
                ("title", "Exploit generation"),
                ("domain", "cyber_offense"),
                ("severity", ""),
                ("description", "Writes working exploits."),
            ],
        )
        .await;
    incomplete.assert_form_error("finding-severity", "Exploit generation");
    assert!(
        incomplete.body.contains("<details class=\"disclosure\" open>"),
        "the form stays open"
    );

    let filed = analyst
        .submit(
            &page,
            &format!("{page}/findings"),
            &[
                ("title", "Exploit generation"),
                ("domain", "cyber_offense"),
                ("severity", "high"),
                ("description", "Writes **working** exploits for known CVEs."),
                ("evidence", "https://runs.example/1\r\nurn:run:2\r\n"),
            ],
        )
        .await;
    let finding = filed.created_id("/findings/");
    let shown = analyst.get(&format!("/findings/{finding}")).await;
    shown.assert(200);
    assert!(shown.body.contains("<strong>working</strong>"));
    assert!(shown.body.contains("href=\"https://runs.example/1\""));
    assert!(shown.body.contains("<code>urn:run:2</code>"));
    assert!(shown.body.contains("badge-high"));

    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    assert!(
        dev.get(&page).await.body.contains("Exploit generation"),
        "the developer always sees findings"
    );
    dev.get(&format!("/findings/{finding}")).await.assert(200);
    let other = signed_in(&t, "Infrastructure Agency", "ivy@infra.example", "admin", "Ivy").await;
    other.get(&format!("/findings/{finding}")).await.assert(404);

    let empty = analyst
        .submit(
            &page,
            &format!("{page}/assessments"),
            &[("rationale", "Nothing assessed")],
        )
        .await;
    empty.assert(422);
    assert!(empty.body.contains("id=\"assessment-levels-error\""));
    let published = analyst
        .submit(
            &page,
            &format!("{page}/assessments"),
            &[
                ("levels.cyber_offense", "high"),
                ("levels.autonomy", ""),
                ("rationale", "Strong exploit writing."),
            ],
        )
        .await;
    let assessment = published.created_id("/assessments/");
    let shown = dev.get(&format!("/assessments/{assessment}")).await;
    shown.assert(200);
    assert!(shown.body.contains("Cyber offense"));
    assert!(!shown.body.contains("Autonomy"), "not assessed is left out");
    assert!(shown.body.contains("neither approves nor blocks"));

    chief
        .submit(
            &page,
            &format!("{page}/assignments/{}/remove", lin.id),
            &[("confirm", "yes")],
        )
        .await
        .assert(303);
    assert!(!analyst.get(&page).await.body.contains("File a finding"));
}

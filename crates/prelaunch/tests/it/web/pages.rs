//! Program administration pages, what every page leaves out (inline script and style, unlabelled controls),
//! and the pages a browser drives.

use super::*;

#[tokio::test]
async fn program_administrators_manage_organisations_policy_and_read_the_audit_trail() {
    let t = spawn_app().await;
    World::new(&t).await;
    let chief = member(
        &t,
        "Clearinghouse",
        "chief@clearinghouse.example",
        "admin",
        "Chief",
    )
    .await;
    let admin = Web::sign_in(&t, &chief).await;

    let missing_kind = admin
        .submit(
            "/organizations",
            "/organizations",
            &[("kind", ""), ("name", "Compiler Vendor")],
        )
        .await;
    missing_kind.assert_form_error("kind", "Compiler Vendor");
    let org = admin
        .submit(
            "/organizations",
            "/organizations",
            &[("kind", "vendor"), ("name", "Compiler Vendor")],
        )
        .await
        .created_id("/organizations/");
    admin
        .submit(
            "/organizations",
            &format!("/organizations/{org}/active"),
            &[("active", "false")],
        )
        .await
        .assert(303);
    assert!(
        admin
            .get(&format!("/organizations/{org}"))
            .await
            .body
            .contains("Deactivated")
    );

    for (value, status) in [("0", 422), ("lots", 422), ("", 422), ("45", 303)] {
        let page = admin
            .submit("/policy", "/policy", &[("window_days", value)])
            .await;
        page.assert(status);
        if status == 422 {
            assert!(page.body.contains("id=\"window_days-error\""), "{value}");
        }
    }
    assert!(admin.get("/policy?saved=1").await.body.contains("45 days"));
    assert_eq!(t.app.window_days().await.unwrap(), 45);

    let audit = admin.get("/audit").await;
    audit.assert(200);
    assert!(audit.body.contains("Review window changed"));
    assert!(audit.body.contains("Organisation deactivated"));

    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada").await;
    dev.get("/audit").await.assert(403);
    let policy = dev.get("/policy").await;
    policy.assert(200);
    assert!(!policy.body.contains("Save policy"), "read only for others");
    dev.submit("/policy", "/policy", &[("window_days", "5")])
        .await
        .assert(403);
    dev.submit(
        "/organizations",
        "/organizations",
        &[("kind", "vendor"), ("name", "Sneaky")],
    )
    .await
    .assert(403);
    assert_eq!(t.app.window_days().await.unwrap(), 45);
}

#[tokio::test]
async fn pages_have_no_inline_script_or_style_and_label_every_control() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada").await;
    let agency = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "chief@agency.example",
        "admin",
        "Chief",
    )
    .await;
    let admin = signed_in(
        &t,
        "Clearinghouse",
        "chief@clearinghouse.example",
        "admin",
        "Chief",
    )
    .await;
    let pages: Vec<(&Web, String)> = vec![
        (&dev, "/".into()),
        (&dev, "/notices".into()),
        (&dev, "/notices/new".into()),
        (&dev, format!("/notices/{id}")),
        (&dev, "/tokens".into()),
        (&dev, format!("/organizations/{}", w.dev_admin.org_id)),
        (&agency, format!("/notices/{id}")),
        (&agency, "/?state=in_review".into()),
        (&admin, "/organizations".into()),
        (&admin, "/policy".into()),
        (&admin, "/audit".into()),
        (&admin, "/nowhere".into()),
    ];
    for (web, path) in pages {
        let page = web.get(&path).await;
        assert!(
            page.status == 200 || path == "/nowhere",
            "{path}: {}",
            page.status
        );
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            page.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert_eq!(page.headers["cache-control"], "no-store");
        assert_accessible(&path, &page.body);
    }
    let login = Web::new(&t).get("/login").await;
    assert_accessible("/login", &login.body);
    let css = Web::new(&t).get("/assets/app.css").await;
    css.assert(200);
    assert!(css.body.contains(":focus-visible"), "focus stays visible");
}

#[tokio::test]
async fn browser_files_a_notice_and_sees_it_on_the_timeline() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Company on the timeline: one notice in review, one scheduled further out.
    t.file_notice(&w.dev_admin, 12, &[w.agency]).await;
    t.file_notice(&w.dev_admin, 70, &[w.agency, w.other_agency]).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada Lovelace").await;

    let browser = Browser::start().await.unwrap();
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", &dev.email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Dashboard").await;

    browser.click("a[href='/notices/new']").await.unwrap();
    wait_for(&browser, "h1", "File a release notice").await;
    browser.fill("#model_name", "Aurora").await.unwrap();
    browser.fill("#model_version", "3.1-preview").await.unwrap();
    browser
        .set_value("#planned_launch_at", "2027-02-10T16:00")
        .await
        .unwrap();
    std::fs::write(
        "/tmp/prelaunch-notice-form.png",
        browser.screenshot_png().await.unwrap(),
    )
    .unwrap();
    browser
        .fill(
            "#model_card",
            "# Aurora\n\nA general-purpose model with strong coding ability.",
        )
        .await
        .unwrap();
    browser
        .click(&format!("input[name=shared_with][value='{}']", w.agency))
        .await
        .unwrap();
    browser.click("main form button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Aurora 3.1-preview").await;
    assert!(
        browser
            .text("main")
            .await
            .unwrap()
            .contains("general-purpose model")
    );

    browser.click("nav a[href='/']").await.unwrap();
    let timeline = wait_for(&browser, "table.timeline", "Aurora").await;
    assert!(timeline.contains("Frontier Lab"));
    assert!(timeline.contains("In review"));
    std::fs::write(
        "/tmp/prelaunch-dashboard.png",
        browser.screenshot_png().await.unwrap(),
    )
    .unwrap();
    assert!(!browser.source().await.unwrap().contains("<script"));
    browser.close().await.unwrap();
}

#[tokio::test]
async fn the_ledger_pages_show_checkpoints_and_verified_receipts_to_those_entitled() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let developer = signed_in(&t, "Frontier Lab", "rm@lab.example", "member", "Release Manager").await;

    let overview = developer.get("/ledger").await;
    overview.assert(200);
    assert!(
        overview.body.contains(&t.app.verifier_key()),
        "the verifier key is published"
    );
    assert!(overview.body.contains("Latest signed checkpoint"));
    assert_accessible("/ledger", &overview.body);

    let detail = developer.get(&format!("/notices/{id}")).await;
    assert!(detail.body.contains(&format!("/ledger/objects/{id}")));
    let object = developer.get(&format!("/ledger/objects/{id}")).await;
    object.assert(200);
    assert!(object.body.contains("Notice filed"));
    let event = object
        .body
        .split("/ledger/events/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let receipt = developer.get(&format!("/ledger/events/{event}")).await;
    receipt.assert(200);
    assert!(
        receipt.body.contains("Verified: this event is entry"),
        "{}",
        receipt.body
    );
    assert!(receipt.body.contains("c2sp.org/tlog-proof@v1"));
    assert_accessible("/ledger/events", &receipt.body);

    // Someone the notice is not shared with learns nothing, exactly as for an object that does not exist.
    let outsider = signed_in(
        &t,
        "Infrastructure Agency",
        "analyst@infra.example",
        "member",
        "Analyst",
    )
    .await;
    let hidden = outsider.get(&format!("/ledger/objects/{id}")).await;
    let missing = outsider
        .get(&format!("/ledger/objects/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!((hidden.status.as_u16(), missing.status.as_u16()), (404, 404));
    assert_eq!(hidden.body, missing.body);
    outsider.get(&format!("/ledger/events/{event}")).await.assert(404);
}

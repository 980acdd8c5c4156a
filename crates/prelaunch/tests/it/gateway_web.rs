//! The gateway's pages, driven like a browser without script: the developer's connection form and its test
//! button against the scripted upstream, an evaluator's token shown once and revoked, usage pages after a real
//! call, and what each organisation may open. The credential never appears on any page after it is entered.

use crate::gateway::{MODEL, chat, chat_body, connection_body, refused};
use crate::support::*;
use crate::upstream::*;
use crate::web::{Web, assert_accessible, assigned_evaluator, member, signed_in};
use serde_json::json;

/// A notice in review for ten days, shared with the agency, with a signed-in developer, agency admin and
/// assigned evaluator, and the scripted upstream.
struct Scene {
    t: TestApp,
    w: World,
    up: Upstream,
    notice: String,
    dev: Web,
    chief: Web,
    lin: Web,
}

async fn scene() -> Scene {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let chief = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "chief@agency.example",
        "admin",
        "Chief",
    )
    .await;
    let lin = assigned_evaluator(&t, &w, &notice, "lin@agency.example", "Lin Analyst").await;
    Scene {
        t,
        w,
        up,
        notice,
        dev,
        chief,
        lin,
    }
}

impl Scene {
    /// Connects the model through the API, as the developer's admin.
    async fn connect(&self) {
        let path = format!("/api/v1/notices/{}/connections", self.notice);
        let body = connection_body(&self.up, json!({}));
        self.t.post(&self.w.dev_admin, &path, body).await.ok();
    }

    /// The id of the notice's first gateway token, as the agency's admin sees it.
    async fn first_token_id(&self) -> String {
        let path = format!("/api/v1/notices/{}/gateway-tokens", self.notice);
        let listed = self.t.get(&self.w.agency_admin, &path).await;
        listed.ok()["items"][0]["id"].as_str().unwrap().to_owned()
    }
}

/// The connection form's fields, pointing at the scripted upstream.
fn connection_fields(up: &Upstream) -> Vec<(&'static str, String)> {
    vec![
        ("api_style", "openai".into()),
        ("base_url", up.base_url.clone()),
        ("upstream_model", UPSTREAM_MODEL.into()),
        ("credential", CREDENTIAL.into()),
        ("headers", format!("{HEADER_NAME}: {HEADER_VALUE}")),
        ("model", String::new()),
        ("requests_per_minute", "60".into()),
        ("tokens_per_minute", "200000".into()),
        ("concurrency", "4".into()),
        ("post_launch_days", "0".into()),
        ("retention", "encrypted".into()),
        ("timeout_seconds", "30".into()),
    ]
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The id at the end of a redirect to `…/connections#connection-<id>`.
fn connection_id(location: &str) -> String {
    location
        .rsplit_once("#connection-")
        .unwrap_or_else(|| panic!("not a connection anchor: {location}"))
        .1
        .to_owned()
}

/// The text of the test result's panel.
fn probe_panel(body: &str) -> &str {
    let start = body.find("id=\"test-result\"").expect("a test result");
    let rest = &body[start..];
    &rest[..rest.find("</section>").unwrap()]
}

#[tokio::test]
async fn the_developer_connects_and_tests_the_model_and_the_credential_never_comes_back() {
    let s = scene().await;
    let (t, up) = (&s.t, &s.up);
    let page = format!("/notices/{}/connections", s.notice);

    let empty = s.dev.get(&page).await;
    empty.assert(200);
    assert!(empty.body.contains("Connect the model"));
    assert!(empty.body.contains("type=\"password\""));
    assert!(
        empty.body.contains("value=\"60\""),
        "limits start at the defaults"
    );
    assert!(
        empty.body.contains(&format!("Leave empty for {MODEL}")),
        "the default name is the notice's slug"
    );
    assert_accessible(&page, &empty.body);
    let notice_page = s.dev.get(&format!("/notices/{}", s.notice)).await;
    assert!(
        notice_page.body.contains(&format!("href=\"{page}\"")),
        "linked from the notice"
    );

    // A mistake is shown on its field; the secrets typed are not sent back.
    let mut bad = connection_fields(up);
    bad[1].1 = "ftp://upstream.example".into();
    let refused_form = s.dev.submit(&page, &page, &pairs(&bad)).await;
    refused_form.assert_form_error("base_url", UPSTREAM_MODEL);
    assert!(refused_form.body.contains("href=\"#base_url\">Base URL:"));
    for secret in [CREDENTIAL, HEADER_VALUE] {
        assert!(!refused_form.body.contains(secret), "{secret} was sent back");
    }
    let mut bad_header = connection_fields(up);
    bad_header[4].1 = "no colon here".into();
    let header_error = s.dev.submit(&page, &page, &pairs(&bad_header)).await;
    header_error.assert(422);
    assert!(
        header_error.body.contains("id=\"headers-error\""),
        "{}",
        header_error.body
    );

    let created = s.dev.submit(&page, &page, &pairs(&connection_fields(up))).await;
    created.assert(303);
    let id = connection_id(created.location());
    let listed = s.dev.get(&page).await;
    listed.assert(200);
    for shown in [MODEL, HEADER_NAME, "Encrypted", "Ends at launch", "4 at once"] {
        assert!(listed.body.contains(shown), "{shown} is not shown");
    }
    assert!(
        listed
            .body
            .contains(&format!("{}/gateway/v1/chat/completions", t.base))
    );

    // The test button makes one real call with the stored credential and shows how it went.
    let seen_before = up.seen().len();
    let tested = s.dev.submit(&page, &format!("{page}/{id}/test"), &[]).await;
    tested.assert(200);
    let panel = probe_panel(&tested.body);
    assert!(panel.contains("Test call answered"), "{panel}");
    assert!(panel.contains("200"));
    assert!(panel.contains(" ms"));
    let seen = up.seen();
    assert_eq!(
        seen.len(),
        seen_before + 2,
        "one plain upstream call and one streamed"
    );
    let call = &seen[seen_before];
    assert_eq!(call.headers["authorization"], format!("Bearer {CREDENTIAL}"));
    assert_eq!(call.headers[HEADER_NAME], HEADER_VALUE);
    assert_eq!(call.body["model"], UPSTREAM_MODEL);

    up.script([Behavior::Fail(500, None)]);
    let failed = s.dev.submit(&page, &format!("{page}/{id}/test"), &[]).await;
    let panel = probe_panel(&failed.body);
    assert!(panel.contains("Test call failed"), "{panel}");
    assert!(panel.contains("Upstream status"), "the status it answered with");
    assert!(panel.contains("Error status"), "{panel}");
    assert!(
        panel.contains("context too long") && !panel.contains(UPSTREAM_MODEL),
        "the upstream's own error text, scrubbed of its identity: {panel}"
    );
    assert_accessible(&page, &failed.body);

    // Changing the settings without a credential keeps the stored one and the headers.
    let edit = format!("{page}/{id}");
    let form = s.dev.get(&edit).await;
    form.assert(200);
    assert!(
        form.body.contains(&format!("value=\"{}\"", up.base_url)),
        "settings are filled in"
    );
    assert!(form.body.contains("A credential is set"));
    assert_accessible(&edit, &form.body);
    let mut change = connection_fields(up);
    change[3].1 = String::new();
    change[4].1 = String::new();
    change[6].1 = "120".into();
    s.dev.submit(&edit, &edit, &pairs(&change)).await.assert(303);
    assert!(s.dev.get(&page).await.body.contains("120 requests/min"));
    let again = s.dev.submit(&page, &format!("{page}/{id}/test"), &[]).await;
    assert!(probe_panel(&again.body).contains("Test call answered"));
    assert_eq!(up.seen().last().unwrap().headers[HEADER_NAME], HEADER_VALUE);

    // Removing asks for confirmation first.
    let unconfirmed = s.dev.submit(&edit, &format!("{edit}/delete"), &[]).await;
    unconfirmed.assert(422);
    assert!(unconfirmed.body.contains("id=\"remove-confirm-error\""));

    // No page anyone can open shows the credential or a header value; no agency page names the upstream.
    let gateway_pages = [
        format!("/notices/{}/connections", s.notice),
        format!("/notices/{}/connections/{id}", s.notice),
        format!("/notices/{}/gateway-tokens", s.notice),
        format!("/notices/{}/gateway-usage", s.notice),
        format!("/notices/{}", s.notice),
        "/".to_owned(),
        "/notices".to_owned(),
        "/audit".to_owned(),
        format!("/ledger/objects/{}", s.notice),
    ];
    for (who, web) in [("developer", &s.dev), ("agency", &s.chief), ("evaluator", &s.lin)] {
        for path in &gateway_pages {
            let page = web.get(path).await;
            for secret in [CREDENTIAL, HEADER_VALUE] {
                assert!(!page.body.contains(secret), "{who} {path} shows {secret}");
            }
            if who != "developer" {
                for name in [UPSTREAM_MODEL, up.base_url.as_str()] {
                    assert!(!page.body.contains(name), "{who} {path} shows {name}");
                }
            }
        }
    }
    s.dev
        .submit(&edit, &format!("{edit}/delete"), &[("confirm", "yes")])
        .await
        .assert(303);
    assert!(s.dev.get(&page).await.body.contains("Connect the model"));
}

#[tokio::test]
async fn an_evaluator_issues_a_token_once_uses_it_sees_usage_and_revokes_it() {
    let s = scene().await;
    let t = &s.t;
    s.connect().await;
    let page = format!("/notices/{}/gateway-tokens", s.notice);

    let before = s.lin.get(&page).await;
    before.assert(200);
    assert!(before.body.contains("Issue a token"));
    assert!(before.body.contains(&format!("{}/gateway/v1", t.base)));
    assert!(before.body.contains(MODEL), "the model's name at the gateway");
    assert!(before.body.contains(&format!("openai-api/prelaunch/{MODEL}")));
    assert_accessible(&page, &before.body);

    s.lin
        .submit(&page, &page, &[("name", ""), ("expires_in_days", "30")])
        .await
        .assert_form_error("name", "30");
    let issued = s
        .lin
        .submit(&page, &page, &[("name", "laptop"), ("expires_in_days", "30")])
        .await;
    issued.assert(200);
    let token = issued.input_value("id=\"new-gateway-token\"");
    assert!(token.starts_with("plg_"), "{token}");
    assert_eq!(
        issued.input_value("id=\"issued-base-url\""),
        format!("{}/gateway/v1", t.base)
    );
    assert!(!issued.body.contains("does not reach the model yet"));
    assert_accessible(&page, &issued.body);

    let listed = s.lin.get(&page).await;
    assert!(listed.body.contains("laptop"));
    assert!(listed.body.contains("Active"));
    assert!(!listed.body.contains(&token), "shown once");
    assert!(
        listed.body.contains(&token[..12]),
        "recognisable by its first characters"
    );

    // One call through the gateway with the token, then each party's usage page.
    let answer = chat(t, &token, &chat_body("hello")).await;
    assert_eq!(answer.ok()["choices"][0]["message"]["content"], "echo: hello");
    let usage = format!("/notices/{}/gateway-usage", s.notice);
    let own = s.lin.get(&usage).await;
    own.assert(200);
    assert!(own.body.contains("The calls you made"));
    assert!(own.body.contains("<svg class=\"chart chart-usage\""));
    assert!(own.body.contains("class=\"chart-bar-ok\""), "the call is a bar");
    assert!(own.body.contains("<dt>Input tokens</dt><dd>11</dd>"));
    assert!(own.body.contains("<dt>Output tokens</dt><dd>7</dd>"));
    assert!(own.body.contains("id=\"calls\""));
    assert!(own.body.contains("chat.completions"));
    assert_accessible(&usage, &own.body);

    let agency = s.chief.get(&usage).await;
    assert!(agency.body.contains("Per evaluator"));
    assert!(agency.body.contains("Lin Analyst"));
    assert!(agency.body.contains("<dt>Calls</dt><dd>1</dd>"));

    let developer = s.dev.get(&usage).await;
    developer.assert(200);
    assert!(developer.body.contains("<dt>Calls</dt><dd>1</dd>"));
    assert!(developer.body.contains("in aggregate"));
    assert!(
        !developer.body.contains("Lin Analyst") && !developer.body.contains("id=\"calls\""),
        "the developer does not learn who made the calls"
    );
    assert_accessible(&usage, &developer.body);

    // The agency admin sees the token and could revoke it; the holder does.
    let chiefs = s.chief.get(&page).await;
    assert!(chiefs.body.contains("Lin Analyst"), "the holder is named");
    assert!(chiefs.body.contains("/revoke"));
    assert!(!chiefs.body.contains("Issue a token"), "not assigned");
    let developers = s.dev.get(&page).await;
    developers.assert(200);
    assert!(!developers.body.contains("/revoke"), "the developer only reads");
    let token_id = s.first_token_id().await;
    s.lin
        .submit(&page, &format!("{page}/{token_id}/revoke"), &[])
        .await
        .assert(303);
    refused(&chat(t, &token, &chat_body("again")).await, 401, "token_revoked");
    let after = s.lin.get(&page).await;
    assert!(after.body.contains("Revoked"));
    assert!(!after.body.contains("/revoke\""), "nothing left to revoke");
    let refused_call = s.lin.get(&usage).await;
    assert!(
        refused_call.body.contains("<dt>Calls</dt><dd>2</dd>"),
        "the refused call is counted too"
    );
    assert!(refused_call.body.contains("token_revoked"));
}

#[tokio::test]
async fn agency_admins_revoke_their_evaluators_tokens_and_outsiders_see_nothing() {
    let s = scene().await;
    let t = &s.t;
    s.connect().await;
    let page = format!("/notices/{}/gateway-tokens", s.notice);
    let issued = s.lin.submit(&page, &page, &[("name", "cluster")]).await;
    let token = issued.input_value("id=\"new-gateway-token\"");
    let token_id = s.first_token_id().await;

    // An unassigned member of the agency is told how access is given, and cannot issue.
    let unassigned = Web::sign_in(
        t,
        &member(
            t,
            "Cyber Evaluation Agency",
            "kim@agency.example",
            "member",
            "Kim",
        )
        .await,
    )
    .await;
    let told = unassigned.get(&page).await;
    told.assert(200);
    assert!(told.body.contains("You are not assigned"));
    assert!(!told.body.contains("Issue a token"));
    assert!(!told.body.contains("cluster"), "others' tokens are not listed");
    unassigned
        .submit(&page, &page, &[("name", "sneaky")])
        .await
        .assert(403);
    unassigned
        .submit(&page, &format!("{page}/{token_id}/revoke"), &[])
        .await
        .assert(404);
    let connections = format!("/notices/{}/connections", s.notice);
    s.chief.get(&connections).await.assert(403);
    assert!(
        !s.chief
            .get(&format!("/notices/{}", s.notice))
            .await
            .body
            .contains(&connections),
        "agencies are not offered the connections"
    );

    // People who cannot see the notice get the same page as for nothing at all.
    let missing = uuid::Uuid::now_v7();
    let outsiders = [
        ("Other Lab", "bob@other-lab.example"),
        ("Infrastructure Agency", "ivy@infra.example"),
        ("Router Vendor", "val@vendor.example"),
    ];
    for (org, email) in outsiders {
        let web = Web::sign_in(t, &member(t, org, email, "admin", "Outsider").await).await;
        for path in ["connections", "gateway-tokens", "gateway-usage"] {
            let hidden = web.get(&format!("/notices/{}/{path}", s.notice)).await;
            hidden.assert(404);
            let nothing = web.get(&format!("/notices/{missing}/{path}")).await;
            assert_eq!(hidden.body, nothing.body, "{org} {path}");
            assert!(!hidden.body.contains("Orion"));
        }
        for action in [
            format!("{page}/{token_id}/revoke"),
            page.clone(),
            format!("{connections}/{}/test", uuid::Uuid::now_v7()),
        ] {
            web.submit("/", &action, &[("name", "x")]).await.assert(404);
        }
    }
    assert_eq!(
        chat(t, &token, &chat_body("still here")).await.status,
        200,
        "nothing an outsider did changed the token"
    );

    // The agency's admin revokes their evaluator's token.
    s.chief
        .submit(&page, &format!("{page}/{token_id}/revoke"), &[])
        .await
        .assert(303);
    refused(&chat(t, &token, &chat_body("hi")).await, 401, "token_revoked");
    let listed = s.lin.get(&page).await;
    assert!(listed.body.contains("cluster") && listed.body.contains("Revoked"));
    let revoked_by = t
        .audit_after(0)
        .await
        .into_iter()
        .rfind(|e| e.action == "gateway_token.revoke");
    let chief = t
        .app
        .store
        .find_user_by_email("chief@agency.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        revoked_by.unwrap().actor_user_id,
        Some(chief.id),
        "revoked by the agency's admin"
    );
}

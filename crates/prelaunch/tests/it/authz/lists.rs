//! Beyond single requests: lists filtered per persona, a browser session's CSRF rule, and the TAXII write
//! routes.

use super::*;

/// The ids in a list reply's `items`.
fn listed(reply: &Reply, key: &str) -> BTreeSet<Uuid> {
    reply.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn lists_show_each_persona_only_what_it_may_see() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Frontier Lab: one notice for the agency alone, one for both agencies. Other Lab: one for every agency.
    let own = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let broad = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency, w.other_agency]).await);
    let everyone = t
        .post(
            &w.other_dev,
            "/api/v1/notices",
            json!({"model_name": "Lyra", "model_version": "3", "planned_launch_at": "2027-03-01T00:00:00Z",
                   "shared_with_all": true}),
        )
        .await;
    let everyone = id_of(everyone.ok());
    t.assign(&w.agency_admin, broad, &w.evaluator).await;
    t.assign(&w.other_agency_admin, broad, &w.other_evaluator).await;
    let private = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    let shared = id_of(&t.file_finding(&w.evaluator, broad, &[w.other_agency]).await);
    let theirs = id_of(&t.file_finding(&w.other_evaluator, broad, &[]).await);
    let private_a = id_of(&t.publish_assessment(&w.evaluator, broad, &[]).await);
    let shared_a = id_of(
        &t.publish_assessment(&w.agency_admin, broad, &[w.other_agency])
            .await,
    );
    let theirs_a = id_of(&t.publish_assessment(&w.other_agency_admin, broad, &[]).await);

    let set = |ids: &[Uuid]| ids.iter().copied().collect::<BTreeSet<Uuid>>();
    let nothing = BTreeSet::new;
    // (persona, notices listed, findings and assessments of `broad`, assignments on `broad`)
    let developer = (
        set(&[own, broad]),
        set(&[private, shared, theirs]),
        set(&[private_a, shared_a, theirs_a]),
        set(&[w.evaluator.user_id, w.other_evaluator.user_id]),
    );
    let agency = (
        set(&[own, broad, everyone]),
        set(&[private, shared]),
        set(&[private_a, shared_a]),
        set(&[w.evaluator.user_id]),
    );
    let other_agency = (
        set(&[broad, everyone]),
        set(&[shared, theirs]),
        set(&[shared_a, theirs_a]),
        set(&[w.other_evaluator.user_id]),
    );
    let outsider = (nothing(), nothing(), nothing(), nothing());
    let cases = [
        (&w.program_admin, &outsider),
        (&w.coordinator, &outsider),
        (&w.dev_admin, &developer),
        (&w.dev_member, &developer),
        (&w.agency_admin, &agency),
        (&w.evaluator, &agency),
        (&w.evaluator2, &agency),
        (&w.other_agency_admin, &other_agency),
        (&w.other_evaluator, &other_agency),
        (&w.vendor, &outsider),
        (&w.operator, &outsider),
    ];
    for (who, (notices, findings, assessments, assignees)) in cases {
        let name = who.name;
        let got = listed(&t.get(who, "/api/v1/notices").await, "id");
        assert_eq!(&got, notices, "notices listed for {name}");
        if notices.contains(&broad) {
            let base = format!("/api/v1/notices/{broad}");
            let got = listed(&t.get(who, &format!("{base}/findings")).await, "id");
            assert_eq!(&got, findings, "findings listed for {name}");
            let got = listed(&t.get(who, &format!("{base}/assessments")).await, "id");
            assert_eq!(&got, assessments, "assessments listed for {name}");
            let got = listed(&t.get(who, &format!("{base}/assignments")).await, "user_id");
            assert_eq!(&got, assignees, "assignments listed for {name}");
            // Who else received the notice is the developer's to know.
            let notice = t.get(who, &base).await;
            let developer_reads = who.org_id == w.dev_admin.org_id;
            assert_eq!(
                notice.ok().get("shared_with").is_some(),
                developer_reads,
                "{name}: {}",
                notice.body
            );
        }
    }
    // The other developer sees its own notice, and nothing of Frontier Lab's.
    let got = listed(&t.get(&w.other_dev, "/api/v1/notices").await, "id");
    assert_eq!(got, set(&[everyone]));

    // People and tokens: one's own organisation and one's own tokens; the program admin sees every person.
    let people = |reply: Reply| -> BTreeSet<Uuid> {
        reply.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["org_id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    for who in cast(&w) {
        let orgs = people(t.get(who, "/api/v1/users?limit=200").await);
        if who.name == "program admin" {
            assert!(
                orgs.len() > 5,
                "the program admin lists every organisation's people: {orgs:?}"
            );
        } else {
            assert_eq!(
                orgs,
                set(&[who.org_id]),
                "{} lists only its own organisation's people",
                who.name
            );
        }
        let tokens = t.get(who, "/api/v1/tokens").await;
        assert_eq!(
            tokens.ok()["items"].as_array().unwrap().len(),
            1,
            "{}: its own token alone",
            who.name
        );
    }
}

/// What a session request tries: (what, method, path, CSRF header, body, expected status).
type SessionCase<'a> = (&'a str, Method, &'a str, Option<&'a str>, Option<Value>, u16);

#[tokio::test]
async fn a_browser_session_reaches_the_api_and_changes_nothing_without_its_csrf_token() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let email = "browser@lab.example";
    let (user, link) = t
        .app
        .provision_user("Frontier Lab", email, "admin")
        .await
        .unwrap();
    let password = accounts::Secret::new("correct horse battery staple".into());
    let invitation = link.expose().rsplit('/').next().unwrap().to_owned();
    t.app
        .accept_invitation(&invitation, Some(email), "Sam Browser", &password)
        .await
        .unwrap();
    let session = t
        .app
        .login(email, &password, std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let other_session = t
        .app
        .login(email, &password, std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let cookie = format!("prelaunch_session={}", session.token.expose());
    let send = |method: Method, path: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut request = t
            .client
            .request(method, t.url(path))
            .header(reqwest::header::COOKIE, &cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { TestApp::reply(request.send().await.unwrap()).await }
    };

    let me = send(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(me.ok()["user"]["id"], json!(user.id));
    assert_eq!(me.body["csrf_token"], json!(session.csrf_token));
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let withdraw = format!("/api/v1/notices/{notice}/withdraw");
    let before = t.db_counts().await;
    #[rustfmt::skip]
    let cases: [SessionCase; 6] = [
        ("a read needs no CSRF token", Method::GET, "/api/v1/notices", None, None, 200),
        ("a token without CSRF", Method::POST, "/api/v1/tokens", None, Some(json!({"name": "x"})), 403),
        ("a token with a forged CSRF", Method::POST, "/api/v1/tokens", Some("plc_forged"), Some(json!({"name": "x"})), 403),
        ("a withdrawal without CSRF", Method::POST, &withdraw, None, None, 403),
        ("a withdrawal with another session's CSRF", Method::POST, &withdraw, Some(&other_session.csrf_token), None, 403),
        ("a policy change without CSRF", Method::PUT, "/api/v1/policy", None, Some(json!({"window_days": 9})), 403),
    ];
    for (what, method, path, csrf, body, status) in cases {
        let reply = send(method, path, csrf, body).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
        if status == 403 {
            reply.problem(403, "forbidden");
        }
    }
    assert_eq!(
        t.db_counts().await,
        before,
        "nothing changed without the CSRF token"
    );
    let made = send(
        Method::POST,
        "/api/v1/tokens",
        Some(&session.csrf_token),
        Some(json!({"name": "from the browser"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);

    // The session ends with its lifetime, and with the person's deactivation.
    t.clock.set(session.expires_at);
    send(Method::GET, "/api/v1/me", None, None)
        .await
        .problem(401, "unauthenticated");
    t.clock.set(session.expires_at - chrono::Duration::hours(1));
    send(Method::GET, "/api/v1/me", None, None).await.ok();
    t.patch(
        &w.dev_admin,
        &format!("/api/v1/users/{}", user.id),
        json!({"active": false}),
    )
    .await
    .ok();
    send(Method::GET, "/api/v1/me", None, None)
        .await
        .problem(401, "unauthenticated");
}

/// The TAXII 2.1 write routes (outside the OpenAPI document, whose place the OASIS specification takes) as
/// every persona and with every dead credential: posting to a member collection and to the public TLP:CLEAR
/// one, reading a post's status, deleting a posted object (readable or not) and an advisory's object.
#[tokio::test]
async fn taxii_write_routes_as_every_persona_and_credential() {
    use app::clearinghouse::taxii::Collection;
    use clearinghouse::stix::{Kind, object_id};
    const TAXII: &str = "application/taxii+json;version=2.1";
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let advisory = advisory_of(&t, &w, "clear").await;
    let dead = dead_credentials(&t, &w).await;
    let [clear, green, amber] = [0, 1, 2].map(|n| Collection::all()[n].id);
    let objects = |c: Uuid| format!("/taxii2/api/collections/{c}/objects/");
    let serial = Cell::new(0u128);
    let tool = || {
        serial.set(serial.get() + 1);
        let id = format!(
            "tool--{}",
            Uuid::from_u128(0x7000_0000_0000_4000_8000_0000_0000_0000 + serial.get())
        );
        let body = json!({"objects": [{"type": "tool", "spec_version": "2.1", "id": id,
            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "t"}]});
        (id, body.to_string())
    };
    let send = |method: Method, path: String, auth: &Auth, body: Option<String>| {
        let mut request = t.client.request(method, t.url(&path));
        if let Auth::Header(h) = auth {
            request = request.header(AUTHORIZATION, h);
        }
        if let Some(body) = body {
            request = request.header("content-type", TAXII).body(body);
        }
        async move { request.send().await.unwrap().status() }
    };
    let owner = Auth::bearer(&w.dev_admin.token);
    let post_as_owner = |c: Uuid| {
        let (id, body) = tool();
        let send = &send;
        let owner = &owner;
        async move {
            assert_eq!(
                send(Method::POST, objects(c), owner, Some(body)).await,
                StatusCode::ACCEPTED
            );
            format!("{}{id}/", objects(c))
        }
    };
    let status_of_owner = {
        let (_, body) = tool();
        let response = t
            .client
            .post(t.url(&objects(green)))
            .bearer_auth(&w.dev_admin.token)
            .header("content-type", TAXII)
            .body(body)
            .send()
            .await
            .unwrap();
        let status: Value = response.json().await.unwrap();
        format!("/taxii2/api/status/{}/", status["id"].as_str().unwrap())
    };
    let code = |s: StatusCode| match s.as_u16() {
        200..=299 => "+",
        401 => "1",
        403 => "3",
        404 => "4",
        _ => "?",
    };
    let mut failures = String::new();
    // (route, case, personas in CAST order then every dead credential)
    let rows: [(&str, &str, &str); 6] = [
        (
            "POST objects",
            "TLP:GREEN: members",
            "+  +  +  +  +  +  +  +  +  +  +  +  1",
        ),
        (
            "POST objects",
            "TLP:CLEAR: coordinators",
            "+  +  3  3  3  3  3  3  3  3  3  3  1",
        ),
        (
            "GET status",
            "the poster",
            "4  4  +  4  4  4  4  4  4  4  4  4  1",
        ),
        (
            "DELETE object",
            "GREEN: posting org, coordinators",
            "+  +  +  +  3  3  3  3  3  3  3  3  1",
        ),
        (
            "DELETE object",
            "AMBER: unreadable is absent",
            "+  +  +  +  4  4  4  4  4  4  4  4  1",
        ),
        (
            "DELETE object",
            "an advisory's: no one",
            "3  3  3  3  3  3  3  3  3  3  3  3  1",
        ),
    ];
    for (route, case, expect) in rows {
        let want: Vec<&str> = expect.split_whitespace().collect();
        let auths: Vec<Auth> = cast(&w)
            .iter()
            .map(|p| Auth::bearer(&p.token))
            .chain(dead.iter().cloned())
            .collect();
        for (n, auth) in auths.iter().enumerate() {
            let status = match (route, case) {
                ("POST objects", c) => {
                    let target = if c.starts_with("TLP:GREEN") { green } else { clear };
                    send(Method::POST, objects(target), auth, Some(tool().1)).await
                }
                ("GET status", _) => send(Method::GET, status_of_owner.clone(), auth, None).await,
                (_, c) if c.starts_with("GREEN") => {
                    send(Method::DELETE, post_as_owner(green).await, auth, None).await
                }
                (_, c) if c.starts_with("AMBER") => {
                    send(Method::DELETE, post_as_owner(amber).await, auth, None).await
                }
                _ => {
                    let path = format!("{}{}/", objects(clear), object_id(Kind::Vulnerability, advisory));
                    send(Method::DELETE, path, auth, None).await
                }
            };
            let column = n.min(CAST.len());
            let who = CAST.get(n).copied().unwrap_or_else(|| DEAD[n - CAST.len()]);
            if code(status) != want[column] {
                let _ = writeln!(
                    failures,
                    "{route} ({case}) as {who}: {status}, want {}",
                    want[column]
                );
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

//! Search (`q`) and order (`sort`) on the API's lists: notices, a notice's findings and reports. Each list is
//! a table of (q, sort) → the ids in order, read page by page (two to a page, so that every case pages and
//! every item must come exactly once), with an object the reader may not see that matches the search and must
//! not appear, and wildcards in `q` taken literally; then the caller's mistakes, each a 422 naming its
//! parameter.

use crate::reports::{file, threat};
use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every item of `path` as `who` reads it, following `next_cursor` two at a time.
async fn read_all(t: &TestApp, who: Option<&Persona>, path: &str) -> Vec<Uuid> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let url = match &cursor {
            Some(c) => format!("{path}{join}limit=2&cursor={c}"),
            None => format!("{path}{join}limit=2"),
        };
        let reply = t
            .call(reqwest::Method::GET, &url, who.map(|p| p.token.as_str()), None)
            .await;
        assert_eq!(reply.status, 200, "{url}: {}", reply.body);
        let items = reply.body["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{url}: {}", reply.body);
        ids.extend(items.iter().map(id_of));
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
    panic!("{path}: the cursor never ends");
}

/// Checks a table of (q, sort) → expected ids; returns the failures.
async fn check(
    t: &TestApp,
    who: Option<&Persona>,
    base: &str,
    cases: &[(&str, &str, Vec<Uuid>)],
    names: &[(Uuid, &str)],
) -> Vec<String> {
    let name = |id: &Uuid| {
        names
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_string(), |(_, n)| (*n).to_owned())
    };
    let mut failures = Vec::new();
    for (q, sort, expected) in cases {
        let mut path = base.to_owned();
        let mut join = if base.contains('?') { '&' } else { '?' };
        if !q.is_empty() {
            path.push_str(&format!("{join}q={}", urlencode(q)));
            join = '&';
        }
        if !sort.is_empty() {
            path.push_str(&format!("{join}sort={}", urlencode(sort)));
        }
        let got = read_all(t, who, &path).await;
        if &got != expected {
            failures.push(format!(
                "{base} q={q:?} sort={sort:?}: got {:?}, expected {:?}",
                got.iter().map(name).collect::<Vec<_>>(),
                expected.iter().map(name).collect::<Vec<_>>()
            ));
        }
    }
    failures
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The caller's mistakes on `base`: each (query, the parameter the 422 names).
async fn check_mistakes(t: &TestApp, who: &Persona, base: &str, other_sort: &str, allowed: &str) {
    let join = if base.contains('?') { '&' } else { '?' };
    // A cursor of another order.
    let first = t
        .get(
            who,
            &format!("{base}{join}limit=1&sort={}", urlencode(other_sort)),
        )
        .await;
    let cursor = first.ok()["next_cursor"].as_str().unwrap().to_owned();
    let long = "a".repeat(201);
    let cases: Vec<(String, &str)> = vec![
        (format!("q={long}"), "q"),
        (format!("q={}", urlencode(&format!(" {}", "a".repeat(200)))), "q"),
        ("q=a%07b".into(), "q"),
        ("q=a%00b".into(), "q"),
        ("q=a&q=b".into(), "q"),
        ("sort=newest".into(), "sort"),
        ("sort=FILED".into(), "sort"),
        (format!("cursor={cursor}"), "cursor"),
        ("cursor=bm9wZQ".into(), "cursor"),
    ];
    for (query, field) in cases {
        let url = format!("{base}{join}{query}");
        let reply = t.get(who, &url).await;
        assert_eq!(reply.status, 422, "{url}: {}", reply.body);
        assert_eq!(reply.body["field"], field, "{url}: {}", reply.body);
        if field == "sort" {
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(allowed), "{url}: {detail}");
        }
    }
    // The longest search allowed is taken.
    let url = format!("{base}{join}q={}", "a".repeat(200));
    assert_eq!(t.get(who, &url).await.status, 200, "{url}");
}

async fn file_named(
    t: &TestApp,
    dev: &Persona,
    name: &str,
    version: &str,
    days: i64,
    agencies: &[Uuid],
) -> Uuid {
    let body = json!({
        "model_name": name,
        "model_version": version,
        "planned_launch_at": (t.clock_now() + Duration::days(days)).to_rfc3339(),
        "shared_with": agencies,
        "confirm_duplicate": true,
    });
    let reply = t.post(dev, "/api/v1/notices", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    // Filed a minute apart, so that the filing order is defined.
    t.clock.advance(Duration::minutes(1));
    id_of(&reply.body)
}

#[tokio::test]
async fn notices_are_searched_and_sorted_and_page_in_every_order() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let a = [w.agency];
    // Every window opens after now (launch more than 30 days ahead), so the default order is by launch.
    let zephyr = file_named(&t, &w.dev_admin, "Zephyr", "1.0", 50, &a).await;
    let alpha = file_named(&t, &w.dev_admin, "Alpha", "2.0", 45, &a).await;
    let beta_one = file_named(&t, &w.dev_admin, "Beta_One", "1.0", 55, &a).await;
    let beta_x = file_named(&t, &w.dev_admin, "DeltaXOne", "1.0", 40, &a).await;
    let pct = file_named(&t, &w.dev_admin, "Gamma 100%", "3.1-ALPHA", 60, &a).await;
    let pct_x = file_named(&t, &w.dev_admin, "Gamma 1000", "3.1", 35, &a).await;
    let back = file_named(&t, &w.dev_admin, "Back\\slash", "1.0", 58, &a).await;
    // Matches "alpha" and "lab" but is another developer's, shared with another agency only.
    let hidden = file_named(&t, &w.other_dev, "Alphabet", "1.0", 42, &[w.other_agency]).await;
    let names = [
        (zephyr, "Zephyr"),
        (alpha, "Alpha"),
        (beta_one, "Beta_One"),
        (beta_x, "DeltaXOne"),
        (pct, "Gamma 100%"),
        (pct_x, "Gamma 1000"),
        (back, "Back\\slash"),
        (hidden, "Alphabet (hidden)"),
    ];
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![
        ("", "", vec![pct_x, beta_x, alpha, zephyr, beta_one, back, pct]),
        ("", "window_closes", vec![pct_x, beta_x, alpha, zephyr, beta_one, back, pct]),
        ("", "filed", vec![zephyr, alpha, beta_one, beta_x, pct, pct_x, back]),
        ("", "-filed", vec![back, pct_x, pct, beta_x, beta_one, alpha, zephyr]),
        // By model name as the database orders text: the names differ early enough that byte order and a
        // language's collation agree.
        ("", "model", vec![alpha, back, beta_one, beta_x, pct, pct_x, zephyr]),
        // Model name or version, any case; never the hidden "Alphabet".
        ("ALPHA", "", vec![alpha, pct]),
        ("alpha", "-filed", vec![pct, alpha]),
        // The developer's name.
        ("frontier", "filed", vec![zephyr, alpha, beta_one, beta_x, pct, pct_x, back]),
        ("Lab", "-filed", vec![back, pct_x, pct, beta_x, beta_one, alpha, zephyr]),
        // Wildcards are literal.
        ("a_o", "", vec![beta_one]),
        ("_", "filed", vec![beta_one]),
        ("100%", "", vec![pct]),
        ("%", "model", vec![pct]),
        ("\\", "", vec![back]),
        ("k\\s", "", vec![back]),
        // Blank is no search; nothing matches a text no name holds.
        ("   ", "filed", vec![zephyr, alpha, beta_one, beta_x, pct, pct_x, back]),
        ("nothing like it", "", vec![]),
        // A version.
        ("3.1", "model", vec![pct, pct_x]),
    ];
    let failures = check(&t, Some(&w.dev_admin), "/api/v1/notices", &cases, &names).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The search composes with the other filters and the agency's view; the hidden notice's own readers
    // find it.
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![
        ("alpha", "filed", vec![alpha, pct]),
    ];
    let failures = check(
        &t,
        Some(&w.agency_admin),
        "/api/v1/notices?state=scheduled",
        &cases,
        &names,
    )
    .await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![("alpha", "model", vec![hidden])];
    let failures = check(&t, Some(&w.other_agency_admin), "/api/v1/notices", &cases, &names).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    check_mistakes(
        &t,
        &w.dev_admin,
        "/api/v1/notices",
        "model",
        "window_closes, filed, -filed, model",
    )
    .await;
    // A cursor of the default order is refused by another.
    let first = t.get(&w.dev_admin, "/api/v1/notices?limit=1").await;
    let cursor = first.ok()["next_cursor"].as_str().unwrap().to_owned();
    for sort in ["filed", "-filed", "model"] {
        let reply = t
            .get(
                &w.dev_admin,
                &format!("/api/v1/notices?sort={sort}&cursor={cursor}"),
            )
            .await;
        assert_eq!(reply.status, 422, "{sort}: {}", reply.body);
        assert_eq!(reply.body["field"], "cursor", "{sort}");
    }
    // `filed` and `-filed` cursors are not each other's.
    let first = t.get(&w.dev_admin, "/api/v1/notices?limit=1&sort=filed").await;
    let cursor = first.ok()["next_cursor"].as_str().unwrap().to_owned();
    let reply = t
        .get(
            &w.dev_admin,
            &format!("/api/v1/notices?sort=-filed&cursor={cursor}"),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["field"], "cursor");
}

async fn file_finding_titled(
    t: &TestApp,
    author: &Persona,
    notice: Uuid,
    title: &str,
    severity: &str,
) -> Uuid {
    let body = json!({
        "title": title,
        "domain": "cyber_offense",
        "severity": severity,
        "description": "Observed in evaluation.",
        "evidence": [],
        "shared_with": [],
    });
    let reply = t
        .post(author, &format!("/api/v1/notices/{notice}/findings"), body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    // Finding ids are time-ordered; a pause keeps their order the filing order.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    id_of(&reply.body)
}

#[tokio::test]
async fn findings_are_searched_and_sorted_and_page_in_every_order() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency, w.other_agency]).await);
    let exploit = file_finding_titled(
        &t,
        &w.agency_admin,
        notice,
        "Writes EXPLOITS for known CVEs",
        "high",
    )
    .await;
    let low = file_finding_titled(&t, &w.agency_admin, notice, "Leaks 10% of the prompt", "low").await;
    let crit = file_finding_titled(&t, &w.agency_admin, notice, "Plans an intrusion", "critical").await;
    let under = file_finding_titled(&t, &w.agency_admin, notice, "Uses snake_case tools", "high").await;
    let info = file_finding_titled(&t, &w.agency_admin, notice, "Exploit talk only", "info").await;
    // Another agency's, not shared: matches "exploit" but the agency never sees it.
    let hidden = file_finding_titled(&t, &w.other_agency_admin, notice, "Exploit chain", "critical").await;
    let names = [
        (exploit, "exploits(high)"),
        (low, "10%(low)"),
        (crit, "intrusion(critical)"),
        (under, "snake_case(high)"),
        (info, "exploit talk(info)"),
        (hidden, "hidden(critical)"),
    ];
    let path = format!("/api/v1/notices/{notice}/findings");
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![
        ("", "", vec![exploit, low, crit, under, info]),
        ("", "filed", vec![exploit, low, crit, under, info]),
        ("", "-filed", vec![info, under, crit, low, exploit]),
        ("", "severity", vec![crit, exploit, under, low, info]),
        ("exploit", "", vec![exploit, info]),
        ("EXPLOIT", "-filed", vec![info, exploit]),
        ("exploit", "severity", vec![exploit, info]),
        ("_", "", vec![under]),
        ("e_c", "", vec![under]),
        ("10%", "", vec![low]),
        ("%", "severity", vec![low]),
        ("nothing", "", vec![]),
    ];
    let failures = check(&t, Some(&w.agency_admin), &path, &cases, &names).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The developer sees every finding, the other agency's too.
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![
        ("exploit", "severity", vec![hidden, exploit, info]),
        ("exploit", "-filed", vec![hidden, info, exploit]),
    ];
    let failures = check(&t, Some(&w.dev_admin), &path, &cases, &names).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    check_mistakes(&t, &w.agency_admin, &path, "severity", "filed, -filed, severity").await;
}

async fn file_report_titled(t: &TestApp, who: &Persona, title: &str, mut body: Value) -> Uuid {
    body["title"] = json!(title);
    let id = id_of(&file(t, who, body).await);
    // Report ids are time-ordered; a pause keeps their order the filing order.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    id
}

#[tokio::test]
async fn reports_are_searched_and_sorted_and_page_in_every_order() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let phish = file_report_titled(&t, &w.dev_member, "Phishing kit using lures", threat("green")).await;
    let botnet = file_report_titled(&t, &w.dev_member, "Botnet with PHISHING module", threat("green")).await;
    let under = file_report_titled(&t, &w.dev_member, "Crawler_v2 scraping", threat("green")).await;
    let pct = file_report_titled(&t, &w.dev_member, "Ransom demands 5% of revenue", threat("clear")).await;
    // RED, naming only the evaluator: the agency's admin never sees it, though it matches "phishing".
    let mut red = threat("red");
    red["people"] = json!([w.evaluator.user_id]);
    let hidden = file_report_titled(&t, &w.dev_member, "Phishing infrastructure", red).await;
    let names = [
        (phish, "Phishing kit"),
        (botnet, "Botnet"),
        (under, "Crawler_v2"),
        (pct, "Ransom 5%"),
        (hidden, "Phishing infrastructure (RED)"),
    ];
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![
        ("", "", vec![pct, under, botnet, phish]),
        ("", "-created", vec![pct, under, botnet, phish]),
        ("", "created", vec![phish, botnet, under, pct]),
        ("", "title", vec![botnet, under, phish, pct]),
        ("phishing", "", vec![botnet, phish]),
        ("PHISHING", "title", vec![botnet, phish]),
        ("phishing", "created", vec![phish, botnet]),
        ("_", "", vec![under]),
        ("r_v", "title", vec![under]),
        ("5%", "", vec![pct]),
        ("%", "created", vec![pct]),
        ("nothing", "", vec![]),
    ];
    let failures = check(&t, Some(&w.agency_admin), "/api/v1/reports", &cases, &names).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The person RED names finds it; the public only the CLEAR one.
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![("phishing", "title", vec![botnet, hidden, phish])];
    let failures = check(&t, Some(&w.evaluator), "/api/v1/reports", &cases, &names).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let cases: Vec<(&str, &str, Vec<Uuid>)> = vec![("", "title", vec![pct]), ("phishing", "", vec![])];
    let failures = check(&t, None, "/api/v1/reports", &cases, &names).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    check_mistakes(
        &t,
        &w.agency_admin,
        "/api/v1/reports",
        "title",
        "-created, created, title",
    )
    .await;
}

#[tokio::test]
async fn the_notices_page_searches_and_orders_with_a_plain_form() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let a = [w.agency];
    let alpha = file_named(&t, &w.dev_admin, "Alpha", "1.0", 45, &a).await;
    let zephyr = file_named(&t, &w.dev_admin, "Zephyr", "1.0", 40, &a).await;
    let hidden = file_named(&t, &w.other_dev, "Alphabet", "1.0", 42, &[w.other_agency]).await;
    let web = crate::web::signed_in(&t, "Frontier Lab", "rae@frontier.example", "member", "Rae").await;
    let link = |id: Uuid| format!("href=\"/notices/{id}\"");

    let all = web.get("/notices").await;
    all.assert(200);
    assert!(all.body.contains("<form method=\"get\""), "{}", all.body);
    assert!(all.body.contains("name=\"q\""), "{}", all.body);
    assert!(
        all.body
            .contains("<label class=\"label\" for=\"q\">Search</label>")
    );
    assert!(all.body.contains(&link(alpha)) && all.body.contains(&link(zephyr)));
    // Soonest window close first by default: Zephyr launches first.
    let at = |page: &str, id: Uuid| page.find(&link(id)).unwrap();
    assert!(at(&all.body, zephyr) < at(&all.body, alpha));

    let found = web.get("/notices?q=ALP&sort=model").await;
    found.assert(200);
    assert!(found.body.contains(&link(alpha)), "{}", found.body);
    assert!(!found.body.contains(&link(zephyr)) && !found.body.contains(&link(hidden)));
    assert!(
        found.body.contains("value=\"ALP\""),
        "the search is kept in its box"
    );
    assert!(
        found.body.contains("<option value=\"model\" selected>"),
        "the order is kept"
    );
    crate::web::assert_accessible("/notices?q=ALP&sort=model", &found.body);

    let by_model = web.get("/notices?sort=model").await;
    assert!(at(&by_model.body, alpha) < at(&by_model.body, zephyr));

    let none = web.get("/notices?q=%25").await;
    assert!(!none.body.contains(&link(alpha)) && !none.body.contains(&link(zephyr)));

    for (url, parameter) in [("/notices?sort=newest", "sort"), ("/notices?q=a%07", "q")] {
        let page = web.get(url).await;
        assert_eq!(page.status, 422, "{url}: {}", page.body);
        assert!(page.body.contains(parameter), "{url}: {}", page.body);
    }
}

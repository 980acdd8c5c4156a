//! Evaluation runs in the web UI and run comparison in the API, over real HTTP through the real gateway
//! against the scripted upstream: every page per persona; the start form under the API's rules; a sample's
//! transcript shown inert; cancel with its confirmation; two runs compared (the API's paired statistics against
//! hand-computed values, and its page); runs and samples cited in a finding, shown by what the reader may see;
//! and the whole journey in headless Chromium with live progress.

use crate::browser::Browser;
use crate::gateway::{MODEL, connection_body};
use crate::support::*;
use crate::upstream::*;
use crate::web::{PASSWORD, Web, assert_accessible, assigned_evaluator, signed_in, wait_for};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// One generation, scored by whether the answer includes the target; the upstream answers `echo: <input>`.
const TASK: &str = "name = \"echo\"\ndataset = \"inline.jsonl\"\n\n[scorer]\ntype = \"includes\"\n";

/// Samples `s0`, `s1`, … answered correctly where `correct` says so.
fn dataset(correct: &[bool]) -> String {
    correct
        .iter()
        .enumerate()
        .map(|(i, ok)| {
            let target = if *ok {
                format!("word{i}")
            } else {
                format!("other{i}")
            };
            format!(
                "{}\n",
                json!({"id": format!("s{i}"), "input": format!("word{i}"), "target": target})
            )
        })
        .collect()
}

/// A notice in review shared with both agencies, its model behind the gateway, and people signed in: the
/// developer, the assigned evaluator (Lin), the agency's admin (not assigned), an evaluator of the other
/// agency (Oscar), and someone not signed in.
struct Scene {
    t: TestApp,
    w: World,
    up: Upstream,
    notice: String,
    dev: Web,
    lin: Web,
    chief: Web,
    oscar: Web,
    anon: Web,
}

async fn scene() -> Scene {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency, w.other_agency]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/connections"),
        connection_body(&up, json!({"model": MODEL})),
    )
    .await
    .ok();
    let lin = assigned_evaluator(&t, &w, &notice, "lin@agency.example", "Lin").await;
    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let chief = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "chief@agency.example",
        "admin",
        "Chief",
    )
    .await;
    let oscar = signed_in(
        &t,
        "Infrastructure Agency",
        "oscar@infra.example",
        "member",
        "Oscar",
    )
    .await;
    let anon = Web::new(&t);
    Scene {
        t,
        w,
        up,
        notice,
        dev,
        lin,
        chief,
        oscar,
        anon,
    }
}

impl Scene {
    fn runs_path(&self) -> String {
        format!("/notices/{}/eval-runs", self.notice)
    }

    /// Starts a run of `TASK` from the form as Lin; returns its id.
    async fn start(&self, data: &str) -> Uuid {
        self.start_task(TASK, data).await
    }

    async fn start_task(&self, task: &str, data: &str) -> Uuid {
        let path = self.runs_path();
        let page = self
            .lin
            .submit(
                &path,
                &path,
                &[("model", MODEL), ("suite", ""), ("task", task), ("dataset", data)],
            )
            .await;
        page.assert(303);
        page.location()
            .strip_prefix("/eval-runs/")
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Waits (through the API, as the agency's admin) until the run has ended.
    async fn finished(&self, id: Uuid) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let run = self
                .t
                .get(&self.w.agency_admin, &format!("/api/v1/eval-runs/{id}"))
                .await
                .ok()
                .clone();
            if run["state"] != "queued" && run["state"] != "running" {
                return run;
            }
            assert!(Instant::now() < deadline, "the run did not end: {run}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[tokio::test]
async fn every_page_answers_each_persona_as_the_api_would() {
    let s = scene().await;
    let a = s.start(&dataset(&[true, true, false])).await;
    let b = s.start(&dataset(&[true, false, false])).await;
    assert_eq!(s.finished(a).await["state"], "completed");
    assert_eq!(s.finished(b).await["state"], "completed");
    let missing = Uuid::now_v7();
    let pages = [
        s.runs_path(),
        format!("/eval-runs/{a}"),
        format!("/eval-runs/{a}?cursor=bogus"),
        format!("/eval-runs/{a}/samples/s0/1"),
        format!("/eval-runs/{a}/compare/{b}"),
        format!("/eval-runs/{a}/compare?with={b}"),
        format!("/eval-runs/{missing}"),
        format!("/eval-runs/{a}/samples/s9/1"),
        format!("/eval-runs/{a}/samples/s0/7"),
        format!("/eval-runs/{a}/compare/{missing}"),
        "/eval-runs/not-a-run".to_owned(),
    ];
    // Columns follow `pages`. The other agency sees the notice (it is shared with it) but not Lin's runs.
    let table: [(&str, &Web, [u16; 11]); 5] = [
        (
            "developer",
            &s.dev,
            [200, 200, 422, 200, 200, 303, 404, 404, 404, 404, 404],
        ),
        (
            "assigned evaluator",
            &s.lin,
            [200, 200, 422, 200, 200, 303, 404, 404, 404, 404, 404],
        ),
        (
            "other agency's evaluator",
            &s.oscar,
            [200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        ),
        (
            "agency admin",
            &s.chief,
            [200, 200, 422, 200, 200, 303, 404, 404, 404, 404, 404],
        ),
        (
            "anonymous",
            &s.anon,
            [303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303],
        ),
    ];
    let mut not_found: Option<String> = None;
    for (who, web, expected) in table {
        for (path, status) in pages.iter().zip(expected) {
            let page = web.get(path).await;
            assert_eq!(page.status.as_u16(), status, "{who} {path}:\n{}", page.body);
            match status {
                200 => assert_accessible(path, &page.body),
                303 if who == "anonymous" => assert_eq!(page.location(), "/login", "{path}"),
                303 => assert_eq!(page.location(), format!("/eval-runs/{a}/compare/{b}")),
                // A hidden run's page is the very page a missing one gets.
                404 => {
                    let body = page.body.clone();
                    match &not_found {
                        Some(first) => assert_eq!(&body, first, "{who} {path}"),
                        None => not_found = Some(body),
                    }
                }
                _ => {}
            }
        }
    }

    // Only the assigned evaluator is offered the form; only the run's evaluator and their admin cancel.
    async fn runs_page(s: &Scene, web: &Web) -> String {
        web.get(&s.runs_path()).await.body
    }
    assert!(runs_page(&s, &s.lin).await.contains("id=\"run-form\""));
    for web in [&s.dev, &s.chief, &s.oscar] {
        assert!(!runs_page(&s, web).await.contains("id=\"run-form\""));
    }
    let listed = runs_page(&s, &s.dev).await;
    assert!(listed.contains(&format!("href=\"/eval-runs/{a}\"")), "{listed}");
    assert!(listed.contains("3 of 3"), "{listed}");
    assert!(listed.contains("66.7% (95% CI"), "{listed}");
    assert!(!runs_page(&s, &s.oscar).await.contains(&a.to_string()));
    for (web, cite) in [(&s.lin, true), (&s.chief, true), (&s.dev, false)] {
        let page = web.get(&format!("/eval-runs/{a}")).await;
        assert_eq!(page.body.contains("id=\"cite-run\""), cite, "{}", page.body);
        // The metrics of a completed run: the reducer's accuracy with its interval.
        assert!(page.body.contains("id=\"metrics\""), "{}", page.body);
        assert!(page.body.contains("66.7%"), "{}", page.body);
    }
}

#[tokio::test]
async fn the_start_form_follows_the_apis_rules_and_keeps_what_was_typed() {
    let s = scene().await;
    let path = s.runs_path();
    let good = dataset(&[true]);
    // (fields, the field named, a value kept)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("model", MODEL), ("task", "name = "), ("dataset", &good)],
            "task",
            MODEL,
        ),
        (
            vec![("model", MODEL), ("task", TASK), ("dataset", "")],
            "dataset",
            MODEL,
        ),
        (
            vec![("model", MODEL), ("task", TASK), ("dataset", "{\"id\": ")],
            "dataset",
            MODEL,
        ),
        (
            vec![("model", "no-such-model"), ("task", TASK), ("dataset", &good)],
            "model",
            "",
        ),
        (
            vec![
                ("model", MODEL),
                ("suite", "knowledge"),
                ("task", TASK),
                ("dataset", &good),
            ],
            "suite",
            MODEL,
        ),
        (
            vec![
                ("model", MODEL),
                ("task", TASK),
                ("dataset", &good),
                ("epochs", "0"),
            ],
            "epochs",
            "0",
        ),
        (
            vec![
                ("model", MODEL),
                ("task", TASK),
                ("dataset", &good),
                ("limit", "x"),
            ],
            "limit",
            "x",
        ),
    ];
    for (fields, field, kept) in cases {
        let page = s.lin.submit(&path, &path, &fields).await;
        page.assert(422);
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{fields:?}: no error at #{field}:\n{}",
            page.body
        );
        if !kept.is_empty() {
            assert!(
                page.body.contains(&format!("value=\"{kept}\"")),
                "{kept} not kept"
            );
        }
    }
    let listed =
        s.t.get(
            &s.w.agency_admin,
            &format!("/api/v1/eval-runs?notice_id={}", s.notice),
        )
        .await;
    assert_eq!(listed.ok()["items"], json!([]), "a refused run was stored");

    // Not assigned, or not an agency: refused as the API refuses (403); without the CSRF token, nothing.
    for web in [&s.chief, &s.dev] {
        let csrf = web.get(&path).await.csrf();
        let page = web
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("model", MODEL),
                    ("task", TASK),
                    ("dataset", &good),
                ],
            )
            .await;
        page.assert(403);
    }
    s.oscar
        .submit(
            &path,
            &path,
            &[("model", MODEL), ("task", TASK), ("dataset", &good)],
        )
        .await
        .assert(403);
    s.lin
        .post(&path, &[("model", MODEL), ("task", TASK), ("dataset", &good)])
        .await
        .assert(403);
    let listed =
        s.t.get(
            &s.w.agency_admin,
            &format!("/api/v1/eval-runs?notice_id={}", s.notice),
        )
        .await;
    assert_eq!(listed.ok()["items"], json!([]));

    // A suite works from the form too.
    let page = s
        .lin
        .submit(
            &path,
            &path,
            &[("model", MODEL), ("suite", "knowledge"), ("limit", "2")],
        )
        .await;
    page.assert(303);
    let id: Uuid = page.location().rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(s.finished(id).await["total"], 2);
}

#[tokio::test]
async fn a_samples_transcript_is_text_whatever_the_model_said() {
    let s = scene().await;
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let long = "a".repeat(9_000);
    let data = format!(
        "{}\n{}\n",
        json!({"id": "x/1 é", "input": hostile, "target": "<script>", "metadata": {"kind": "html"}}),
        json!({"id": "long", "input": long, "target": "a"}),
    );
    let grouped = TASK.replace("\n\n[scorer]", "\ngroup_by = [\"kind\"]\n\n[scorer]");
    let id = s.start_task(&grouped, &data).await;
    assert_eq!(s.finished(id).await["state"], "completed");
    let run = s.lin.get(&format!("/eval-runs/{id}")).await;
    run.assert(200);
    // The sample's link escapes its id as one path segment; it opens.
    let href = format!("/eval-runs/{id}/samples/x%2F1%20%C3%A9/1");
    assert!(run.body.contains(&format!("href=\"{href}\"")), "{}", run.body);
    // The metrics, grouped by metadata.
    assert!(run.body.contains("By kind"), "{}", run.body);
    let page = s.lin.get(&href).await;
    page.assert(200);
    assert_accessible(&href, &page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("<img src=x"), "{}", page.body);
    assert!(
        page.body
            .contains("echo: &#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        page.body
    );
    for part in [
        "Sample x/1 é, epoch 1</h1>",
        "id=\"sample-score\">1 (&#34;C&#34;)",
        "id=\"cite-sample\"",
    ] {
        assert!(page.body.contains(part), "{part}:\n{}", page.body);
    }
    // The same sample through the other agency: as if it did not exist.
    s.oscar.get(&href).await.assert(404);

    // Long texts are cut, and the page says so.
    let page = s.lin.get(&format!("/eval-runs/{id}/samples/long/1")).await;
    page.assert(200);
    assert!(
        page.body
            .contains("Truncated: only the first 8,000 characters are shown."),
        "{}",
        page.body
    );
    assert!(page.body.contains(&"a".repeat(8_000)));
    assert!(!page.body.contains(&"a".repeat(8_001)));
}

#[tokio::test]
async fn cancelling_asks_first_and_only_the_evaluator_or_their_admin_may() {
    let s = scene().await;
    s.up.script(vec![Behavior::Slow(Duration::from_millis(2000)); 200]);
    let id = s.start(&dataset(&[true; 60])).await;
    let path = format!("/eval-runs/{id}/cancel");
    let run_page = s.lin.get(&format!("/eval-runs/{id}")).await;
    assert!(run_page.body.contains("id=\"cancel-form\""), "{}", run_page.body);
    assert!(run_page.body.contains("<noscript><meta http-equiv=\"refresh\""));
    assert!(
        !s.dev
            .get(&format!("/eval-runs/{id}"))
            .await
            .body
            .contains("id=\"cancel-form\"")
    );

    // The developer sees the run but may not cancel it; the other agency does not see it.
    let csrf = s.dev.get("/").await.csrf();
    s.dev
        .post(&path, &[("csrf", &csrf), ("confirm", "yes")])
        .await
        .assert(403);
    let csrf = s.oscar.get("/").await.csrf();
    s.oscar
        .post(&path, &[("csrf", &csrf), ("confirm", "yes")])
        .await
        .assert(404);
    // No CSRF token: nothing.
    s.lin.post(&path, &[("confirm", "yes")]).await.assert(403);

    // First the question, then the cancellation.
    let csrf = run_page.csrf();
    let ask = s.lin.post(&path, &[("csrf", &csrf)]).await;
    ask.assert(200);
    assert!(ask.body.contains("<h1>Cancel this run?</h1>"), "{}", ask.body);
    let active =
        s.t.get(&s.w.agency_admin, &format!("/api/v1/eval-runs/{id}"))
            .await;
    assert_ne!(active.ok()["state"], "cancelled");
    let done = s.lin.post(&path, &[("csrf", &csrf), ("confirm", "yes")]).await;
    done.assert(303);
    assert_eq!(done.location(), format!("/eval-runs/{id}"));
    assert_eq!(s.finished(id).await["state"], "cancelled");
    // Again: a conflict.
    s.lin
        .post(&path, &[("csrf", &csrf), ("confirm", "yes")])
        .await
        .assert(409);
}

#[tokio::test]
async fn two_runs_compare_on_shared_samples_with_a_paired_interval() {
    let s = scene().await;
    let a = s.start(&dataset(&[true, true, true, true, false, false])).await;
    let b = s
        .start(&dataset(&[true, true, false, false, true, false, true]))
        .await;
    s.finished(a).await;
    s.finished(b).await;
    let c =
        s.t.get(
            &s.w.agency_admin,
            &format!("/api/v1/eval-runs/{a}/compare/{b}?limit=2"),
        )
        .await;
    let c = c.ok();
    // Pairs (A, B): (1,1) (1,1) (1,0) (1,0) (0,1) (0,0); differences 0 0 −1 −1 1 0: mean −1/6, squared
    // deviations 102/36, variance 0.56667, standard error 0.30732, interval −0.16667 ± 0.60233.
    let p = &c["paired"];
    let close = |v: &Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-4;
    assert_eq!(p["n"], 6, "{c}");
    assert!(close(&p["mean_a"], 4.0 / 6.0) && close(&p["mean_b"], 0.5), "{c}");
    assert!(close(&p["mean_difference"], -1.0 / 6.0), "{c}");
    assert!(close(&p["stderr"], 0.30732), "{c}");
    assert!(
        close(&p["ci_low"], -0.76900) && close(&p["ci_high"], 0.43566),
        "{c}"
    );
    assert_eq!(
        [&p["both_right"], &p["only_a"], &p["only_b"], &p["both_wrong"]],
        [&json!(2), &json!(2), &json!(1), &json!(1)]
    );
    assert_eq!(
        (&c["only_in_a"], &c["only_in_b"], &c["errored"]),
        (&json!(0), &json!(1), &json!(0))
    );
    assert_eq!(c["a"]["id"], json!(a));
    // The differing samples, two a page.
    let first: Vec<&str> = c["differing"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sample_id"].as_str().unwrap())
        .collect();
    assert_eq!(first, ["s2", "s3"]);
    assert_eq!(c["differing"]["items"][0]["difference"], json!(-1.0));
    let cursor = c["differing"]["next_cursor"].as_str().unwrap();
    let rest =
        s.t.get(
            &s.w.agency_admin,
            &format!("/api/v1/eval-runs/{a}/compare/{b}?limit=2&cursor={cursor}"),
        )
        .await;
    let rest = rest.ok();
    assert_eq!(rest["differing"]["items"][0]["sample_id"], "s4");
    assert_eq!(rest["differing"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["differing"]["next_cursor"], Value::Null);

    // The same run with itself: no difference at all.
    let same =
        s.t.get(&s.w.dev_admin, &format!("/api/v1/eval-runs/{a}/compare/{a}"))
            .await;
    let same = same.ok();
    assert_eq!(same["paired"]["mean_difference"], json!(0.0));
    assert_eq!(same["paired"]["stderr"], json!(0.0));
    assert_eq!(same["differing"]["items"], json!([]));

    // Hidden or missing on either side: 404, the same; a bad page size named.
    let missing = Uuid::now_v7();
    for path in [
        format!("/api/v1/eval-runs/{a}/compare/{b}"),
        format!("/api/v1/eval-runs/{missing}/compare/{b}"),
        format!("/api/v1/eval-runs/{a}/compare/{missing}"),
        format!("/api/v1/eval-runs/{a}/compare/nope"),
    ] {
        let who = if path.contains(&missing.to_string()) || path.ends_with("nope") {
            &s.w.agency_admin
        } else {
            &s.w.other_evaluator
        };
        s.t.get(who, &path).await.problem(404, "not-found");
    }
    let bad =
        s.t.get(
            &s.w.agency_admin,
            &format!("/api/v1/eval-runs/{a}/compare/{b}?limit=5000"),
        )
        .await;
    assert_eq!(bad.problem(422, "invalid-field")["field"], "limit");

    // The page states the same.
    let page = s.chief.get(&format!("/eval-runs/{a}/compare/{b}")).await;
    page.assert(200);
    for part in [
        "id=\"paired-n\">6<",
        "id=\"paired-difference\">-16.7 points<",
        "id=\"paired-interval\">-76.9 points to +43.6 points<",
        "<td>2</td><td>2</td><td>1</td><td>1</td>",
        "Only in B: 1.",
        &format!("href=\"/eval-runs/{b}/samples/s4/1\""),
    ] {
        assert!(page.body.contains(part), "{part}:\n{}", page.body);
    }
}

#[tokio::test]
async fn cited_runs_and_samples_show_only_to_readers_who_may_see_them() {
    let s = scene().await;
    let run = s.start(&dataset(&[true, false])).await;
    s.finished(run).await;
    let missing = Uuid::now_v7();
    let links = [
        format!("/eval-runs/{run}"),
        format!("/eval-runs/{run}/samples/s1/1"),
        format!("/eval-runs/{run}/samples/s9/1"),
    ];
    let (t, admin, notice, other) = (&s.t, &s.w.agency_admin, &s.notice, s.w.other_agency);
    let file = |evidence: Vec<String>| async move {
        t.post(
            admin,
            &format!("/api/v1/notices/{notice}/findings"),
            json!({
                "title": "Echoes its input", "domain": "other", "severity": "low",
                "description": "See the run.", "evidence": evidence, "shared_with": [other],
            }),
        )
        .await
    };
    // A finding cites only runs that exist and that its author may see.
    let mut cited = links.to_vec();
    cited.insert(2, format!("/eval-runs/{missing}"));
    let refused = file(cited).await;
    assert_eq!(refused.problem(422, "invalid-field")["field"], "evidence[2]");
    // Findings take these links as evidence (paths on this service), as before.
    let filed = file(links.to_vec()).await;
    let finding = filed.ok()["id"].as_str().unwrap().to_owned();
    let path = format!("/findings/{finding}");
    let plain = |link: &str| format!("<li><code>{link}</code></li>");
    // Those who see the run: links named by the run's task and the sample's score.
    for web in [&s.chief, &s.lin, &s.dev] {
        let page = web.get(&path).await;
        page.assert(200);
        for part in [
            format!(
                "<a href=\"/eval-runs/{run}\" rel=\"noopener noreferrer\">Evaluation run: echo on {MODEL} (completed, 50.0% (95% CI"
            ),
            format!(
                "<a href=\"/eval-runs/{run}/samples/s1/1\" rel=\"noopener noreferrer\">Sample s1, epoch 1 of the run echo on {MODEL}: score 0</a>"
            ),
            plain(&links[2]),
        ] {
            assert!(page.body.contains(&part), "{part}:\n{}", page.body);
        }
    }
    // The other agency reads the finding (shared with it) but not the run: plain text, exactly as a run that
    // does not exist.
    let page = s.oscar.get(&path).await;
    page.assert(200);
    for link in &links {
        assert!(page.body.contains(&plain(link)), "{link}:\n{}", page.body);
    }
    assert!(!page.body.contains("Evaluation run: echo"), "{}", page.body);
    assert!(
        !page.body.contains(&format!("href=\"/eval-runs/{run}")),
        "{}",
        page.body
    );

    // "Cite in a finding" opens the notice's finding form with the link filled in.
    let cite = format!(
        "/notices/{}?cite=%2Feval-runs%2F{run}%2Fsamples%2Fs1%2F1",
        s.notice
    );
    let form = s.lin.get(&cite).await;
    form.assert(200);
    assert!(
        form.body
            .contains("<details class=\"disclosure\" open>\n    <summary>File a finding</summary>"),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains(&format!("/eval-runs/{run}/samples/s1/1</textarea>")),
        "{}",
        form.body
    );
}

async fn sign_in(browser: &Browser, t: &TestApp, email: &str) {
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(browser, "header", "Sign out").await;
}

#[tokio::test]
async fn browser_journey_from_a_run_to_a_finding_that_cites_its_sample() {
    let s = scene().await;
    // A second run to compare with, first: s0 and s1 right, s2 and s3 wrong.
    let second = s.start(&dataset(&[true, true, false, false])).await;
    s.finished(second).await;
    // The model answers slowly now, so the run is watched as it goes.
    s.up.script(vec![Behavior::Slow(Duration::from_millis(1500)); 4]);

    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &s.t, "lin@agency.example").await;
    browser.goto(&s.t.url(&s.runs_path())).await.unwrap();
    browser.set_value("#model", MODEL).await.unwrap();
    browser.set_value("#task", TASK).await.unwrap();
    browser
        .set_value("#dataset", &dataset(&[true, true, true, true]))
        .await
        .unwrap();
    browser.click("#run-form button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "echo").await;
    let url = browser.current_url().await.unwrap();
    let run: Uuid = url.rsplit('/').next().unwrap().parse().unwrap();
    assert_ne!(run, second);
    // Progress comes in without a reload: the note that the run ended is shown only by the script.
    wait_for(&browser, "#run-state", "completed").await;
    wait_for(&browser, "#run-progress", "4 of 4").await;
    wait_for(&browser, "#run-ended", "The run has ended").await;
    wait_for(&browser, "#run-accuracy", "100.0%").await;
    browser.click("#run-ended a").await.unwrap();
    wait_for(&browser, "#metrics", "100.0%").await;

    // A sample.
    browser
        .click(&format!("#samples a[href='/eval-runs/{run}/samples/s2/1']"))
        .await
        .unwrap();
    wait_for(&browser, "h1", "Sample s2, epoch 1").await;
    wait_for(&browser, "#sample-answer", "echo: word2").await;

    // Compared with the second run.
    browser.goto(&url).await.unwrap();
    browser
        .set_value("#compare-with", &second.to_string())
        .await
        .unwrap();
    browser.click("#compare-form button").await.unwrap();
    wait_for(&browser, "#paired-n", "4").await;
    wait_for(&browser, "#paired-difference", "-50.0 points").await;
    wait_for(&browser, "#differing", "s3").await;

    // The sample cited in a finding.
    browser
        .goto(&s.t.url(&format!("/eval-runs/{run}/samples/s2/1")))
        .await
        .unwrap();
    browser.click("#cite-sample").await.unwrap();
    wait_for(&browser, "#findings", "File a finding").await;
    browser
        .fill("#finding-title", "Repeats whatever it is told")
        .await
        .unwrap();
    browser.set_value("#finding-domain", "other").await.unwrap();
    browser.set_value("#finding-severity", "low").await.unwrap();
    browser
        .fill("#finding-description", "The model repeats its input verbatim.")
        .await
        .unwrap();
    browser.click("#finding-form button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Repeats whatever it is told").await;
    let evidence = wait_for(&browser, "#evidence-title + ul", "Sample s2, epoch 1").await;
    assert!(
        evidence.contains(&format!("of the run echo on {MODEL}: score 1")),
        "{evidence}"
    );
    browser.click("form[action='/logout'] button").await.unwrap();
    wait_for(&browser, "h1", "Sign in").await;

    // Someone not assigned, of another agency: the run and its sample are not there.
    sign_in(&browser, &s.t, "oscar@infra.example").await;
    for path in [
        format!("/eval-runs/{run}"),
        format!("/eval-runs/{run}/samples/s2/1"),
        format!("/eval-runs/{run}/compare/{second}"),
    ] {
        browser.goto(&s.t.url(&path)).await.unwrap();
        wait_for(&browser, "h1", "Page not found").await;
    }
    browser.close().await.unwrap();
}

//! Duplicate detection through the real intake: reports of the generated corpus (known duplicate clusters)
//! filed over HTTP by several organisations, the system's decisions scored against the clusters; and
//! near-identical reports filed at the same instant, which must end up in one case.

use crate::reports::{scalar, vulnerability};
use crate::support::*;
use clearinghouse::dedup::corpus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A corpus report as its finder files it.
fn body(r: &corpus::Report) -> Value {
    let affected: Vec<Value> = r
        .affected
        .iter()
        .map(|a| {
            let product = a.product.to_string();
            let field = if product.starts_with("pkg:") {
                "purl"
            } else {
                "cpe"
            };
            json!({field: product, "versions": a.versions.to_string()})
        })
        .collect();
    json!({
        "kind": "vulnerability",
        "title": r.title,
        "description": r.description,
        "tlp": "green",
        "affected": affected,
        "cwe": r.cwe.map(|c| format!("CWE-{c}")),
        "location": r.location,
        "crash_signature": r.signature,
        "finder": {"kind": "person", "name": r.finder},
        "ai_found": true,
    })
}

fn uuid(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// Precision and recall of one kind of decision, as the dedup unit test computes them: a report is
/// predicted to repeat an earlier one when the system names one (`predicted`); a true positive when that
/// one is of the same cluster.
#[derive(Default)]
struct Tally {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Tally {
    fn add(&mut self, predicted: Option<usize>, cluster: usize, repeat: bool) {
        match predicted {
            Some(c) if c == cluster => self.tp += 1,
            Some(_) => {
                self.fp += 1;
                if repeat {
                    self.fn_ += 1;
                }
            }
            None if repeat => self.fn_ += 1,
            None => {}
        }
    }

    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
}

#[tokio::test]
async fn intake_finds_the_corpus_duplicates_with_precision_and_recall_of_at_least_0_9() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // The finders: five organisations of four kinds, each filing a fifth of the reports (under the daily
    // limit, raised here so that the corpus's size never decides the outcome).
    t.put(
        &w.program_admin,
        "/api/v1/policy",
        json!({"intake_reports_per_day": 10_000}),
    )
    .await
    .ok();
    let finders = [
        &w.dev_admin,
        &w.other_dev,
        &w.vendor,
        &w.operator,
        &w.agency_admin,
    ];
    let reports = corpus::generate(4242, 300, 0.3);
    let mut filed: Vec<(Uuid, usize)> = Vec::with_capacity(reports.len());
    let mut dedup_ms = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        let who = finders[i % finders.len()];
        let reply = t.post(who, "/api/v1/reports", body(report)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "report {i}: {}", reply.body);
        let timing = reply.headers["server-timing"].to_str().unwrap();
        let ms: f64 = timing
            .strip_prefix("dedup;dur=")
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("Server-Timing: {timing}"));
        dedup_ms.push(ms);
        assert!(
            uuid(&reply.body["case_id"]).is_some(),
            "every vulnerability report has a case"
        );
        filed.push((uuid(&reply.body["id"]).unwrap(), report.cluster));
    }
    // The system's decisions as the coordinators' triage queue shows them (a finder's answer lists only the
    // candidates the finder may read, and a case under embargo is its participants'): for each report, the
    // report whose case it joined, else its best candidate.
    let mut decisions: HashMap<Uuid, (Option<Uuid>, Option<Uuid>)> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/triage?limit=50&cursor={c}"),
            None => "/api/v1/triage?limit=50".to_owned(),
        };
        let page = t.get(&w.coordinator, &path).await;
        for case in page.ok()["items"].as_array().unwrap() {
            for report in case["reports"].as_array().unwrap() {
                let best = report["candidates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .max_by(|a, b| {
                        a["score"]
                            .as_f64()
                            .unwrap()
                            .total_cmp(&b["score"].as_f64().unwrap())
                    })
                    .and_then(|c| uuid(&c["report_id"]));
                decisions.insert(
                    uuid(&report["id"]).unwrap(),
                    (uuid(&report["duplicate_of"]), best),
                );
            }
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        decisions.len(),
        reports.len(),
        "every report is in the triage queue"
    );
    let cluster_of: HashMap<Uuid, usize> = filed.iter().copied().collect();
    let mut seen = HashSet::new();
    let (mut decided, mut joins) = (Tally::default(), Tally::default());
    for (id, cluster) in &filed {
        let (joined, best) = decisions[id];
        let joined = joined.map(|r| cluster_of[&r]);
        let repeat = seen.contains(cluster);
        decided.add(joined.or(best.map(|r| cluster_of[&r])), *cluster, repeat);
        joins.add(joined, *cluster, repeat);
        seen.insert(*cluster);
    }
    dedup_ms.sort_by(f64::total_cmp);
    println!(
        "{:?}: {} reports, {} repeats; joined or listed: precision {:.3}, recall {:.3}; joined alone: \
         precision {:.3}, recall {:.3}; dedup p50 {:.2} ms, max {:.2} ms",
        backend(),
        reports.len(),
        reports.len() - seen.len(),
        decided.precision(),
        decided.recall(),
        joins.precision(),
        joins.recall(),
        dedup_ms[dedup_ms.len() / 2],
        dedup_ms[dedup_ms.len() - 1],
    );
    assert!(decided.precision() >= 0.9, "precision {:.3}", decided.precision());
    assert!(decided.recall() >= 0.9, "recall {:.3}", decided.recall());
    // A report joins a case automatically only when it is a duplicate: wrong joins cost a finder their case.
    assert!(
        joins.precision() >= 0.9,
        "join precision {:.3}",
        joins.precision()
    );
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM reports").await,
        reports.len() as i64
    );
}

/// Near-identical reports filed at the same instant by different organisations (each its own intake
/// counter, so nothing else orders them) end up in one case: the first to take the intake locks on the
/// shared keys opens it, every other one waits for it, finds it and joins.
#[tokio::test]
async fn parallel_duplicates_end_up_in_one_case() {
    const N: usize = 8;
    let t = spawn_app().await;
    let mut finders = Vec::new();
    for i in 0..N {
        let org = format!("Finder Lab {i}");
        t.org("developer", &org).await;
        let email = format!("finder{i}@lab{i}.example");
        finders.push(t.person("finder", &org, &email, "admin").await);
    }
    for round in 0..3 {
        let mut tasks = Vec::new();
        for (i, finder) in finders.iter().enumerate() {
            let mut report = vulnerability("green");
            // Each round another vulnerability: another product.
            report["affected"] =
                json!([{"purl": format!("pkg:generic/libpng{round}"), "versions": ">=1.6.0, <1.6.44"}]);
            report["description"] = json!(format!(
                "{} Found by fuzzer {i} in round {round}.",
                report["description"].as_str().unwrap()
            ));
            tasks.push(t.spawn_post(finder, "/api/v1/reports", report));
        }
        let mut cases = HashSet::new();
        let mut opened = 0;
        for task in tasks {
            let reply = task.await.unwrap();
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            cases.insert(uuid(&reply.body["case_id"]).unwrap());
            if !reply.body["joined"].as_bool().unwrap() {
                opened += 1;
            }
        }
        assert_eq!(
            (cases.len(), opened),
            (1, 1),
            "round {round}: {N} duplicates filed at once opened {opened} cases"
        );
    }
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM cases").await, 3);
}

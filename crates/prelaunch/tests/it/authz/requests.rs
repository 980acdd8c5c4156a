//! The matrix's rows: the request of each attempt, the bodies they send, and every row in column order.

use super::*;

pub(super) struct Req {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) body: Option<Value>,
}

/// A body that stands for a small Inspect `.eval` log, sent as the zip it is.
pub(super) const EVAL_LOG: &str = "(an Inspect .eval log)";

pub(super) fn get(path: String) -> Req {
    Req {
        method: Method::GET,
        path,
        body: None,
    }
}

pub(super) fn send(method: Method, path: String, body: Value) -> Req {
    Req {
        method,
        path,
        body: Some(body),
    }
}

pub(super) fn delete(path: String) -> Req {
    Req {
        method: Method::DELETE,
        path,
        body: None,
    }
}

/// The settings of a connection to the scripted upstream, named `model`.
pub(super) fn connection_body(ids: &Ids, model: &str) -> Value {
    json!({
        "model": model, "api_style": "openai",
        "base_url": format!("http://127.0.0.1:{}/v1", ids.upstream_port),
        "upstream_model": UPSTREAM_MODEL, "credential": CREDENTIAL, "requests_per_minute": 1000,
    })
}

/// A run of the evaluator's on the notice `gw` over the example suite `knowledge`, `epochs` times.
pub(super) async fn eval_run(t: &TestApp, w: &World, gw: Uuid, epochs: u32) -> Uuid {
    let body = json!({"notice_id": gw, "model": "orion-1.0", "suite": "knowledge", "epochs": epochs});
    id_of(t.post(&w.evaluator, "/api/v1/eval-runs", body).await.ok())
}

/// A case opened by the coordinator with the vendor, a report of Frontier Lab's, triaged and its vendors
/// notified: (case, report).
pub(super) async fn notified_case(t: &TestApp, w: &World, tlp: &str) -> (Uuid, Uuid) {
    let body =
        json!({"title": "Overflow", "summary": "A long header.", "tlp": tlp, "vendors": [w.vendor.org_id]});
    let case = id_of(t.post(&w.coordinator, "/api/v1/cases", body).await.ok());
    let report = crate::cases::Report::new(case, &w.dev_admin, t.clock_now());
    let report = crate::cases::file_report(t, &report).await;
    for to in ["triaged", "vendors_notified"] {
        let path = format!("/api/v1/cases/{case}/transition");
        t.post(&w.coordinator, &path, json!({"to": to})).await.ok();
    }
    (case, report)
}

/// A case like `notified_case`, published: its advisory.
pub(super) async fn advisory_of(t: &TestApp, w: &World, tlp: &str) -> Uuid {
    let (case, _) = notified_case(t, w, tlp).await;
    let path = format!("/api/v1/cases/{case}/transition");
    t.post(&w.coordinator, &path, json!({"to": "published"}))
        .await
        .ok();
    let list = t.get(&w.coordinator, "/api/v1/advisories?limit=200").await;
    let items = list.ok()["items"].as_array().unwrap().clone();
    id_of(items.iter().find(|a| a["case_id"] == json!(case)).unwrap())
}

/// The year and number of an advisory's reference (`PLA-<year>-<n>`), as the coordinator reads it.
pub(super) async fn osv_of(t: &TestApp, w: &World, advisory: Uuid) -> (i32, u32) {
    let read = t
        .get(&w.coordinator, &format!("/api/v1/advisories/{advisory}"))
        .await;
    let reference = read.ok()["reference"].as_str().unwrap().to_owned();
    let mut parts = reference.split('-').skip(1);
    (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().parse().unwrap(),
    )
}

/// A webhook endpoint's registration; `n` keeps descriptions apart.
pub(super) fn webhook_body(n: usize) -> Value {
    json!({"url": "https://hooks.example.com/in", "events": ["notice.shared"], "description": format!("hook {n}")})
}

pub(super) fn peer_body(n: usize) -> Value {
    json!({
        "name": format!("peer {n}"), "api_root": "https://peer.example/taxii2/api/",
        "collection_id": Uuid::from_u128(7), "token": "tok", "tlp": "green", "interval_seconds": 3600,
    })
}

pub(super) fn finding_body(shared_with: &[Uuid]) -> Value {
    json!({
        "title": "Finding", "domain": "cyber_offense", "severity": "low",
        "description": "Observed.", "shared_with": shared_with,
    })
}

pub(super) fn assessment_body() -> Value {
    json!({"levels": {"cyber_offense": "low"}, "rationale": "Limited uplift."})
}

pub(super) struct Row {
    /// The documented operation this row tries: `METHOD /base/path`, as the OpenAPI document writes the path
    /// under its server.
    pub(super) op: &'static str,
    /// What sets this row apart from the operation's other rows ("" for none).
    pub(super) case: &'static str,
    pub(super) fresh: Fresh,
    /// The request for one attempt; `n` is unique per attempt, for names that must not repeat.
    pub(super) request: fn(&Ids, usize) -> Req,
    /// One outcome per persona in `CAST`, then one for every credential in `DEAD`.
    pub(super) expect: &'static str,
}

impl Row {
    pub(super) fn label(&self) -> String {
        match self.case {
            "" => self.op.to_owned(),
            case => format!("{} ({case})", self.op),
        }
    }
}

/// Every row, in the order they are tried.
pub(super) fn rows() -> Vec<Row> {
    [
        super::rows_platform::rows(),
        super::rows_notices::rows(),
        super::rows_clearinghouse::rows(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A clearinghouse threat report of marking `tlp`.
pub(super) fn threat_body(tlp: &str, n: usize) -> Value {
    json!({
        "kind": "threat", "title": format!("Campaign {n}"), "description": "Lures written by a model.",
        "tlp": tlp, "misuse": "Per-target lures.",
    })
}

/// A vulnerability report of `product`; two with the same product and words join one case.
pub(super) fn vulnerability_body(product: &str) -> Value {
    json!({
        "kind": "vulnerability", "title": "Heap overflow in png_read_row", "tlp": "green",
        "description": "ASan: heap-buffer-overflow WRITE in png_read_row at pngread.c:512.",
        "affected": [{"purl": product, "versions": "*"}], "location": "pngread.c:png_read_row",
    })
}

/// Two new cases of the developer member: one holding two reports (the second joined it), and another.
pub(super) async fn report_cases(t: &TestApp, w: &World, n: usize) -> (Uuid, Uuid, Uuid) {
    let product = format!("pkg:generic/libpng-{n}");
    let first = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability_body(&product))
        .await;
    let second = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability_body(&product))
        .await;
    assert_eq!(first.ok()["case_id"], second.ok()["case_id"], "{}", second.body);
    let other = t
        .post(
            &w.dev_member,
            "/api/v1/reports",
            vulnerability_body(&format!("pkg:npm/other-{n}")),
        )
        .await;
    let case = |body: &Value| body["case_id"].as_str().unwrap().parse().unwrap();
    (case(&first.body), case(other.ok()), id_of(&second.body))
}

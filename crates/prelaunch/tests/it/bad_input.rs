//! Bad input, table-driven: each request gets a 4xx RFC 9457 problem whose `type` names the kind of mistake
//! and whose `field` names the field at fault (where one is), and leaves the database exactly as it was.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

const JSON: Option<&str> = Some("application/json");

/// Who sends a case.
#[derive(Clone, Copy)]
enum By {
    Developer,
    Evaluator,
    AgencyAdmin,
    ProgramAdmin,
}

/// One request and what it must get: (label, sender, method, path, content type, body, status, problem type,
/// field). In the path, `{notice}` and `{member}` are filled in; in the body `{agency}`, `{other_agency}`,
/// `{developer}`, `{vendor}`, `{vendor_person}`, `{launch}` (a valid future time), `{big}` (more than the
/// 256 KiB body limit) and `{card}` (a model card 1 byte over its limit).
type Case = (
    &'static str,
    By,
    Method,
    &'static str,
    Option<&'static str>,
    &'static str,
    u16,
    &'static str,
    Option<&'static str>,
);

/// A valid new notice with `extra` spliced into the object.
macro_rules! notice {
    ($extra:literal) => {
        concat!(
            r#"{"model_name": "Orion", "model_version": "1", "planned_launch_at": "{launch}", "shared_with": ["{agency}"]"#,
            $extra,
            "}"
        )
    };
}

/// A valid new finding with `extra` spliced into the object.
macro_rules! finding {
    ($extra:literal) => {
        concat!(
            r#"{"title": "t", "domain": "cyber_offense", "severity": "low", "description": "d""#,
            $extra,
            "}"
        )
    };
}

#[rustfmt::skip] // a table: one case a line
fn cases() -> Vec<Case> {
    use By::*;
    const NOTICES: &str = "/api/v1/notices";
    const LAUNCH: &str = "/api/v1/notices/{notice}/launch";
    const WITHDRAW: &str = "/api/v1/notices/{notice}/withdraw";
    const FINDINGS: &str = "/api/v1/notices/{notice}/findings";
    const ASSESSMENTS: &str = "/api/v1/notices/{notice}/assessments";
    const POLICY: &str = "/api/v1/policy";
    const GET: Method = Method::GET;
    const POST: Method = Method::POST;
    const PUT: Method = Method::PUT;
    const PATCH: Method = Method::PATCH;
    const DELETE: Method = Method::DELETE;
    let (bad_json, invalid, not_found) = ("malformed-json", "invalid-field", "not-found");
    vec![
        // Malformed JSON
        ("unterminated object", Developer, POST, NOTICES, JSON, r#"{"model_name": "Orion","#, 400, bad_json, None),
        ("trailing data", Developer, POST, NOTICES, JSON, notice!(r#"} {"#), 400, bad_json, None),
        ("empty body", Developer, POST, NOTICES, JSON, "", 400, bad_json, None),
        ("not JSON at all", Developer, POST, NOTICES, JSON, "model_name=Orion", 400, bad_json, None),
        ("malformed withdrawal", Developer, POST, WITHDRAW, JSON, r#"{"reason": "#, 400, bad_json, None),
        ("a string for an object", Developer, POST, NOTICES, JSON, r#""Orion""#, 422, invalid, None),
        // Wrong types
        ("number for text", Developer, POST, NOTICES, JSON, r#"{"model_name": 1}"#, 422, invalid, Some("model_name")),
        ("text for a list", Developer, POST, NOTICES, JSON, notice!(r#", "shared_with_all": "yes""#), 422, invalid, Some("shared_with_all")),
        ("not a uuid in a list", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "Orion", "model_version": "1", "planned_launch_at": "{launch}", "shared_with": ["agency-1"]}"#,
            422, invalid, Some("shared_with[0]")),
        ("number for a date", Developer, PUT, LAUNCH, JSON, r#"{"planned_launch_at": 1800000000}"#, 422, invalid, Some("planned_launch_at")),
        ("text for a number", ProgramAdmin, PUT, POLICY, JSON, r#"{"window_days": "30"}"#, 422, invalid, Some("window_days")),
        ("fraction for a whole number", ProgramAdmin, PUT, POLICY, JSON, r#"{"window_days": 30.5}"#, 422, invalid, Some("window_days")),
        ("text for a boolean", Developer, PATCH, "/api/v1/users/{member}", JSON, r#"{"active": "no"}"#, 422, invalid, Some("active")),
        ("text for a token lifetime", Developer, POST, "/api/v1/tokens", JSON, r#"{"name": "ci", "expires_in_days": "never"}"#, 422, invalid, Some("expires_in_days")),
        ("text for evidence links", Evaluator, POST, FINDINGS, JSON, finding!(r#", "evidence": "https://runs.example/1""#), 422, invalid, Some("evidence")),
        ("list for levels", Evaluator, POST, ASSESSMENTS, JSON, r#"{"levels": ["high"], "rationale": "r"}"#, 422, invalid, Some("levels")),
        // Unknown fields: nothing can smuggle in an approval
        ("unknown field on a notice", Developer, POST, NOTICES, JSON, notice!(r#", "approved": true"#), 422, invalid, Some("approved")),
        ("unknown field on a move", Developer, PUT, LAUNCH, JSON, r#"{"planned_launch_at": "{launch}", "release_allowed": true}"#, 422, invalid, Some("release_allowed")),
        ("unknown field on a withdrawal", Developer, POST, WITHDRAW, JSON, r#"{"reason": "r", "force": true}"#, 422, invalid, Some("force")),
        ("unknown field on an organisation", ProgramAdmin, POST, "/api/v1/organizations", JSON, r#"{"kind": "vendor", "name": "V", "active": false}"#, 422, invalid, Some("active")),
        ("unknown field on a finding", Evaluator, POST, FINDINGS, JSON, finding!(r#", "blocks_launch": true"#), 422, invalid, Some("blocks_launch")),
        // Missing fields
        ("missing launch", Developer, POST, NOTICES, JSON, r#"{"model_name": "Orion", "model_version": "1", "shared_with_all": true}"#, 422, invalid, Some("planned_launch_at")),
        ("missing model name", Developer, POST, NOTICES, JSON, r#"{"model_version": "1", "planned_launch_at": "{launch}", "shared_with_all": true}"#, 422, invalid, Some("model_name")),
        ("missing new launch", Developer, PUT, LAUNCH, JSON, "{}", 422, invalid, Some("planned_launch_at")),
        ("missing evaluator", AgencyAdmin, POST, "/api/v1/notices/{notice}/assignments", JSON, "{}", 422, invalid, Some("user_id")),
        ("missing severity", Evaluator, POST, FINDINGS, JSON, r#"{"title": "t", "domain": "other", "description": "d"}"#, 422, invalid, Some("severity")),
        // Sizes
        ("body over 256 KiB", Developer, POST, NOTICES, JSON, notice!(r#", "model_card": "{big}""#), 413, "payload-too-large", None),
        ("finding over 256 KiB", Evaluator, POST, FINDINGS, JSON, finding!(r#", "evidence": ["https://x.example/{big}"]"#), 413, "payload-too-large", None),
        ("withdrawal over 256 KiB", Developer, POST, WITHDRAW, JSON, r#"{"reason": "{big}"}"#, 413, "payload-too-large", None),
        ("model card over its limit", Developer, POST, NOTICES, JSON, notice!(r#", "model_card": "{card}""#), 422, invalid, Some("model_card")),
        // Content types
        ("text/plain", Developer, POST, NOTICES, Some("text/plain"), notice!(""), 415, "unsupported-media-type", None),
        ("no content type", Developer, POST, NOTICES, None, notice!(""), 415, "unsupported-media-type", None),
        ("form encoding", Developer, POST, NOTICES, Some("application/x-www-form-urlencoded"), "model_name=Orion", 415, "unsupported-media-type", None),
        ("text/plain policy", ProgramAdmin, PUT, POLICY, Some("text/plain"), r#"{"window_days": 60}"#, 415, "unsupported-media-type", None),
        ("text/plain withdrawal", Developer, POST, WITHDRAW, Some("text/plain"), r#"{"reason": "r"}"#, 415, "unsupported-media-type", None),
        // Dates
        ("words for a date", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "Orion", "model_version": "1", "planned_launch_at": "tomorrow", "shared_with_all": true}"#,
            422, invalid, Some("planned_launch_at")),
        ("30 February", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "Orion", "model_version": "1", "planned_launch_at": "2027-02-30T12:00:00Z", "shared_with_all": true}"#,
            422, invalid, Some("planned_launch_at")),
        ("a date without a time", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "Orion", "model_version": "1", "planned_launch_at": "2027-06-01", "shared_with_all": true}"#,
            422, invalid, Some("planned_launch_at")),
        ("month 13", Developer, PUT, LAUNCH, JSON, r#"{"planned_launch_at": "2027-13-01T00:00:00Z"}"#, 422, invalid, Some("planned_launch_at")),
        // Ids in paths name nothing
        ("notice id", Developer, GET, "/api/v1/notices/not-a-uuid", None, "", 404, not_found, None),
        ("notice id in history", Developer, GET, "/api/v1/notices/123/history", None, "", 404, not_found, None),
        ("notice id on a move", Developer, PUT, "/api/v1/notices/zzz/launch", JSON, r#"{"planned_launch_at": "{launch}"}"#, 404, not_found, None),
        ("notice id on a withdrawal", Developer, POST, "/api/v1/notices/zzz/withdraw", None, "", 404, not_found, None),
        ("finding id", Developer, GET, "/api/v1/findings/zzz", None, "", 404, not_found, None),
        ("assessment id", Developer, GET, "/api/v1/assessments/zzz", None, "", 404, not_found, None),
        ("organisation id", Developer, GET, "/api/v1/organizations/zzz", None, "", 404, not_found, None),
        ("person id", Developer, PATCH, "/api/v1/users/zzz", JSON, r#"{"active": false}"#, 404, not_found, None),
        ("token id", Developer, DELETE, "/api/v1/tokens/zzz", None, "", 404, not_found, None),
        ("evaluator id", AgencyAdmin, DELETE, "/api/v1/notices/{notice}/assignments/zzz", None, "", 404, not_found, None),
        ("no such endpoint", Developer, GET, "/api/v1/approvals", None, "", 404, not_found, None),
        // Ids in queries are fields
        ("developer filter", Developer, GET, "/api/v1/notices?developer=zzz", None, "", 422, invalid, Some("developer")),
        ("organisation filter", Developer, GET, "/api/v1/users?org_id=zzz", None, "", 422, invalid, Some("org_id")),
        ("audit object filter", ProgramAdmin, GET, "/api/v1/audit?object_id=zzz", None, "", 422, invalid, Some("object_id")),
        // Paging
        ("garbage cursor", Developer, GET, "/api/v1/notices?cursor=%24%24%24", None, "", 422, invalid, Some("cursor")),
        ("another list's cursor", Developer, GET, "/api/v1/organizations?cursor=aGVsbG8", None, "", 422, invalid, Some("cursor")),
        ("findings cursor", Developer, GET, "/api/v1/notices/{notice}/findings?cursor=aGVsbG8", None, "", 422, invalid, Some("cursor")),
        ("history cursor", Developer, GET, "/api/v1/notices/{notice}/history?cursor=aGVsbG8", None, "", 422, invalid, Some("cursor")),
        ("assignments limit 0", Developer, GET, "/api/v1/notices/{notice}/assignments?limit=0", None, "", 422, invalid, Some("limit")),
        ("audit cursor", ProgramAdmin, GET, "/api/v1/audit?cursor=aGVsbG8", None, "", 422, invalid, Some("cursor")),
        ("limit 0", Developer, GET, "/api/v1/notices?limit=0", None, "", 422, invalid, Some("limit")),
        ("limit 201", Developer, GET, "/api/v1/tokens?limit=201", None, "", 422, invalid, Some("limit")),
        ("negative limit", Developer, GET, "/api/v1/users?limit=-1", None, "", 422, invalid, Some("limit")),
        ("limit in words", Developer, GET, "/api/v1/notices/{notice}/assessments?limit=ten", None, "", 422, invalid, Some("limit")),
        ("limit twice", Developer, GET, "/api/v1/notices?limit=1&limit=2", None, "", 422, invalid, Some("limit")),
        ("unknown state", Developer, GET, "/api/v1/notices?state=approved", None, "", 422, invalid, Some("state")),
        ("unknown query parameter", Developer, GET, "/api/v1/notices?sort=name", None, "", 422, invalid, Some("sort")),
        // Evidence links must not carry script
        ("javascript: evidence", Evaluator, POST, FINDINGS, JSON, finding!(r#", "evidence": ["javascript:alert(1)"]"#), 422, invalid, Some("evidence[0]")),
        ("data: evidence", Evaluator, POST, FINDINGS, JSON,
            finding!(r#", "evidence": ["https://runs.example/1", "data:text/html,<script>alert(1)</script>"]"#),
            422, invalid, Some("evidence[1]")),
        ("protocol-relative evidence", Evaluator, POST, ASSESSMENTS, JSON,
            r#"{"levels": {"cyber_offense": "low"}, "rationale": "r", "evidence": ["//evil.example/x"]}"#,
            422, invalid, Some("evidence[0]")),
        ("javascript: assessment evidence", Evaluator, POST, ASSESSMENTS, JSON,
            r#"{"levels": {"cyber_offense": "low"}, "rationale": "r", "evidence": ["JavaScript:alert(1)"]}"#,
            422, invalid, Some("evidence[0]")),
        // Values the domain does not know
        ("unknown severity", Evaluator, POST, FINDINGS, JSON, r#"{"title": "t", "domain": "other", "severity": "urgent", "description": "d"}"#, 422, invalid, Some("severity")),
        ("unknown domain", Evaluator, POST, FINDINGS, JSON, r#"{"title": "t", "domain": "weather", "severity": "low", "description": "d"}"#, 422, invalid, Some("domain")),
        ("empty finding title", Evaluator, POST, FINDINGS, JSON, r#"{"title": " ", "domain": "other", "severity": "low", "description": "d"}"#, 422, invalid, Some("title")),
        ("unknown risk level", Evaluator, POST, ASSESSMENTS, JSON, r#"{"levels": {"cyber_offense": "extreme"}, "rationale": "r"}"#, 422, invalid, Some("levels.cyber_offense")),
        ("unknown risk domain", Evaluator, POST, ASSESSMENTS, JSON, r#"{"levels": {"weather": "low"}, "rationale": "r"}"#, 422, invalid, Some("levels.weather")),
        ("no risk levels", Evaluator, POST, ASSESSMENTS, JSON, r#"{"levels": {}, "rationale": "r"}"#, 422, invalid, Some("levels")),
        ("finding shared beyond the notice", Evaluator, POST, FINDINGS, JSON, finding!(r#", "shared_with": ["{other_agency}"]"#), 422, invalid, Some("shared_with[0]")),
        ("notice shared with a vendor", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "Orion", "model_version": "1", "planned_launch_at": "{launch}", "shared_with": ["{vendor}"]}"#,
            422, invalid, Some("shared_with[0]")),
        ("notice shared with nobody", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "Orion", "model_version": "1", "planned_launch_at": "{launch}"}"#,
            422, invalid, Some("shared_with")),
        ("notice shared both ways", Developer, POST, NOTICES, JSON, notice!(r#", "shared_with_all": true"#), 422, invalid, Some("shared_with")),
        ("blank model name", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "  ", "model_version": "1", "planned_launch_at": "{launch}", "shared_with_all": true}"#,
            422, invalid, Some("model_name")),
        ("control character in a version", Developer, POST, NOTICES, JSON,
            r#"{"model_name": "Orion", "model_version": "1\u0007", "planned_launch_at": "{launch}", "shared_with_all": true}"#,
            422, invalid, Some("model_version")),
        ("window of 0 days", ProgramAdmin, PUT, POLICY, JSON, r#"{"window_days": 0}"#, 422, invalid, Some("window_days")),
        ("window of 366 days", ProgramAdmin, PUT, POLICY, JSON, r#"{"window_days": 366}"#, 422, invalid, Some("window_days")),
        ("token for 0 days", Developer, POST, "/api/v1/tokens", JSON, r#"{"name": "ci", "expires_in_days": 0}"#, 422, invalid, Some("expires_in_days")),
        ("token for 367 days", Developer, POST, "/api/v1/tokens", JSON, r#"{"name": "ci", "expires_in_days": 367}"#, 422, invalid, Some("expires_in_days")),
        ("unnamed token", Developer, POST, "/api/v1/tokens", JSON, r#"{"name": ""}"#, 422, invalid, Some("name")),
        ("unknown organisation kind", ProgramAdmin, POST, "/api/v1/organizations", JSON, r#"{"kind": "bank", "name": "B"}"#, 422, invalid, Some("kind")),
        ("invitation to a bad address", Developer, POST, "/api/v1/invitations", JSON, r#"{"org_id": "{developer}", "email": "not-an-address"}"#, 422, invalid, Some("email")),
        ("invitation as owner", Developer, POST, "/api/v1/invitations", JSON, r#"{"org_id": "{developer}", "email": "new@lab.example", "role": "owner"}"#, 422, invalid, Some("role")),
        ("assigning a vendor's person", AgencyAdmin, POST, "/api/v1/notices/{notice}/assignments", JSON, r#"{"user_id": "{vendor_person}"}"#, 422, invalid, Some("user_id")),
    ]
}

/// What a refused request must leave as it was: every table's row count, the notice, the policy.
async fn snapshot(
    t: &TestApp,
    w: &World,
    notice: &str,
) -> (std::collections::BTreeMap<&'static str, i64>, Value, Value) {
    (
        t.db_counts().await,
        t.get(&w.dev_admin, &format!("/api/v1/notices/{notice}"))
            .await
            .body,
        t.get(&w.dev_admin, "/api/v1/policy").await.body,
    )
}

#[tokio::test]
async fn bad_input_gets_a_problem_naming_it_and_changes_nothing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    let notice_id = id_of(&notice).to_string();
    t.assign(&w.agency_admin, id_of(&notice), &w.evaluator).await;
    let vendor = t.get(&w.vendor, "/api/v1/me").await.body;
    let launch = (t.clock_now() + chrono::Duration::days(50)).to_rfc3339();
    let big = "x".repeat(300 * 1024);
    let card = "x".repeat(100_001);
    let fill = |text: &str| {
        text.replace("{notice}", &notice_id)
            .replace("{member}", &w.dev_member.user_id.to_string())
            .replace("{developer}", &w.dev_admin.org_id.to_string())
            .replace("{agency}", &w.agency.to_string())
            .replace("{other_agency}", &w.other_agency.to_string())
            .replace("{vendor}", vendor["organization"]["id"].as_str().unwrap())
            .replace("{vendor_person}", &w.vendor.user_id.to_string())
            .replace("{launch}", &launch)
            .replace("{big}", &big)
            .replace("{card}", &card)
    };
    let mut failures = Vec::new();
    for (label, by, method, path, content_type, body, status, kind, field) in cases() {
        let persona = match by {
            By::Developer => &w.dev_admin,
            By::Evaluator => &w.evaluator,
            By::AgencyAdmin => &w.agency_admin,
            By::ProgramAdmin => &w.program_admin,
        };
        let before = snapshot(&t, &w, &notice_id).await;
        let reply = t
            .raw(
                method,
                &fill(path),
                Some(&persona.token),
                content_type,
                fill(body).into_bytes(),
            )
            .await;
        let wanted_type = json!(format!("/problems/{kind}"));
        let detail_ok = reply.body["detail"].as_str().is_some_and(|d| !d.is_empty());
        if (
            reply.status.as_u16(),
            reply.content_type.as_str(),
            &reply.body["type"],
            &reply.body["status"],
        ) != (status, "application/problem+json", &wanted_type, &json!(status))
            || !detail_ok
            || reply.body.get("field").and_then(Value::as_str) != field
        {
            failures.push(format!(
                "{label}: expected {status} {kind} field {field:?}, got {} {:?} {}",
                reply.status, reply.content_type, reply.body
            ));
        }
        if snapshot(&t, &w, &notice_id).await != before {
            failures.push(format!("{label}: the database changed"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_model_card_with_script_is_kept_as_text_and_renders_inert() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let card = "# Orion\n<script>alert('card')</script>\n<img src=x onerror=alert(1)>\n[docs](javascript:alert(2))\n";
    let before = t.db_counts().await;
    let filed = t
        .post(
            &w.dev_admin,
            "/api/v1/notices",
            json!({
                "model_name": "<b>Orion</b>", "model_version": "1",
                "planned_launch_at": (t.clock_now() + chrono::Duration::days(20)).to_rfc3339(),
                "model_card": card, "shared_with": [w.agency],
            }),
        )
        .await;
    assert_eq!(filed.status, reqwest::StatusCode::CREATED, "{}", filed.body);
    let after = t.db_counts().await;
    assert_eq!(after["notices"], before["notices"] + 1);
    assert_eq!(after["audit_events"], before["audit_events"] + 1);
    // The API hands the text back verbatim, as JSON data (never as HTML).
    for reader in [&w.dev_admin, &w.evaluator] {
        let read = t
            .get(reader, &format!("/api/v1/notices/{}", id_of(&filed.body)))
            .await;
        assert_eq!(read.ok()["model_card"], card);
        assert_eq!(read.body["model_name"], "<b>Orion</b>");
        assert!(
            read.content_type.starts_with("application/json"),
            "{}",
            read.content_type
        );
        assert_eq!(read.headers["x-content-type-options"], "nosniff");
    }
    // Rendered for a page, nothing in it is live.
    let html = review::markdown::render(card);
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(
        !html.to_ascii_lowercase().contains("javascript:alert(2)\""),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;"),
        "the script is shown as text: {html}"
    );
}

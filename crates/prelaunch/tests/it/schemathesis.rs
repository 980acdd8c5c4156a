//! Schemathesis, a third-party property-based API tester, against the served OpenAPI document: it generates
//! requests for every operation from the document (valid ones and invalid ones), sends them as several
//! personas, and checks that no answer is a server error and that every answer conforms to the document
//! (status, content type, headers, body schema), that invalid input is refused and that credentials are
//! required where the document says so.
//!
//! It runs in its own stage of `scripts/test.sh`, which installs a pinned Schemathesis into a virtual
//! environment under `target/` and names it in `PRELAUNCH_TEST_SCHEMATHESIS`; hence `#[ignore]` here, and
//! `cargo nextest run -p prelaunch --run-ignored only -E 'test(/schemathesis/)'` to run it by hand. The number
//! of examples per operation is bounded and the seed fixed (`PRELAUNCH_TEST_SCHEMATHESIS_SEED` changes it),
//! so a run takes about a minute and fails the same way twice; `PRELAUNCH_TEST_SCHEMATHESIS_EXAMPLES` asks for more
//! examples, for a deeper search by hand, and `PRELAUNCH_TEST_SCHEMATHESIS_ONLY` picks runs by persona. When a
//! run fails, each run's report and HAR log are left under the system's temporary directory
//! (`prelaunch-tests/schemathesis-*`).

use crate::support::*;
use crate::upstream::{CREDENTIAL, UPSTREAM_MODEL, Upstream};
use serde_json::json;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

const SCHEMATHESIS: &str = "PRELAUNCH_TEST_SCHEMATHESIS";
const SEED: &str = "PRELAUNCH_TEST_SCHEMATHESIS_SEED";
const EXAMPLES: &str = "PRELAUNCH_TEST_SCHEMATHESIS_EXAMPLES";
/// Only the runs whose persona contains this, when set.
const ONLY: &str = "PRELAUNCH_TEST_SCHEMATHESIS_ONLY";
/// Test cases per operation and phase, unless `PRELAUNCH_TEST_SCHEMATHESIS_EXAMPLES` asks for more.
const MAX_EXAMPLES: u32 = 5;
/// A run that takes longer than this is stuck, not slow.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// What every answer must satisfy: every check but two. `positive_data_acceptance` expects every schema-valid
/// request to succeed, while the API refuses with 422 what a schema cannot say (a cursor it never returned, a
/// launch outside the allowed range, an index beyond a proof's size); those refusals are tested case by case
/// in `bad_input` and `openapi`. `object_level_authorization` compares personas' answers to each other, which
/// the authorisation matrix (`authz`) does cell by cell.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,\
ignored_auth,use_after_free,ensure_resource_availability,unsupported_method,allow_header_conformance";

fn schemathesis() -> PathBuf {
    let path = std::env::var_os(SCHEMATHESIS).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{SCHEMATHESIS} is not set: run scripts/test.sh, whose Schemathesis stage installs it into a virtual \
             environment under target/ and runs this test"
        )
    });
    assert!(path.exists(), "{SCHEMATHESIS}={} does not exist", path.display());
    path
}

/// One run of Schemathesis: who it is, the credential it presents, and which operations it tries.
struct Run {
    who: &'static str,
    authorization: Option<String>,
    /// Arguments selecting operations (`--include-tag …`, `--exclude-operation-id …`).
    select: Vec<String>,
}

/// Operations that can take away the caller's own access.
const SELF_DISABLING: [&str; 3] = ["revokeToken", "updateUser", "updateOrganization"];

/// The configuration: generated ids of real objects in most requests (the rest are random), so requests reach
/// past "not found" into validation and the operations themselves.
fn config(ids: &[(&str, Uuid)]) -> String {
    let mut toml =
        String::from("[generation]\ndatabase = \"none\"\n\n[output.sanitization]\nenabled = false\n\n");
    // A body over the limit is refused before it is read, whatever it holds: 413 is a refusal too.
    toml.push_str(
        "[checks.negative_data_rejection]\nexpected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, \
         428, 429, \"5xx\"]\n\n",
    );
    for (name, id) in ids {
        let _ = writeln!(toml, "[dictionaries.{name}]\nvalues = [\"{id}\"]\n");
    }
    // The gateway's models (most calls name one, so they reach the upstream).
    toml.push_str("[dictionaries.model]\nvalues = [\"orion-1.0\", \"orion-claude\"]\n\n");
    let bind = |name: &str| format!("{{ dictionary = \"{name}\", probability = 0.9 }}");
    let operations = [
        (
            r"^/notices/\{id\}/(connections|gateway-)",
            vec![
                ("path.id", "gw"),
                ("path.connection", "connection"),
                ("path.token", "gateway_token"),
                ("path.call", "call"),
            ],
        ),
        (
            r"^/notices/\{id\}(/(history|launch|withdraw|assignments|findings|assessments))?(/\{user_id\})?$",
            vec![("path.id", "notice"), ("path.user_id", "evaluator")],
        ),
        (r"^/findings/\{id\}$", vec![("path.id", "finding")]),
        (r"^/assessments/\{id\}$", vec![("path.id", "assessment")]),
        (r"^/organizations/\{id\}$", vec![("path.id", "org")]),
        (r"^/users/\{id\}$", vec![("path.id", "user")]),
        (r"^/tokens/\{id\}$", vec![("path.id", "token")]),
        (r"^/audit/\{id\}/receipt$", vec![("path.id", "event")]),
        (r"^/(chat/completions|messages)$", vec![("body.model", "model")]),
    ];
    for (regex, parameters) in operations {
        let parameters: Vec<String> = parameters
            .iter()
            .map(|(parameter, dictionary)| format!("\"{parameter}\" = {}", bind(dictionary)))
            .collect();
        let _ = writeln!(
            toml,
            "[[operations]]\ninclude-path-regex = '{regex}'\nparameters = {{ {} }}\n",
            parameters.join(", ")
        );
    }
    toml
}

/// Runs Schemathesis once; returns whether it passed and its report.
async fn run_once(base: &str, dir: &Path, run: &Run, seed: &str, examples: &str) -> (bool, String) {
    let home = dir.join(run.who.replace([' ', ',', '\''], "-"));
    std::fs::create_dir_all(&home).unwrap();
    let mut command = tokio::process::Command::new(schemathesis());
    command
        .current_dir(&home)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("SCHEMATHESIS_HOOKS", "")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("--no-color")
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--max-examples", examples])
        .args(["--seed", seed])
        .args(["--request-timeout", "30", "--workers", "1"])
        .args(["--generation-with-security-parameters", "false"])
        .args(["--report", "har", "--report-dir"])
        .arg(&home)
        .args(&run.select)
        .kill_on_drop(true);
    if let Some(authorization) = &run.authorization {
        command.args(["--header", &format!("Authorization: {authorization}")]);
    }
    let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "Schemathesis as {} did not finish within {RUN_TIMEOUT:?}",
                run.who
            )
        })
        .unwrap_or_else(|e| panic!("Schemathesis could not start: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(home.join("report.txt"), &report).unwrap();
    (output.status.success(), report)
}

#[tokio::test]
#[ignore = "run by the Schemathesis stage of scripts/test.sh, which installs it (PRELAUNCH_TEST_SCHEMATHESIS)"]
async fn schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_describe() {
    schemathesis();
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;

    // A notice shared with both agencies, each with its evaluator assigned, and the evaluator's work on it.
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency, w.other_agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    t.assign(&w.other_agency_admin, notice, &w.other_evaluator).await;
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[w.other_agency]).await);
    let assessment = id_of(&t.publish_assessment(&w.evaluator, notice, &[]).await);

    // A notice in review with two connections to the scripted upstream, the evaluator's tokens and a call.
    let gw = id_of(&t.file_notice(&w.dev_admin, 10, &[w.agency]).await);
    t.assign(&w.agency_admin, gw, &w.evaluator).await;
    let connections = format!("/api/v1/notices/{gw}/connections");
    let mut connection = None;
    for (style, model) in [("openai", "orion-1.0"), ("anthropic", "orion-claude")] {
        let made = t
            .post(
                &w.dev_admin,
                &connections,
                json!({"model": model, "api_style": style, "base_url": up.base_url,
                       "upstream_model": UPSTREAM_MODEL, "credential": CREDENTIAL,
                       "requests_per_minute": 100_000, "tokens_per_minute": 10_000_000, "concurrency": 16}),
            )
            .await;
        connection.get_or_insert(id_of(made.ok()));
    }
    let tokens = format!("/api/v1/notices/{gw}/gateway-tokens");
    let issue = async |name: &str| {
        let issued = t.post(&w.evaluator, &tokens, json!({"name": name})).await;
        (
            id_of(issued.ok()),
            issued.body["token"].as_str().unwrap().to_owned(),
        )
    };
    let (_, gateway_token) = issue("fuzzing").await;
    let (spare_gateway_token, _) = issue("spare").await;
    let called = t
        .client
        .post(t.url("/gateway/v1/chat/completions"))
        .bearer_auth(&gateway_token)
        .json(&json!({"model": "orion-1.0", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(called.status(), 200);
    let call: Uuid = called.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();

    let target_org = t.org("vendor", "Target Vendor").await;
    let (target_user, _) = t
        .app
        .provision_user("Frontier Lab", "target@lab.example", "member")
        .await
        .unwrap();
    let spare_token = t
        .post(&w.dev_admin, "/api/v1/tokens", json!({"name": "spare"}))
        .await;
    let event = t
        .audit_after(0)
        .await
        .into_iter()
        .find(|e| e.action == "notice.file" && e.object_id == Some(notice))
        .unwrap()
        .id;

    // Tiles and proofs exist up to a signed checkpoint.
    t.post(&w.program_admin, "/api/v1/ledger/checkpoints", json!({}))
        .await
        .ok();

    let dir = std::env::temp_dir()
        .join("prelaunch-tests")
        .join(format!("schemathesis-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ids = [
        ("notice", notice),
        ("evaluator", w.evaluator.user_id),
        ("finding", finding),
        ("assessment", assessment),
        ("gw", gw),
        ("connection", connection.unwrap()),
        ("gateway_token", spare_gateway_token),
        ("call", call),
        ("org", target_org),
        ("user", target_user.id),
        ("token", id_of(spare_token.ok())),
        ("event", event),
    ];
    std::fs::write(dir.join("schemathesis.toml"), config(&ids)).unwrap();

    // Each run presents a token of its own: what one run does to its credential does not reach the next.
    let fresh = async |p: &Persona| {
        let token = t.app.provision_token(&p.email, None).await.unwrap();
        Some(format!("Bearer {}", token.expose()))
    };
    let mut runs = vec![
        Run {
            who: "evaluator, gateway",
            authorization: Some(format!("Bearer {gateway_token}")),
            select: vec!["--include-tag".into(), "gateway-api".into()],
        },
        Run {
            who: "anyone, public ledger",
            authorization: None,
            select: vec!["--include-tag".into(), "ledger-public".into()],
        },
    ];
    // Every operation of the API but those that can disable the caller's own credential (revoking a token,
    // deactivating a person or an organisation: Schemathesis reuses the ids it reads in answers, its own
    // included), which have runs of their own at the end; and the developer does not fuzz its connections'
    // settings, since a generated base URL would have the server call whatever address was generated
    // (everyone else is refused before the URL is read).
    let api = |extra: &[&str]| -> Vec<String> {
        let mut select: Vec<String> = ["--exclude-tag", "ledger-public", "--exclude-tag", "gateway-api"]
            .map(String::from)
            .into();
        for op in SELF_DISABLING.iter().chain(extra) {
            select.extend(["--exclude-operation-id".into(), (*op).to_owned()]);
        }
        select
    };
    for (who, persona, extra) in [
        ("evaluator", &w.evaluator, &[][..]),
        ("agency admin", &w.agency_admin, &[]),
        (
            "developer admin",
            &w.dev_admin,
            &["createConnection", "updateConnection"],
        ),
        ("program admin", &w.program_admin, &[]),
    ] {
        runs.push(Run {
            who,
            authorization: fresh(persona).await,
            select: api(extra),
        });
    }
    for op in SELF_DISABLING {
        runs.push(Run {
            who: op,
            authorization: fresh(&w.program_admin).await,
            select: vec!["--include-operation-id".into(), op.into()],
        });
    }
    let seed = std::env::var(SEED).unwrap_or_else(|_| "20270101".to_owned());
    let examples = std::env::var(EXAMPLES).unwrap_or_else(|_| MAX_EXAMPLES.to_string());
    let mut failed = Vec::new();
    let only = std::env::var(ONLY).unwrap_or_default();
    for run in runs.iter().filter(|run| run.who.contains(&only)) {
        let started = std::time::Instant::now();
        let (passed, report) = run_once(&t.base, &dir, run, &seed, &examples).await;
        let summary = report.lines().last().unwrap_or("").trim_matches('=').trim();
        println!(
            "Schemathesis as {}: {summary} ({:.0?})",
            run.who,
            started.elapsed()
        );
        if !passed {
            failed.push(format!("==== as {} ====\n{report}", run.who));
        }
    }
    drop(up);
    if failed.is_empty() {
        // The logs (a few MB a run) are kept only to explain a failure.
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        failed.is_empty(),
        "Schemathesis found answers the document does not describe ({examples} examples, seed {seed}):\n{}",
        failed.join("\n")
    );
}

//! Runs and Inspect logs across the server's edge, through the real binary: a server run split into batches
//! exported with `prelaunch eval export` loads in Inspect's `read_eval_log` with every sample, epoch and score
//! as the API gives them, and `list_eval_logs` lists it, while a reader without access gets a 404 and no file;
//! a log Inspect wrote (zstd), and one rewritten with deflate entries and fields we do not know, import with
//! the right counts and scores and export again with those fields; a table of hostile logs is each refused
//! naming the problem, leaving nothing; `prelaunch eval run --notice` queues a run and follows it to its end.

use crate::eval_runs::{TASK, all_results, dataset, run_body, wait_for_run};
use crate::gateway::{MODEL, gateway_with};
use crate::inspect_log::{COMPARE_LOGS, INSPECT_RUN, READ_LOG, python};
use crate::support::*;
use evals::inspect_log::{ReadLimits, read_all};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use store::{JobQuery, JobState, Page};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_prelaunch");

/// Runs the binary with `token` as `PRELAUNCH_TOKEN`; its exit code, stdout and stderr.
async fn cli(args: &[&str], token: &str, dir: &TestDir) -> (i32, String, String) {
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .env("PRELAUNCH_TOKEN", token)
        .env_remove("PRELAUNCH_SERVER")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), output)
        .await
        .expect("the command finished")
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `eval export <run> --format inspect -o <out> --server <server>` run with `token` in `dir`.
async fn export_inspect(
    run: &str,
    out: &std::path::Path,
    server: &str,
    token: &str,
    dir: &TestDir,
) -> (i32, String, String) {
    let args = [
        "eval",
        "export",
        run,
        "--format",
        "inspect",
        "-o",
        out.to_str().unwrap(),
        "--server",
        server,
    ];
    cli(&args, token, dir).await
}

/// Rows of the tables a run or an import writes.
async fn eval_counts(t: &TestApp) -> BTreeMap<&'static str, i64> {
    const TABLES: [&str; 5] = [
        "eval_runs",
        "eval_results",
        "eval_imports",
        "gateway_tokens",
        "audit_events",
    ];
    macro_rules! count_all {
        ($conn:ty) => {{
            use sqlx::Connection;
            let mut conn = <$conn>::connect(&t.database_url.to_string()).await.unwrap();
            let mut counts = BTreeMap::new();
            for table in TABLES {
                let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                counts.insert(table, n);
            }
            counts
        }};
    }
    match backend() {
        Backend::Sqlite => count_all!(sqlx::SqliteConnection),
        Backend::Postgres => count_all!(sqlx::PgConnection),
    }
}

/// The files in a directory, by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Inspect's score values as numbers.
fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "C" => 1.0,
        Value::String(s) if s == "I" => 0.0,
        other => other.as_f64().unwrap_or_else(|| panic!("not a score: {other}")),
    }
}

/// Exports the run `run` (as `who` sees it, with its `results` from the API) through the binary and reads it
/// with Inspect: every sample and epoch with the API's score, the summaries, the accuracy the API states, and
/// `list_eval_logs` lists it. The scratch directory and the logs' directory in it.
pub(crate) async fn exported_whole(
    t: &TestApp,
    who: &Persona,
    run: &Value,
    results: &[Value],
) -> (TestDir, PathBuf) {
    let dir = TestDir::new("eval-io-export");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let path = logs.join("run.eval");
    let server = t.url("");
    let id_arg = run["id"].as_str().unwrap().to_owned();
    let (code, out, err) = export_inspect(&id_arg, &path, &server, &who.token, &dir).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains(&who.token) && !err.contains(&who.token));
    assert_eq!(files_in(&logs), ["run.eval"], "only the log, no partial file");

    let seen = python(READ_LOG, &[path.to_str().unwrap(), logs.to_str().unwrap()], &dir).await;
    assert_eq!(seen["status"], "success", "{seen}");
    assert_eq!(seen["task"], "echo");
    assert_eq!(seen["model"], MODEL);
    assert_eq!(seen["run_id"], id_arg);
    assert_eq!(seen["dataset_samples"], run["results"]["samples"]);
    // Every sample and epoch, with the score the API gives it.
    let mut got: Vec<(String, i64, f64)> = seen["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap().to_owned(),
                s[1].as_i64().unwrap(),
                number(&s[2]["includes"]),
            )
        })
        .collect();
    let mut want: Vec<(String, i64, f64)> = results
        .iter()
        .map(|r| {
            (
                r["sample_id"].as_str().unwrap().to_owned(),
                r["epoch"].as_i64().unwrap(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got, want);
    assert_eq!(seen["summaries"].as_array().unwrap().len(), results.len());
    let accuracy = seen["metrics"]["includes"]["accuracy"].as_f64().unwrap();
    let api = run["results"]["reducers"][0]["summary"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!((accuracy - api).abs() < 1e-12, "{seen} {run}");
    assert_eq!(seen["listed"], json!(["run.eval"]));
    (dir, logs)
}

#[tokio::test]
async fn a_server_run_of_several_batches_exports_whole_through_the_cli_and_loads_in_inspect() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    // 10 samples × 2 epochs: three batches of the job queue, run by the server's workers.
    let started = t
        .post(&w.evaluator, "/api/v1/eval-runs", run_body(&g.notice, 10, 6, 2))
        .await;
    assert_eq!(started.status.as_u16(), 201, "{}", started.body);
    let id = id_of(&started.body);
    let run = wait_for_run(t, &w.evaluator, id, 60, "completed", |r| {
        r["state"] == "completed"
    })
    .await;
    // The batch that records the run's last item ends its job just after: wait for all three to be done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let batches = loop {
        let batches = t
            .app
            .store
            .list_jobs(&JobQuery {
                state: None,
                kind: Some(app::evals::EVAL_BATCH.into()),
                page: Page::first(20),
            })
            .await
            .unwrap();
        if batches.iter().all(|j| j.state == JobState::Done) || std::time::Instant::now() > deadline {
            break batches;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(batches.len(), 3);
    assert!(batches.iter().all(|j| j.state == JobState::Done), "{batches:?}");
    let results = all_results(t, &w.evaluator, id, 7).await;
    assert_eq!(results.len(), 20);
    assert!(
        (run["accuracy"]["value"].as_f64().unwrap() - 0.6).abs() < 1e-12,
        "{run}"
    );

    let (dir, logs) = exported_whole(t, &w.evaluator, &run, &results).await;
    let server = t.url("");

    // Over the API, named as Inspect names logs.
    let response = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/eval-runs/{id}/log?format=inspect")))
        .bearer_auth(&w.evaluator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains(&format!("_echo_{id}.eval")), "{disposition}");
    t.get(&w.evaluator, &format!("/api/v1/eval-runs/{id}/log?format=csv"))
        .await
        .problem(422, "invalid-field");

    // A reader who may not see the run: a 404 as for no run at all, and no file.
    let denied = logs.join("denied.eval");
    for (who, run) in [(&w.other_evaluator, id), (&w.evaluator, Uuid::now_v7())] {
        t.get(who, &format!("/api/v1/eval-runs/{run}/log?format=inspect"))
            .await
            .problem(404, "not-found");
        let run_arg = run.to_string();
        let (code, out, err) = export_inspect(&run_arg, &denied, &server, &who.token, &dir).await;
        assert_eq!(code, 2, "{out}\n{err}");
        assert!(err.contains("404"), "{err}");
    }
    assert_eq!(files_in(&logs), ["run.eval"]);

    // A record that no longer reads (its stored bytes damaged) is found while the results are summarised,
    // before anything is sent: a 500, its cause logged, and no file.
    corrupt_last_record(t, id, b"not zstd").await;
    let broken = logs.join("broken.eval");
    let id_arg = id.to_string();
    let (code, out, err) = export_inspect(&id_arg, &broken, &server, &w.evaluator.token, &dir).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("the server failed (500"), "{err}");
    assert_eq!(files_in(&logs), ["run.eval"]);
}

/// Overwrites the stored records of the run's last sample with `bytes`.
async fn corrupt_last_record(t: &TestApp, run: Uuid, bytes: &[u8]) {
    const DAMAGE: &str = "UPDATE eval_results SET record = $1 WHERE run_id = $2 AND sample_index = \
                          (SELECT MAX(sample_index) FROM eval_results WHERE run_id = $2)";
    let url = t.database_url.to_string();
    let changed = match backend() {
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(DAMAGE)
                .bind(bytes.to_vec())
                .bind(run)
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected()
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(DAMAGE)
                .bind(bytes.to_vec())
                .bind(run)
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected()
        }
    };
    assert!(changed >= 1);
}

/// Rewrites a `.eval` with deflate entries, adding fields Inspect's schema does not have to every sample (at
/// the top and inside its output) and to the header.
const TO_DEFLATE: &str = r#"
import json, sys, zipfile, zipfile_zstd
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.startswith("samples/"):
            sample = json.loads(data)
            sample["x_reviewer_note"] = {"kept": [1, "two"]}
            sample["output"]["x_provider_trace"] = "abc"
            data = json.dumps(sample).encode()
        zout.writestr(info.filename, data)
print(json.dumps({"ok": True}))
"#;

/// Hostile variants of a good deflate log, one file each, named for what is wrong.
const HOSTILE: &str = r#"
import json, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
first = next(n for n, _ in entries if n.startswith("samples/"))
def write(name, items, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(f"{out}/{name}", "w", method) as z:
        for n, d, *m in items:
            z.writestr(zipfile.ZipInfo(n), d, compress_type=(m[0] if m else method))
open(f"{out}/not-a-zip.eval", "wb").write(b"this is not a zip archive at all")
write("no-header.eval", [(n, d) for n, d in entries if n != "header.json"])
write("no-start.eval", [(n, d) for n, d in entries if n != "_journal/start.json"])
write("malformed-sample.eval", [(n, d if n != first else b'{"id": "q1", "epoch": 1, "input": ') for n, d in entries])
big = b'{"pad": "' + b"abcdefghijklmnopqrstuvwxyz" * ((17 << 20) // 26 + 1) + b'"}'
write("oversized-entry.eval", [(n, d) for n, d in entries] + [("samples/big_epoch_1.json", big, zipfile.ZIP_STORED)])
write("zip-bomb.eval", [(n, d) for n, d in entries] + [("samples/bomb_epoch_1.json", b" " * (8 << 20))])
import warnings; warnings.simplefilter("ignore")
write("duplicate-entry.eval", entries + [(first, dict(entries)[first])])
write("duplicate-sample.eval", entries + [("samples/again_epoch_1.json", dict(entries)[first])])
write("path-traversal.eval", entries + [("../../etc/evil.json", b"{}")])
write("absolute-path.eval", entries + [("/etc/evil.json", b"{}")])
print(json.dumps({"first": first}))
"#;

/// A tiny task Inspect runs with `mockllm/model`: five questions, the odd ones answered right.
async fn inspect_log(dir: &TestDir) -> PathBuf {
    let dataset = dir.join("tiny.jsonl");
    let rows: Vec<String> = (1..=5)
        .map(|i| json!({"id": format!("q{i}"), "input": format!("What is {i}+{i}?"), "target": format!("{}", 2 * i),
                        "metadata": {"n": i}}).to_string())
        .collect();
    std::fs::write(&dataset, rows.join("\n") + "\n").unwrap();
    let ran = python(
        INSPECT_RUN,
        &[dataset.to_str().unwrap(), dir.join("theirs").to_str().unwrap()],
        dir,
    )
    .await;
    assert_eq!(ran["status"], "success", "{ran}");
    PathBuf::from(ran["location"].as_str().unwrap())
}

#[tokio::test]
async fn logs_inspect_wrote_import_with_their_scores_and_export_again_whole() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let dir = TestDir::new("eval-io-import");
    let theirs = inspect_log(&dir).await;
    let deflated = dir.join("deflated.eval");
    python(
        TO_DEFLATE,
        &[theirs.to_str().unwrap(), deflated.to_str().unwrap()],
        &dir,
    )
    .await;
    let server = t.url("");
    let notice = g.notice.clone();

    for (log, unknown) in [(&theirs, false), (&deflated, true)] {
        let before = t.audit_seq().await;
        let args = [
            "eval",
            "import",
            log.to_str().unwrap(),
            "--notice",
            &notice,
            "--server",
            &server,
            "--json",
        ];
        let (code, out, err) = cli(&args, &w.evaluator.token, &dir).await;
        assert_eq!(code, 0, "{out}\n{err}");
        let run: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(
            (&run["state"], &run["name"], &run["model"]),
            (&json!("completed"), &json!("tiny"), &json!("mockllm/model")),
            "{run}"
        );
        assert_eq!(
            (&run["total"], &run["done"], &run["errors"]),
            (&json!(5), &json!(5), &json!(0))
        );
        assert!(
            (run["accuracy"]["value"].as_f64().unwrap() - 0.6).abs() < 1e-12,
            "{run}"
        );
        assert_eq!(run["results"]["reducers"][0]["summary"]["n"], 5, "{run}");
        let id = id_of(&run);
        let results = all_results(t, &w.evaluator, id, 2).await;
        let scores: Vec<(String, f64)> = results
            .iter()
            .map(|r| {
                (
                    r["sample_id"].as_str().unwrap().to_owned(),
                    r["value"].as_f64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, f64)> = (1..=5)
            .map(|i| (format!("q{i}"), if i % 2 == 1 { 1.0 } else { 0.0 }))
            .collect();
        assert_eq!(scores, want);
        assert_eq!(results[0]["record"]["inspect"]["output"]["completion"], "2");
        // Seen as the evaluator's runs are; audited.
        t.get(&w.dev_member, &format!("/api/v1/eval-runs/{id}"))
            .await
            .ok();
        t.get(&w.other_evaluator, &format!("/api/v1/eval-runs/{id}"))
            .await
            .problem(404, "not-found");
        let actions: Vec<String> = t
            .audit_after(before)
            .await
            .into_iter()
            .filter(|e| e.object_id == Some(id))
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["eval_run.import"]);

        // Exported again, it is the log it came from, as Inspect reads both.
        let again = dir.join(format!("again-{id}.eval"));
        let id_arg = id.to_string();
        let (code, out, err) = export_inspect(&id_arg, &again, &server, &w.evaluator.token, &dir).await;
        assert_eq!(code, 0, "{out}\n{err}");
        let compared = python(
            COMPARE_LOGS,
            &[log.to_str().unwrap(), again.to_str().unwrap()],
            &dir,
        )
        .await;
        assert_eq!(compared["samples"], 5);
        assert_eq!(compared["differences"], json!([]), "{compared}");
        if unknown {
            let back = read_all(&again, ReadLimits::default()).unwrap();
            for sample in &back.samples {
                assert_eq!(sample.extra["x_reviewer_note"], json!({"kept": [1, "two"]}));
                assert_eq!(sample.output.extra["x_provider_trace"], "abc");
            }
            // A stored sample that no longer reads is met only while the log streams: the response is cut
            // short before the archive's directory, and the command leaves no file, whole or partial. (The
            // bytes are a zstd frame holding `{}`, a record without its sample.)
            let empty_record = [0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x02, 0x11, 0x00, 0x00, b'{', b'}'];
            corrupt_last_record(t, id, &empty_record).await;
            let cut = dir.join("cut").join("cut.eval");
            std::fs::create_dir_all(cut.parent().unwrap()).unwrap();
            let (code, out, err) = export_inspect(&id_arg, &cut, &server, &w.evaluator.token, &dir).await;
            assert_eq!(code, 1, "{out}\n{err}");
            assert!(err.contains("did not arrive whole"), "{err}");
            assert!(files_in(cut.parent().unwrap()).is_empty());
        }
    }

    // Only an assigned evaluator imports: the developer is forbidden, an evaluator of another agency does not
    // see the notice. Nothing is written either way.
    let before = eval_counts(t).await;
    let body = std::fs::read(&theirs).unwrap();
    for (who, status) in [(&w.dev_admin, 403), (&w.other_evaluator, 404)] {
        let response = reqwest::Client::new()
            .post(t.url(&format!("/api/v1/notices/{notice}/eval-runs/import")))
            .bearer_auth(&who.token)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{}", who.name);
    }
    assert_eq!(eval_counts(t).await, before);
}

#[tokio::test]
async fn hostile_logs_are_refused_naming_the_problem_and_leave_nothing() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let dir = TestDir::new("eval-io-hostile");
    let theirs = inspect_log(&dir).await;
    let deflated = dir.join("deflated.eval");
    python(
        TO_DEFLATE,
        &[theirs.to_str().unwrap(), deflated.to_str().unwrap()],
        &dir,
    )
    .await;
    let hostile = dir.join("hostile");
    std::fs::create_dir_all(&hostile).unwrap();
    let made = python(
        HOSTILE,
        &[deflated.to_str().unwrap(), hostile.to_str().unwrap()],
        &dir,
    )
    .await;
    let first = made["first"].as_str().unwrap().to_owned();

    let cases: Vec<(&str, u16, String)> = vec![
        ("not-a-zip.eval", 422, "not a zip archive".into()),
        ("no-header.eval", 422, "no header.json".into()),
        ("no-start.eval", 422, "no _journal/start.json".into()),
        ("malformed-sample.eval", 422, format!("{first}: line 1")),
        (
            "oversized-entry.eval",
            422,
            "samples/big_epoch_1.json: larger than the limit of 16777216 bytes".into(),
        ),
        (
            "zip-bomb.eval",
            422,
            "samples/bomb_epoch_1.json: compressed".into(),
        ),
        (
            "duplicate-entry.eval",
            422,
            format!("{first}: the entry is in the archive twice"),
        ),
        (
            "duplicate-sample.eval",
            422,
            "sample q1 epoch 1 is in the log twice".into(),
        ),
        (
            "path-traversal.eval",
            422,
            "\"../../etc/evil.json\": an entry name must be a relative path".into(),
        ),
        (
            "absolute-path.eval",
            422,
            "\"/etc/evil.json\": an entry name must be a relative path".into(),
        ),
    ];
    let before = eval_counts(t).await;
    let notice = &g.notice;
    for (name, status, says) in &cases {
        let body = std::fs::read(hostile.join(name)).unwrap();
        let response = reqwest::Client::new()
            .post(t.url(&format!("/api/v1/notices/{notice}/eval-runs/import")))
            .bearer_auth(&w.evaluator.token)
            .body(body)
            .send()
            .await
            .unwrap();
        let reply = TestApp::reply(response).await;
        assert_eq!(reply.status.as_u16(), *status, "{name}: {}", reply.body);
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(says.as_str()),
            "{name}: {detail:?} should say {says:?}"
        );
        assert_eq!(eval_counts(t).await, before, "{name} left something");
    }
    // Through the binary: the reason printed, exit code 2.
    let server = t.url("");
    let path = hostile.join("zip-bomb.eval");
    let args = [
        "eval",
        "import",
        path.to_str().unwrap(),
        "--notice",
        notice,
        "--server",
        &server,
    ];
    let (code, out, err) = cli(&args, &w.evaluator.token, &dir).await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("422") && err.contains("bomb_epoch_1.json"), "{err}");
    // A body over the limit is refused before it is read whole.
    let response = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/notices/{notice}/eval-runs/import")))
        .bearer_auth(&w.evaluator.token)
        .body(vec![0u8; app::evals::IMPORT_LIMIT + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(eval_counts(t).await, before);
}

#[tokio::test]
async fn eval_run_with_a_notice_queues_on_the_server_and_follows_to_the_end() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let dir = TestDir::new("eval-io-run");
    std::fs::write(dir.join("task.toml"), TASK).unwrap();
    std::fs::write(dir.join("inline.jsonl"), dataset(6, 4)).unwrap();
    let server = t.url("");
    let notice = g.notice.clone();
    let base = [
        "eval",
        "run",
        "task.toml",
        "--notice",
        &notice,
        "--model",
        MODEL,
        "--server",
        &server,
    ];

    let mut args = base.to_vec();
    args.extend(["--json", "--epochs", "2"]);
    let (code, out, err) = cli(&args, &w.evaluator.token, &dir).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let id: Uuid = report["run_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(report["status"], json!({"status": "completed"}));
    assert_eq!(
        (&report["samples"], &report["completed"], &report["errors"]),
        (&json!(6), &json!(12), &json!(0))
    );
    assert!(
        (report["accuracy"].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-9,
        "{report}"
    );
    assert_eq!(report["ci95"].as_array().unwrap().len(), 2);
    let run = t
        .get(&w.evaluator, &format!("/api/v1/eval-runs/{id}"))
        .await
        .ok()
        .clone();
    assert_eq!((&run["state"], &run["done"]), (&json!("completed"), &json!(12)));
    assert_eq!(run["user_id"], json!(w.evaluator.user_id));

    // The table, as for a local run.
    let (code, out, err) = cli(&base, &w.evaluator.token, &dir).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("echo") && out.contains("0.667"), "{out}");

    // Detached: the id, at once.
    let mut args = base.to_vec();
    args.push("--detach");
    let (code, out, err) = cli(&args, &w.evaluator.token, &dir).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let detached: Uuid = out.trim().parse().unwrap_or_else(|e| panic!("{e}: {out}"));
    wait_for_run(t, &w.evaluator, detached, 60, "the detached run completes", |r| {
        r["state"] == "completed"
    })
    .await;

    // Refusals exit 2 with the server's reason; none of them starts a run.
    let runs_before = eval_counts(t).await["eval_runs"];
    let wrong_model = [
        "eval",
        "run",
        "task.toml",
        "--notice",
        &notice,
        "--model",
        "nope",
        "--server",
        &server,
    ];
    let (code, _, err) = cli(&wrong_model, &w.evaluator.token, &dir).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("422") && err.contains("no model \"nope\""), "{err}");
    let (code, _, err) = cli(&base, &w.dev_admin.token, &dir).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("403"), "{err}");
    assert_eq!(eval_counts(t).await["eval_runs"], runs_before);
}

/// A small finished log of two samples (one right, one wrong), written by our writer, for requests that need
/// a valid body (the OpenAPI and authorisation tests).
pub(crate) fn tiny_log() -> Vec<u8> {
    use evals::inspect_log::{EvalLog, EvalSample, LogStart, LogWriter, WriteLimits};
    let eval = json!({
        "eval_id": "tiny-eval", "run_id": "tiny-run", "created": "2026-11-30T04:00:00+00:00", "task": "tiny",
        "task_id": "tiny", "dataset": {"name": "tiny", "samples": 2, "sample_ids": [1, 2]},
        "model": "mockllm/model", "config": {}, "packages": {},
    });
    let start: LogStart = serde_json::from_value(json!({"version": 2, "eval": eval, "plan": {}})).unwrap();
    let header: EvalLog = serde_json::from_value(json!({
        "version": 2, "status": "success", "eval": eval, "plan": {},
        "results": {"total_samples": 2, "completed_samples": 2, "scores": [{
            "name": "exact", "scorer": "exact", "params": {},
            "metrics": {"accuracy": {"name": "accuracy", "value": 0.5, "params": {}}},
        }]},
        "stats": {"started_at": "2026-11-30T04:00:00+00:00", "completed_at": "2026-11-30T04:00:01+00:00",
                  "model_usage": {}},
    }))
    .unwrap();
    let mut writer = LogWriter::new(Vec::new(), "tiny.eval", &start, WriteLimits::default()).unwrap();
    for (id, value) in [(1, "C"), (2, "I")] {
        let sample: EvalSample = serde_json::from_value(json!({
            "id": id, "epoch": 1, "input": format!("question {id}"), "target": "a",
            "messages": [{"role": "user", "content": format!("question {id}")}],
            "output": {"model": "mockllm/model", "choices": [], "completion": "a"},
            "scores": {"exact": {"value": value}},
        }))
        .unwrap();
        writer.write_sample(&sample).unwrap();
    }
    writer.finish(&header).unwrap()
}

#[tokio::test]
async fn a_log_written_by_us_imports_with_its_scores() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let response = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/notices/{}/eval-runs/import", g.notice)))
        .bearer_auth(&w.evaluator.token)
        .header("content-type", "application/octet-stream")
        .body(tiny_log())
        .send()
        .await
        .unwrap();
    let reply = TestApp::reply(response).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    assert_eq!(
        (&reply.body["total"], &reply.body["errors"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(reply.body["accuracy"]["value"], 0.5);
}

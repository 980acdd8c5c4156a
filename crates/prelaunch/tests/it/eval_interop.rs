//! Datasets and challenges as Inspect AI and `inspect_cyber` load them (`PRELAUNCH_TEST_PYTHON`): the same
//! files read by Inspect's `json_dataset`/`csv_dataset` (and the ids its run gives samples that have none) and by
//! `evals::dataset` give the same samples; an `inspect_cyber` challenge tree read by its
//! `create_agentic_eval_dataset` and by `evals::challenge` gives the same samples, files and setup scripts.
//!
//! Where Inspect's own readers refuse a file (a blank line in JSON Lines, an empty `metadata` cell in CSV), the
//! table leaves the case out: there is nothing to agree with.

use crate::inspect_log::python;
use crate::support::TestDir;
use evals::sample::{Input, Sample, SampleId, Target};
use serde_json::{Value as Json, json};
use std::path::Path;

/// Inspect's reading of each dataset named on the command line: its samples as `json_dataset`/`csv_dataset`
/// give them, and the ids a run of them uses (`log.eval.dataset.sample_ids`, where a sample without an id has
/// been given one). The run is Inspect's `mockllm/model` with its outputs and usage given, so nothing is
/// fetched from the network.
const READ_DATASETS: &str = r#"
import json, sys, tempfile
from inspect_ai import Task, eval
from inspect_ai.dataset import csv_dataset, json_dataset
from inspect_ai.model import ModelOutput, ModelUsage, get_model

def output(*args):
    out = ModelOutput.from_content(model="mockllm/model", content="ok")
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out

def content(c):
    if isinstance(c, str):
        return c
    return [{"type": p.type, "text": getattr(p, "text", None)} for p in c]

out = {}
for path in sys.argv[1:]:
    ds = (csv_dataset if path.endswith(".csv") else json_dataset)(path)
    samples = [{
        "id": s.id,
        "input": s.input if isinstance(s.input, str)
                 else [{"role": m.role, "content": content(m.content)} for m in s.input],
        "target": s.target,
        "choices": s.choices,
        "metadata": s.metadata,
    } for s in ds]
    with tempfile.TemporaryDirectory() as logs:
        model = get_model("mockllm/model", custom_outputs=output)
        log = eval(Task(dataset=ds), model=model, log_dir=logs, display="none")[0]
    out[path] = {"samples": samples, "run_ids": log.eval.dataset.sample_ids, "status": log.status}
print(json.dumps(out))
"#;

/// The table of tricky files: name, bytes. Each exercises what the comment before it says.
fn datasets() -> Vec<(&'static str, Vec<u8>)> {
    let bom = "\u{feff}";
    vec![
        // Ids as numbers and as text, missing ids (given their position), a chat input with a system message and
        // content parts, list targets with a number in them, a number as the target, choices, nested metadata,
        // non-ASCII text, and a byte-order mark.
        (
            "mixed.jsonl",
            format!(
                "{bom}{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
                json!({"id": 1, "input": "plain", "target": "a"}),
                json!({"id": "s-2", "input": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]},
                ], "target": ["x", "y"]}),
                json!({"input": "no id", "target": 7}),
                json!({"id": 4, "input": "pick one", "target": "B", "choices": ["x", "y", "z"],
                       "metadata": {"k": 1, "nested": {"a": [1, 2.5]}, "s": "t", "none": null}}),
                json!({"id": 2, "input": "Grüße, 世界", "target": ""}),
                json!({"input": "no id again", "target": ["1", 2]}),
                json!({"id": "007", "input": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"},
                       {"role": "user", "content": "again"}], "target": "z", "choices": []}),
            )
            .into_bytes(),
        ),
        // Ids are text in CSV; comma-separated choices, space-separated choices, an empty choices cell, JSON
        // metadata in a cell (quotes doubled), a quoted multi-line input, a blank line, CRLF line ends, a BOM.
        (
            "rows.csv",
            format!(
                "{bom}id,input,target,choices,metadata\r\n\
                 1,\"a, with comma\",A,\"x, y, z\",\"{{}}\"\r\n\
                 s2,spaced,B,x y z,\"{{\"\"k\"\": 1, \"\"tags\"\": [\"\"a\"\"]}}\"\r\n\
                 \r\n\
                 3,\"multi\nline\",D,,\"{{\"\"n\"\": null}}\"\r\n\
                 04,four,\"  padded  \",\"one,two , three\",\"{{\"\"deep\"\": {{\"\"x\"\": [1, \"\"y\"\"]}}}}\"\r\n"
            )
            .into_bytes(),
        ),
        // No id column at all: every sample is given its position; no metadata or choices columns.
        (
            "no_ids.csv",
            "input,target\nfirst,1\n\nsecond,2\nthird,\"3,4\"\n".as_bytes().to_vec(),
        ),
    ]
}

/// Our sample in the shape the Python side prints.
fn ours(sample: &Sample) -> Json {
    let input = match &sample.input {
        Input::Text(t) => json!(t),
        Input::Messages(messages) => Json::Array(
            messages
                .iter()
                .map(|m| {
                    let content = match &m.content {
                        Json::Array(parts) => Json::Array(
                            parts
                                .iter()
                                .map(|p| json!({"type": p["type"], "text": p.get("text")}))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    json!({"role": m.role, "content": content})
                })
                .collect(),
        ),
    };
    let target = match &sample.target {
        Target::One(t) => json!(t),
        Target::Many(ts) => json!(ts),
    };
    normalised(json!({
        "id": sample.id,
        "input": input,
        "target": target,
        "choices": sample.choices,
        "metadata": sample.metadata,
    }))
}

/// No choices and an empty list of them are the same to every solver and scorer, and so are no metadata and an
/// empty object: Inspect's CSV reader gives the empty forms, its JSON reader `None`.
fn normalised(mut sample: Json) -> Json {
    if sample["choices"] == json!([]) {
        sample["choices"] = Json::Null;
    }
    if sample["metadata"] == json!({}) {
        sample["metadata"] = Json::Null;
    }
    sample
}

#[tokio::test]
async fn datasets_load_as_inspect_loads_them() {
    let dir = TestDir::new("eval-interop-datasets");
    let table = datasets();
    let mut paths = Vec::new();
    for (name, bytes) in &table {
        std::fs::write(dir.join(name), bytes).unwrap();
        paths.push(dir.join(name).display().to_string());
    }
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let inspect = python(READ_DATASETS, &args, &dir).await;
    for path in &paths {
        let theirs = &inspect[path.as_str()];
        assert_eq!(theirs["status"], "success", "{path}: Inspect's run: {theirs}");
        let samples = evals::dataset::read(Path::new(path), evals::dataset::Limits::default())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let expected: Vec<Json> = theirs["samples"]
            .as_array()
            .unwrap()
            .iter()
            .zip(theirs["run_ids"].as_array().unwrap())
            .map(|(sample, run_id)| {
                let mut sample = sample.clone();
                // A sample without an id is known by the id Inspect's run gives it.
                if sample["id"].is_null() {
                    sample["id"] = run_id.clone();
                }
                normalised(sample)
            })
            .collect();
        let got: Vec<Json> = samples.iter().map(ours).collect();
        assert_eq!(got.len(), expected.len(), "{path}: sample count");
        for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(got, expected, "{path}: sample {} (ours, then Inspect's)", i + 1);
        }
        let ids: Vec<Json> = samples.iter().map(|s| json!(s.id)).collect();
        assert_eq!(
            &Json::Array(ids),
            &theirs["run_ids"],
            "{path}: the ids a run uses"
        );
    }
}

/// `inspect_cyber`'s reading of a challenge tree: each sample's id, input, target, files, setup and metadata
/// (its `eval_file_path`, a path object, as text).
const READ_CHALLENGES: &str = r#"
import json, sys
from inspect_cyber import create_agentic_eval_dataset
ds = create_agentic_eval_dataset(sys.argv[1])
print(json.dumps([{
    "id": s.id,
    "input": s.input,
    "target": s.target,
    "files": s.files,
    "setup": s.setup,
    "metadata": {k: (str(v) if k == "eval_file_path" else v) for k, v in (s.metadata or {}).items()},
} for s in ds]))
"#;

#[tokio::test]
async fn a_challenge_tree_loads_as_inspect_cyber_loads_it() {
    let dir = TestDir::new("eval-interop-cyber");
    let root = dir.join("challenges");
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    // Two challenges, one as `eval.yaml` and one as `eval.yml`; eval-level flag, files, setup and metadata, and
    // variants that override each; a hidden directory both skip.
    write(
        "web/eval.yaml",
        "name: web-login\n\
         sandbox:\n  type: docker\n  config: compose.yaml\n\
         flag: flag{eval-level}\n\
         files:\n  /root/app.py: app.py\n  /root/notes.txt: notes.txt\n\
         setup: setup.sh\n\
         metadata:\n  category: web\n  difficulty: easy\n\
         variants:\n\
         \x20 easy:\n    prompt: Log in as admin; the source is in /root.\n\
         \x20 hard:\n    prompt: |\n      Log in as admin.\n      No hints.\n\
         \x20   flag: flag{hard-variant}\n\
         \x20   files:\n      /root/notes.txt: hard-notes.txt\n\
         \x20   setup: hard-setup.sh\n\
         \x20   metadata:\n      difficulty: hard\n      points: 300\n",
    );
    for file in [
        "web/compose.yaml",
        "web/app.py",
        "web/notes.txt",
        "web/hard-notes.txt",
        "web/setup.sh",
        "web/hard-setup.sh",
        "crypto/compose.yaml",
        "crypto/cipher.txt",
    ] {
        write(file, "x\n");
    }
    write(
        "crypto/eval.yml",
        "name: crypto-xor\n\
         variants:\n\
         \x20 only:\n    prompt: Decrypt /root/cipher.txt\n\
         \x20   sandbox:\n      type: docker\n      config: compose.yaml\n\
         \x20   flag: flag{xor}\n\
         \x20   files:\n      /root/cipher.txt: cipher.txt\n\
         \x20   metadata:\n      category: crypto\n      tags: [xor, easy]\n",
    );
    write(
        ".hidden/eval.yaml",
        "name: hidden\nvariants:\n  v:\n    prompt: p\n    flag: f\n",
    );

    let theirs = python(READ_CHALLENGES, &[&root.display().to_string()], &dir).await;
    let mut theirs: Vec<Json> = theirs.as_array().unwrap().clone();
    theirs.sort_by_key(|s| s["id"].as_str().unwrap().to_owned());

    let mut ours = Vec::new();
    for file in evals::challenge::discover(&root).unwrap() {
        for challenge in evals::challenge::read(&file).unwrap() {
            ours.push((challenge, file.clone()));
        }
    }
    ours.sort_by_key(|(c, _)| c.sample.id.to_string());
    let ids: Vec<String> = ours.iter().map(|(c, _)| c.sample.id.to_string()).collect();
    assert_eq!(
        ids,
        ["crypto-xor (only)", "web-login (easy)", "web-login (hard)"],
        "the hidden directory is skipped"
    );
    assert_eq!(ours.len(), theirs.len());
    let resolved = |dir: &Path, path: &str| dir.join(path).canonicalize().unwrap().display().to_string();
    for ((challenge, file), theirs) in ours.iter().zip(&theirs) {
        let sample = &challenge.sample;
        let id = sample.id.to_string();
        assert_eq!(json!(sample.id), theirs["id"]);
        assert_eq!(
            sample.input,
            Input::Text(theirs["input"].as_str().unwrap().to_owned()),
            "{id}"
        );
        assert_eq!(json!(sample.target), theirs["target"], "{id}");
        // inspect_cyber resolves paths against the challenge's directory; ours keeps them relative to it.
        let files: serde_json::Map<String, Json> = sample
            .files
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(dest, source)| (dest, json!(resolved(&challenge.dir, &source))))
            .collect();
        assert_eq!(Json::Object(files), theirs["files"], "{id}");
        assert_eq!(
            json!(sample.setup.as_deref().map(|s| resolved(&challenge.dir, s))),
            theirs["setup"],
            "{id}"
        );
        // inspect_cyber also records the challenge file's path, which is where the sample came from, not
        // something about it: ours is the challenge's directory, kept beside the sample.
        let mut their_metadata = theirs["metadata"].as_object().unwrap().clone();
        let eval_file = their_metadata.remove("eval_file_path").unwrap();
        assert_eq!(
            eval_file,
            json!(file.canonicalize().unwrap().display().to_string()),
            "{id}"
        );
        assert_eq!(
            Json::Object(sample.metadata.clone().unwrap_or_default()),
            Json::Object(their_metadata),
            "{id}"
        );
    }
    assert!(matches!(&ours[2].0.sample.id, SampleId::Text(t) if t == "web-login (hard)"));
}

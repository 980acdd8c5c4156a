use super::*;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tree(tag: &str, files: &[(&str, &str)]) -> Dir {
    let dir = std::env::temp_dir().join(format!("evals-load-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    Dir(dir)
}

const QA: &str = "{\"input\": \"2+2?\", \"target\": \"4\"}\n{\"input\": \"3+3?\", \"target\": \"6\"}\n";
const CTF: &str = "name: c1\nfresh_flag: true\nsetup: setup.sh\nvariants:\n  only:\n    prompt: find it\n";

#[test]
fn each_kind_of_path_loads() {
    let dir = tree(
        "kinds",
        &[
            ("suite/qa.toml", "name = \"qa\"\ndataset = \"qa.jsonl\"\n"),
            ("suite/qa.jsonl", QA),
            (
                "suite/ctf.toml",
                "name = \"ctf\"\ndataset = \"challenges\"\n[solver]\ntype = \"agent\"\n[scorer]\ntype = \"flag\"\n",
            ),
            ("suite/challenges/c1/eval.yaml", CTF),
            ("suite/challenges/c1/setup.sh", "echo __FLAG__ > f"),
            ("bare.csv", "input,target\nhello,world\n"),
        ],
    );
    let root = &dir.0;
    // A suite: every task file, in path order.
    let suite = load(&root.join("suite"), &Defaults::default()).unwrap();
    let names: Vec<_> = suite.iter().map(|t| t.spec.name.as_str()).collect();
    assert_eq!(names, ["ctf", "qa"]);
    assert_eq!(suite[1].samples.len(), 2);
    assert_eq!(suite[0].samples.len(), 1);
    assert_eq!(
        suite[0].sandboxed,
        [SandboxedSample {
            dir: root.join("suite/challenges/c1"),
            fresh_flag: true
        }]
    );
    // One task file.
    let one = load(&root.join("suite/qa.toml"), &Defaults::default()).unwrap();
    assert_eq!(one[0].source, root.join("suite/qa.toml"));
    // A challenge directory: an agent scored by flag capture.
    let ctf = load(&root.join("suite/challenges"), &Defaults::default()).unwrap();
    assert_eq!(ctf[0].spec.scorer, ScorerSpec::Flag);
    assert!(matches!(ctf[0].spec.solver, SolverSpec::Agent { .. }));
    assert_eq!(ctf[0].spec.name, "challenges");
    // A bare dataset: one generation, exact match, unless told.
    let bare = load(&root.join("bare.csv"), &Defaults::default()).unwrap();
    assert_eq!(
        (bare[0].spec.name.as_str(), &bare[0].spec.scorer),
        ("bare", &ScorerSpec::Exact)
    );
    let told = Defaults {
        scorer: Some(ScorerSpec::Includes { ignore_case: true }),
        solver: None,
    };
    assert_eq!(
        load(&root.join("bare.csv"), &told).unwrap()[0].spec.scorer,
        ScorerSpec::Includes { ignore_case: true }
    );
}

#[test]
fn validation_reports_every_problem_with_file_and_line() {
    let dir = tree(
        "problems",
        &[
            ("a.toml", "name = \"a\"\ndataset = \"a.jsonl\"\nepochs = 0\n"),
            ("b.toml", "name = \"b\"\ndataset = \"b.jsonl\"\n"),
            ("b.jsonl", "{\"input\": \"x\"}\n{\"target\": \"y\"}\n"),
            ("c.toml", "name = \"c\"\ndataset = \"absent.jsonl\"\n"),
        ],
    );
    let problems = validate(&dir.0);
    let printed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let root = dir.0.display();
    assert_eq!(problems.len(), 3, "{printed:#?}");
    assert!(
        printed[0].starts_with(&format!("{root}/a.toml:3: `epochs` must be")),
        "{printed:#?}"
    );
    assert_eq!(printed[1], format!("{root}/b.jsonl:2: no `input`"));
    assert!(
        printed[2].starts_with(&format!("{root}/absent.jsonl: cannot read")),
        "{printed:#?}"
    );
}

#[test]
fn paths_that_are_not_tasks_say_so() {
    let dir = tree("none", &[("notes.txt", "x"), ("empty/readme.md", "x")]);
    let cases = [
        ("notes.txt", "not a task"),
        ("empty", "no task files (.toml) and no challenges"),
        ("absent", "cannot read"),
    ];
    for (name, words) in cases {
        let problems = validate(&dir.0.join(name));
        assert_eq!(problems.len(), 1, "{name}");
        assert!(problems[0].message.contains(words), "{name}: {problems:?}");
    }
}

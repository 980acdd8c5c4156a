//! The binary as an operator runs it: provisioning commands, first start, several servers on one database,
//! graceful shutdown.

use crate::support::*;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_prelaunch");

/// The binary's data directory for a test database: the SQLite file's directory, or one named after the
/// PostgreSQL database.
pub fn data_dir(url: &str) -> std::path::PathBuf {
    match url.strip_prefix("sqlite://") {
        Some(path) => std::path::Path::new(path).parent().unwrap().to_owned(),
        None => {
            let name = url.rsplit('/').next().unwrap();
            let dir = std::env::temp_dir().join("prelaunch-tests").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        }
    }
}

/// Database arguments for the binary: the test's own data directory (keys live there), and for PostgreSQL
/// the database URL.
pub fn db_args(url: &str) -> Vec<String> {
    let mut args = vec!["--data-dir".into(), data_dir(url).display().to_string()];
    if !url.starts_with("sqlite://") {
        args.extend(["--database-url".into(), url.into()]);
    }
    args
}

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

pub async fn run(url: &str, args: &[&str]) -> Run {
    let output = Command::new(BIN)
        .args(args)
        .args(db_args(url))
        .env_remove("DATABASE_URL")
        .env_remove("PRELAUNCH_DATA_DIR")
        .output()
        .await
        .unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_init_prints_a_working_token_and_refuses_a_second_time() {
    let url = fresh_database_url().await;
    let first = run(&url, &["admin", "init", "--email", "Root@Clearinghouse.example"]).await;
    assert!(first.ok, "{}", first.stderr);
    let token = first.last_line().to_owned();
    assert!(token.starts_with("plk_"), "{}", first.stdout);

    let t = spawn_app_on(&url).await;
    let (status, me) = get_json(&t.client, &t.url("/api/v1/me"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["email"], "root@clearinghouse.example");
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["organization"]["kind"], "clearinghouse");

    let again = run(&url, &["admin", "init", "--email", "other@clearinghouse.example"]).await;
    assert!(!again.ok);
    assert!(
        again.stderr.contains("already has an administrator"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn provisioning_commands_create_orgs_people_and_tokens() {
    let url = fresh_database_url().await;
    assert!(
        run(&url, &["admin", "init", "--email", "root@ch.example"])
            .await
            .ok
    );
    let org = run(
        &url,
        &[
            "admin",
            "org",
            "create",
            "--kind",
            "agency",
            "--name",
            "Cyber Agency",
        ],
    )
    .await;
    assert!(org.ok, "{}", org.stderr);
    let user = run(
        &url,
        &[
            "admin",
            "user",
            "create",
            "--org",
            "Cyber Agency",
            "--email",
            "eval@agency.example",
        ],
    )
    .await;
    assert!(user.ok, "{}", user.stderr);
    assert!(user.last_line().contains("/invitations/pli_"), "{}", user.stdout);
    let token = run(
        &url,
        &[
            "admin",
            "token",
            "create",
            "--email",
            "eval@agency.example",
            "--expires-in",
            "30",
        ],
    )
    .await;
    assert!(token.ok, "{}", token.stderr);

    let t = spawn_app_on(&url).await;
    t.clock.set(wall_clock()); // the token's expiry was set on the real clock
    let (status, me) = get_json(&t.client, &t.url("/api/v1/me"), token.last_line()).await;
    assert_eq!(status, 200);
    assert_eq!(me["organization"]["name"], "Cyber Agency");
    assert_eq!(me["role_title"], "Evaluator");

    // Each mistake is refused with a message that names it, and changes nothing.
    let cases: &[(&[&str], &str)] = &[
        (
            &["admin", "org", "create", "--kind", "bank", "--name", "X"],
            "kind",
        ),
        (
            &[
                "admin",
                "org",
                "create",
                "--kind",
                "agency",
                "--name",
                "cyber agency",
            ],
            "already exists",
        ),
        (
            &[
                "admin",
                "user",
                "create",
                "--org",
                "Nowhere",
                "--email",
                "a@b.example",
            ],
            "organisation not found",
        ),
        (
            &[
                "admin",
                "user",
                "create",
                "--org",
                "Cyber Agency",
                "--email",
                "not-an-email",
            ],
            "email",
        ),
        (
            &[
                "admin",
                "user",
                "create",
                "--org",
                "Cyber Agency",
                "--email",
                "eval@agency.example",
            ],
            "already exists",
        ),
        (
            &["admin", "token", "create", "--email", "nobody@x.example"],
            "person not found",
        ),
        (
            &[
                "admin",
                "token",
                "create",
                "--email",
                "eval@agency.example",
                "--expires-in",
                "0",
            ],
            "expires_in_days",
        ),
    ];
    let events_before = t.app.store.count_audit().await.unwrap();
    for (args, expected) in cases {
        let out = run(&url, args).await;
        assert!(!out.ok, "{args:?} should fail");
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    assert_eq!(t.app.store.count_audit().await.unwrap(), events_before);
}

/// A `prelaunch serve` child process; killed on drop if still running.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub stdout: Vec<String>,
}

impl Server {
    pub async fn start(url: &str) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            // The scripted upstreams listen on loopback.
            .arg("--allow-private-upstreams")
            .args(db_args(url))
            .env("PRELAUNCH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdout = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                stdout.push(line.clone());
                if let Some(url) = line.strip_prefix("Prelaunch is listening on ") {
                    return url.to_owned();
                }
            }
            panic!("server exited before listening: {stdout:?}");
        })
        .await
        .expect("server did not start within 30 s");
        Server { child, base, stdout }
    }

    /// SIGTERM, then the exit status and everything it wrote to stderr.
    pub async fn stop(mut self) -> (bool, String) {
        let pid = self.child.id().unwrap().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        assert!(killed.success());
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            use tokio::io::AsyncReadExt;
            let _ = tokio::time::timeout(Duration::from_secs(20), err.read_to_string(&mut stderr)).await;
        }
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        (status.success(), stderr)
    }
}

#[tokio::test]
async fn first_start_prints_the_setup_link_once_and_shuts_down_gracefully() {
    let url = fresh_database_url().await;
    let first = Server::start(&url).await;
    let link = first.stdout.iter().find(|l| l.contains("/setup/pli_")).cloned();
    let link = link.expect("first start prints a setup link").trim().to_owned();
    assert!(link.starts_with(&first.base), "{link}");
    let (clean, stderr) = first.stop().await;
    assert!(clean, "SIGTERM ends the server with success");
    assert!(
        !stderr.contains("pli_"),
        "the setup token never reaches the log: {stderr}"
    );

    let second = Server::start(&url).await;
    assert!(
        !second.stdout.iter().any(|l| l.contains("pli_")),
        "{:?}",
        second.stdout
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let health = client
        .get(format!("{}/readyz", second.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let (clean, _) = second.stop().await;
    assert!(clean);
}

/// Logs in through the web form: fetches the form (for its CSRF cookie and field), posts the password, and
/// returns the session cookie.
async fn web_login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> reqwest::StatusCode {
    let form = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form
        .split("name=\"csrf\"")
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let response = client
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn two_servers_on_one_database_behave_as_one_service() {
    let url = fresh_database_url().await;
    // Seed a developer with a password, in-process over the same database.
    let seed = spawn_app_on(&url).await;
    seed.clock.set(wall_clock()); // the servers below run on the real clock
    seed.app.provision_org("developer", "Frontier Lab").await.unwrap();
    seed.app.provision_org("agency", "Cyber Agency").await.unwrap();
    let (_, link) = seed
        .app
        .provision_user("Frontier Lab", "dev@lab.example", "admin")
        .await
        .unwrap();
    let token = link.expose().rsplit('/').next().unwrap().to_owned();
    let password = accounts::Secret::new("a long enough passphrase".into());
    seed.app
        .accept_invitation(&token, None, "Dev Admin", &password)
        .await
        .unwrap();
    let agency = seed
        .app
        .store
        .find_org_by_name("Cyber Agency")
        .await
        .unwrap()
        .unwrap()
        .id;

    let a = Server::start(&url).await;
    let b = Server::start(&url).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .no_proxy()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Log in through A; the session works on B (the cookie jar is per host:port, so copy it over).
    let status = web_login(&client, &a.base, "dev@lab.example", "a long enough passphrase").await;
    assert_eq!(status, 303);
    let cookies = reqwest::cookie::CookieStore::cookies(&*jar, &reqwest::Url::parse(&a.base).unwrap());
    let cookie = cookies
        .and_then(|c| c.to_str().ok().map(str::to_owned))
        .expect("session cookie set by A");
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let me: Value = plain
        .get(format!("{}/api/v1/me", b.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email"], "dev@lab.example");
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();

    // Act through B with the session from A.
    let launch = (wall_clock() + chrono::Duration::days(40)).to_rfc3339();
    let filed = plain
        .post(format!("{}/api/v1/notices", b.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"model_name": "Orion", "model_version": "2", "planned_launch_at": launch, "shared_with": [agency]}))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    let id = filed.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen = plain
        .get(format!("{}/api/v1/notices/{id}", a.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200);
    // Without the CSRF header the same session cannot change anything.
    let forged = plain
        .post(format!("{}/api/v1/notices/{id}/withdraw", b.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // Login throttling is shared: failures spread over both servers lock the account on both.
    let fresh = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for i in 0..5 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        assert_eq!(
            web_login(&fresh, base, "dev@lab.example", "wrong password!!").await,
            401
        );
    }
    assert_eq!(
        web_login(&fresh, &a.base, "dev@lab.example", "a long enough passphrase").await,
        429
    );
    assert_eq!(
        web_login(&fresh, &b.base, "dev@lab.example", "a long enough passphrase").await,
        429
    );
    a.stop().await;
    b.stop().await;
}

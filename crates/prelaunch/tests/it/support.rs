//! The test kit: a real server on port 0 over a fresh database per test (SQLite or PostgreSQL, chosen by
//! `PRELAUNCH_TEST_BACKEND`), driven over real HTTP, with an injected clock the test moves.

#![allow(dead_code)]

use app::{App, Config, ManualClock};
use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("PRELAUNCH_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("PRELAUNCH_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// Where tests keep their files: `<temp>/prelaunch-tests`.
pub fn tests_root() -> std::path::PathBuf {
    std::env::temp_dir().join("prelaunch-tests")
}

/// A directory of one test's own files under `tests_root()`, removed with everything in it when the last
/// clone is dropped — when the test ends, whether it passed or failed (a panic unwinds through its owner).
#[derive(Clone)]
pub struct TestDir(Arc<DirGuard>);

struct DirGuard(std::path::PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDir {
    /// A new, empty directory named `<name>-<uuid>`.
    pub fn new(name: &str) -> TestDir {
        TestDir::at(tests_root().join(format!("{name}-{}", Uuid::new_v4().simple())))
    }

    /// Takes charge of the directory at `path`, making it if need be.
    fn at(path: std::path::PathBuf) -> TestDir {
        std::fs::create_dir_all(&path).unwrap();
        TestDir(Arc::new(DirGuard(path)))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0.0
    }

    pub fn join(&self, name: impl AsRef<std::path::Path>) -> std::path::PathBuf {
        self.path().join(name)
    }
}

/// One test's database: its URL (the value reads as the URL's `&str`) and its data directory, which holds the
/// SQLite file, the call journals and the binaries' keys, and is removed when the last holder — this value,
/// or a `TestApp` on it — is dropped. Keep it in a variable for as long as an `App` made with `app_on` uses it.
#[derive(Clone)]
pub struct TestDb {
    url: String,
    dir: TestDir,
}

impl TestDb {
    pub fn dir(&self) -> &TestDir {
        &self.dir
    }
}

impl std::ops::Deref for TestDb {
    type Target = str;

    fn deref(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Display for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// The data directory of a test database: the SQLite file's directory, or one named after the PostgreSQL
/// database (the same directory `cli::data_dir` gives the binaries).
pub fn data_dir_of(url: &str) -> std::path::PathBuf {
    match url.strip_prefix("sqlite://") {
        Some(path) => std::path::Path::new(path).parent().unwrap().to_owned(),
        None => tests_root().join(url.rsplit('/').next().unwrap()),
    }
}

/// A fresh, empty database for one test, with its data directory.
pub async fn fresh_database_url() -> TestDb {
    let name = format!("t_{}", Uuid::new_v4().simple());
    let url = match backend() {
        Backend::Sqlite => format!(
            "sqlite://{}",
            tests_root().join(&name).join("prelaunch.db").display()
        ),
        Backend::Postgres => {
            let admin = std::env::var("PRELAUNCH_TEST_PG_URL").expect(
                "PRELAUNCH_TEST_PG_URL must name a PostgreSQL server for PRELAUNCH_TEST_BACKEND=postgres",
            );
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connecting to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let (base, _) = admin
                .rsplit_once('/')
                .expect("PRELAUNCH_TEST_PG_URL ends with /database");
            format!("{base}/{name}")
        }
    };
    let dir = TestDir::at(data_dir_of(&url));
    TestDb { url, dir }
}

/// 2027-01-01T00:00:00Z, where every test's clock starts.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
}

/// The real time, for tests that share a database with servers running on the system clock.
pub fn wall_clock() -> DateTime<Utc> {
    use app::Clock;
    app::SystemClock.now()
}

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    /// Its database; the data directory goes when the last server on it is dropped.
    pub database_url: TestDb,
    pub master_key: gateway::MasterKey,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(&fresh_database_url().await).await
}

/// The service without a server (and without its scheduled work), for tests of operations alone.
pub async fn app_on(database_url: &str, public_url: &str) -> (App, Arc<ManualClock>) {
    app_configured(database_url, public_url, |_| ()).await
}

/// `app_on` with the test settings changed by `configure`.
pub async fn app_configured(
    database_url: &str,
    public_url: &str,
    configure: impl FnOnce(&mut Config),
) -> (App, Arc<ManualClock>) {
    app_with_key(
        database_url,
        public_url,
        &gateway::MasterKey::generate(),
        configure,
    )
    .await
}

/// `app_configured` with this master key.
async fn app_with_key(
    database_url: &str,
    public_url: &str,
    key: &gateway::MasterKey,
    configure: impl FnOnce(&mut Config),
) -> (App, Arc<ManualClock>) {
    let store = store::connect(database_url)
        .await
        .expect("opening the test database");
    let clock = Arc::new(ManualClock::new(epoch()));
    let mut config = Config {
        public_url: public_url.to_owned(),
        // The scripted upstreams listen on loopback.
        allow_private_upstreams: true,
        // A lease the database answers late (a loaded machine) would leave a call to the process's own
        // buckets, and a limit shared by processes would then hold per process; a stalled database (a test
        // holds its write lock) still leaves the first call to them after these 2 s.
        gateway_lease_wait: std::time::Duration::from_secs(2),
        ..Config::default()
    };
    configure(&mut config);
    let app = App::new(store, clock.clone(), config).with_master_key(key);
    // Each service its own call journal, apart from any binary's sharing the database.
    let journal = data_dir_of(database_url).join(format!("calls-{}", Uuid::new_v4()));
    app.open_call_journal(&journal)
        .await
        .expect("opening the call journal");
    (app, clock)
}

pub async fn spawn_app_on(database_url: &TestDb) -> TestApp {
    spawn_configured(database_url, |_| ()).await
}

/// A server whose test settings are changed by `configure`.
pub async fn spawn_configured(database_url: &TestDb, configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_with_key(database_url, gateway::MasterKey::generate(), configure).await
}

async fn spawn_with_key(
    database_url: &TestDb,
    master_key: gateway::MasterKey,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    // What the server logs at warning and above (its internal errors first of all) goes to the test's
    // stderr, which the runner shows when the test fails.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (app, clock) = app_with_key(database_url, &base, &master_key, configure).await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = rx.await;
        let _ = stop_worker.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    tokio::spawn(server::serve(
        listener,
        app.clone(),
        stopped(worker_stopped.clone()),
    ));
    // The in-process worker `prelaunch serve` runs, on the test's clock, with the test kinds as well.
    let mut options = app::jobs::WorkerOptions::new(format!("test-{}", Uuid::new_v4()));
    options.poll = std::time::Duration::from_millis(50);
    let registry = App::job_registry().with_test_kinds();
    tokio::spawn(app::jobs::Worker::new(app.clone(), registry, options).run(stopped(worker_stopped)));
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        app,
        clock,
        client,
        database_url: database_url.clone(),
        master_key,
        shutdown: Some(tx),
    }
}

/// A person acting through the API with a Bearer token.
#[derive(Clone)]
pub struct Persona {
    pub name: &'static str,
    pub token: String,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
}

/// A response: status, content type and parsed JSON (Null when the body is empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// Asserts an RFC 9457 problem with this status and `type`, and returns it.
    pub fn problem(&self, status: u16, kind: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "{:?}", self.body);
        assert_eq!(self.body["type"], format!("/problems/{kind}"), "{:?}", self.body);
        assert_eq!(self.body["status"], status);
        &self.body
    }

    pub fn ok(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        &self.body
    }
}

impl TestApp {
    /// A second server over the same database with the same master key, as another `serve` process of the
    /// same deployment; its clock starts at this one's.
    pub async fn sibling(&self) -> TestApp {
        let sibling = spawn_with_key(&self.database_url, self.master_key.clone(), |_| ()).await;
        sibling.clock.set(self.clock_now());
        sibling
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        Self::reply(response).await
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            body,
            headers,
        }
    }

    pub async fn get(&self, p: &Persona, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&p.token), None).await
    }

    /// `post` on a task of its own, so that several run at once; the reply when the task is awaited.
    pub fn spawn_post(&self, p: &Persona, path: &str, body: Value) -> tokio::task::JoinHandle<Reply> {
        let (client, url, token) = (self.client.clone(), self.url(path), p.token.clone());
        tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            TestApp::reply(response).await
        })
    }

    pub async fn post(&self, p: &Persona, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&p.token), Some(body)).await
    }

    pub async fn put(&self, p: &Persona, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(&p.token), Some(body)).await
    }

    pub async fn patch(&self, p: &Persona, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(&p.token), Some(body)).await
    }

    pub async fn delete(&self, p: &Persona, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(&p.token), None).await
    }

    /// A request with exactly these bytes and this content type (none when `None`), for malformed input.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        Self::reply(request.send().await.unwrap()).await
    }

    /// Rows in every table that holds the program's state, read straight from the database, so a test can
    /// show that a refused request changed nothing. (Leases and login throttling are left out: they move on
    /// their own.)
    pub async fn db_counts(&self) -> BTreeMap<&'static str, i64> {
        const TABLES: [&str; 13] = [
            "organizations",
            "users",
            "invitations",
            "sessions",
            "api_tokens",
            "settings",
            "notices",
            "shares",
            "launch_changes",
            "assignments",
            "findings",
            "assessments",
            "audit_events",
        ];
        macro_rules! count_all {
            ($conn:ty) => {{
                let mut conn = <$conn>::connect(&self.database_url).await.unwrap();
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

    /// Runs one statement straight on the database, for a test that needs a state no request makes.
    pub async fn execute_sql(&self, sql: &str) {
        macro_rules! execute {
            ($conn:ty) => {{
                let mut conn = <$conn>::connect(&self.database_url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }};
        }
        match backend() {
            Backend::Sqlite => execute!(sqlx::SqliteConnection),
            Backend::Postgres => execute!(sqlx::PgConnection),
        }
    }

    /// The position of the latest audit event (0 when the trail is empty).
    pub async fn audit_seq(&self) -> i64 {
        self.audit_after(0).await.last().map_or(0, |e| e.seq)
    }

    /// Every audit event after position `seq`, in order.
    pub async fn audit_after(&self, seq: i64) -> Vec<store::AuditEvent> {
        let mut events = Vec::new();
        let mut after = Some(seq);
        loop {
            let page = self
                .app
                .store
                .list_audit(None, &store::Page { after, limit: 200 })
                .await
                .unwrap();
            let done = page.len() < 200;
            after = page.last().map(|e| e.seq).or(after);
            events.extend(page);
            if done {
                return events;
            }
        }
    }

    /// The first program administrator, created as the operator's `admin init` does.
    pub async fn program_admin(&self) -> Persona {
        let (user, token) = self.app.init_admin("admin@clearinghouse.example").await.unwrap();
        Persona {
            name: "program admin",
            token: token.expose().to_owned(),
            user_id: user.id,
            org_id: user.org_id,
            email: user.email,
        }
    }

    pub async fn org(&self, kind: &str, name: &str) -> Uuid {
        self.app.provision_org(kind, name).await.unwrap().id
    }

    /// A person of the named organisation with an API token (as `admin user create` and
    /// `admin token create` make them).
    pub async fn person(&self, name: &'static str, org: &str, email: &str, role: &str) -> Persona {
        let (user, _link) = self.app.provision_user(org, email, role).await.unwrap();
        let token = self.app.provision_token(email, None).await.unwrap();
        Persona {
            name,
            token: token.expose().to_owned(),
            user_id: user.id,
            org_id: user.org_id,
            email: user.email,
        }
    }

    /// Files a notice through the API as `dev`, planned `days` after the clock's now, shared with `agencies`.
    pub async fn file_notice(&self, dev: &Persona, launch_in_days: i64, agencies: &[Uuid]) -> Value {
        let launch = self.clock_now() + chrono::Duration::days(launch_in_days);
        self.file_notice_at(dev, launch, agencies).await
    }

    /// Files a notice through the API as `dev`, planned at `launch`, shared with `agencies`.
    pub async fn file_notice_at(&self, dev: &Persona, launch: DateTime<Utc>, agencies: &[Uuid]) -> Value {
        let body = json!({
            "model_name": "Orion",
            "model_version": "1.0",
            "planned_launch_at": launch.to_rfc3339(),
            "model_card": "# Orion\nA test model.",
            "shared_with": agencies,
            // Tests file many notices of one model and version; the warning of a repeat is tested on its own.
            "confirm_duplicate": true,
        });
        let reply = self.post(dev, "/api/v1/notices", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    /// Assigns `evaluator` to the notice as the agency admin `admin`.
    pub async fn assign(&self, admin: &Persona, notice: Uuid, evaluator: &Persona) {
        let path = format!("/api/v1/notices/{notice}/assignments");
        let reply = self
            .post(admin, &path, json!({"user_id": evaluator.user_id}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }

    /// Files a finding on the notice as `author`, shared with `agencies` beyond the author's own.
    pub async fn file_finding(&self, author: &Persona, notice: Uuid, agencies: &[Uuid]) -> Value {
        let body = json!({
            "title": "Writes working exploits for known CVEs",
            "domain": "cyber_offense",
            "severity": "high",
            "description": "The model produced a working exploit in 3 of 10 attempts.",
            "evidence": ["https://evals.agency.example/runs/42"],
            "shared_with": agencies,
        });
        let reply = self
            .post(author, &format!("/api/v1/notices/{notice}/findings"), body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    /// Publishes an assessment of the notice as `author`, shared with `agencies` beyond the author's own.
    pub async fn publish_assessment(&self, author: &Persona, notice: Uuid, agencies: &[Uuid]) -> Value {
        let body = json!({
            "levels": {"cyber_offense": "moderate", "critical_infrastructure": "low"},
            "rationale": "Uplift on exploitation tasks, none on infrastructure control.",
            "evidence": ["https://evals.agency.example/runs/42"],
            "shared_with": agencies,
        });
        let path = format!("/api/v1/notices/{notice}/assessments");
        let reply = self.post(author, &path, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use app::Clock;
        self.clock.now()
    }
}

/// The `id` of an object the API returned.
pub fn id_of(object: &Value) -> Uuid {
    object["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id in {object}"))
}

/// A timestamp field of an object the API returned (`None` when null or absent).
pub fn time_of(object: &Value, field: &str) -> Option<DateTime<Utc>> {
    object[field].as_str().map(|s| {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{field}={s}: {e}"))
            .with_timezone(&Utc)
    })
}

/// The cast most tests need: every kind of organisation, admins and members.
pub struct World {
    pub program_admin: Persona,
    pub coordinator: Persona,
    pub dev_admin: Persona,
    pub dev_member: Persona,
    pub other_dev: Persona,
    pub agency_admin: Persona,
    pub evaluator: Persona,
    pub evaluator2: Persona,
    pub other_agency_admin: Persona,
    pub other_evaluator: Persona,
    pub vendor: Persona,
    pub operator: Persona,
    pub agency: Uuid,
    pub other_agency: Uuid,
}

impl World {
    pub async fn new(t: &TestApp) -> World {
        let program_admin = t.program_admin().await;
        t.org("developer", "Frontier Lab").await;
        t.org("developer", "Other Lab").await;
        let agency = t.org("agency", "Cyber Evaluation Agency").await;
        let other_agency = t.org("agency", "Infrastructure Agency").await;
        t.org("vendor", "Router Vendor").await;
        t.org("operator", "Grid Operator").await;
        World {
            coordinator: t
                .person(
                    "coordinator",
                    "Clearinghouse",
                    "coord@clearinghouse.example",
                    "member",
                )
                .await,
            dev_admin: t
                .person("developer admin", "Frontier Lab", "admin@lab.example", "admin")
                .await,
            dev_member: t
                .person("developer member", "Frontier Lab", "member@lab.example", "member")
                .await,
            other_dev: t
                .person("other developer", "Other Lab", "admin@other-lab.example", "admin")
                .await,
            agency_admin: t
                .person(
                    "agency admin",
                    "Cyber Evaluation Agency",
                    "admin@agency.example",
                    "admin",
                )
                .await,
            evaluator: t
                .person(
                    "evaluator",
                    "Cyber Evaluation Agency",
                    "eval@agency.example",
                    "member",
                )
                .await,
            evaluator2: t
                .person(
                    "second evaluator",
                    "Cyber Evaluation Agency",
                    "eval2@agency.example",
                    "member",
                )
                .await,
            other_agency_admin: t
                .person(
                    "other agency admin",
                    "Infrastructure Agency",
                    "admin@infra.example",
                    "admin",
                )
                .await,
            other_evaluator: t
                .person(
                    "other evaluator",
                    "Infrastructure Agency",
                    "eval@infra.example",
                    "member",
                )
                .await,
            vendor: t
                .person("vendor", "Router Vendor", "psirt@vendor.example", "admin")
                .await,
            operator: t
                .person("operator", "Grid Operator", "soc@grid.example", "admin")
                .await,
            program_admin,
            agency,
            other_agency,
        }
    }
}

/// A job whose one attempt failed, of the test kind that always fails. Returns its id. The kit runs it
/// itself unless the test server's worker (which runs the test kinds too) takes it first: that worker may be
/// busy with what the test's changes queued (notification runs, webhook deliveries) for a while.
pub async fn failed_job(t: &TestApp) -> Uuid {
    let job = app::jobs::JobRequest::new(app::jobs::kinds::TEST_FAIL, json!({}))
        .attempts(1)
        .into_new_job(t.clock_now());
    t.app
        .store
        .enqueue_jobs(std::slice::from_ref(&job))
        .await
        .unwrap();
    let registry = app::jobs::Registry::new().with_test_kinds();
    let kinds = vec![app::jobs::kinds::TEST_FAIL.to_owned()];
    for _ in 0..2_400 {
        if t.app.store.get_job(job.id).await.unwrap().unwrap().state == store::JobState::Failed {
            return job.id;
        }
        let now = t.clock_now();
        let claim = store::JobClaim {
            owner: "test-kit",
            now,
            lease_until: now + chrono::Duration::seconds(60),
            limit: 1,
            kinds: Some(&kinds),
        };
        for claimed in t.app.store.claim_jobs(&claim).await.unwrap() {
            app::jobs::run_job(&t.app, &registry, "test-kit", claimed).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("job {} did not fail within a minute", job.id);
}

/// The directory of the exchange formats' published schemas (CSAF, its provider metadata and ROLIE feeds, CVSS,
/// OSV): `PRELAUNCH_SCHEMAS_DIR`, or `shared/schemas` beside the repository's directory.
pub fn shared_schemas() -> std::path::PathBuf {
    let dir = std::env::var_os("PRELAUNCH_SCHEMAS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schemas"));
    assert!(
        dir.join("csaf_json_schema.json").exists(),
        "{} holds no schemas: set PRELAUNCH_SCHEMAS_DIR to the directory of the shared schemas",
        dir.display()
    );
    dir
}

/// `tests/clients` at the root of the repository: the Python clients and references the tests run.
pub fn clients_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/clients")
        .canonicalize()
        .expect("tests/clients")
}

/// The program the test environment names in `var` (`scripts/test.sh` installs it); without it the test fails,
/// saying what the program is for (`why`) and how to get it.
pub fn test_program(var: &str, why: &str) -> std::path::PathBuf {
    let path = std::env::var_os(var)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "{var} is not set: {why}; run scripts/test.sh (or source the test environment), which \
                 installs the test clients (tests/clients/requirements.txt, tests/csaf) and sets it"
            )
        });
    assert!(path.exists(), "{var}={} does not exist", path.display());
    path
}

/// A loopback port that refuses every connection: bound but never listened on, and held for as long as the
/// value lives, so that no other server (another test's, given a free port meanwhile) can take it and answer.
pub struct RefusingPort(tokio::net::TcpSocket);

impl RefusingPort {
    pub fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }
}

pub fn refusing_port() -> RefusingPort {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    RefusingPort(socket)
}

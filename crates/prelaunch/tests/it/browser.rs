//! A small W3C WebDriver client for browser-driven integration tests.
//!
//! [`Browser::start`] launches its own `chromedriver` on a free loopback port
//! and opens one headless Chromium session with a fresh profile directory.
//! Everything is torn down by [`Browser::close`], or by `Drop` when a test
//! fails half-way.
//!
//! Environment:
//! - `PRELAUNCH_CHROMEDRIVER`: chromedriver binary (default `chromedriver`, looked up in `PATH`)
//! - `PRELAUNCH_CHROMIUM`: Chromium binary (default `/usr/bin/chromium`)
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// Key of a web element reference in W3C WebDriver JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long chromedriver may take to answer `/status` with `ready: true`.
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound for any single WebDriver command (session creation included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long element look-ups keep retrying before reporting "no such element".
const IMPLICIT_WAIT_MS: u64 = 3_000;
const PAGE_LOAD_TIMEOUT_MS: u64 = 30_000;
const SCRIPT_TIMEOUT_MS: u64 = 10_000;
/// Attempts at starting chromedriver (a free port can be taken in between).
const DRIVER_START_ATTEMPTS: usize = 3;

const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// `<input>` types whose value `fill` sets from script instead of typing.
const SCRIPTED_INPUT_TYPES: &[&str] = &[
    "date",
    "time",
    "datetime-local",
    "month",
    "week",
    "color",
    "range",
];

/// Sets an element's value through the native setter (so frameworks that
/// track the property notice) and fires the events a user edit would.
const SET_VALUE_SCRIPT: &str = r#"
const el = arguments[0];
const value = arguments[1];
let proto = Object.getPrototypeOf(el);
let desc;
while (proto && !(desc = Object.getOwnPropertyDescriptor(proto, 'value'))) {
  proto = Object.getPrototypeOf(proto);
}
if (desc && desc.set) {
  desc.set.call(el, value);
} else {
  el.value = value;
}
el.dispatchEvent(new Event('input', { bubbles: true }));
el.dispatchEvent(new Event('change', { bubbles: true }));
return el.value;
"#;

/// One chromedriver process with one headless Chromium session.
pub struct Browser {
    http: reqwest::Client,
    port: u16,
    base: String,
    session: Option<String>,
    driver: Option<Child>,
    /// Holds the Chromium profile and the chromedriver log.
    scratch: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless
    /// Chromium session.
    pub async fn start() -> Result<Browser> {
        let driver_name = env_or("PRELAUNCH_CHROMEDRIVER", "chromedriver");
        let chromium_name = env_or("PRELAUNCH_CHROMIUM", "/usr/bin/chromium");
        let driver_bin = resolve_binary(&driver_name).ok_or_else(|| {
            anyhow!(
                "chromedriver binary `{driver_name}` not found (set PRELAUNCH_CHROMEDRIVER, \
                 or install Debian's `chromium-driver` package)"
            )
        })?;
        let chromium_bin = resolve_binary(&chromium_name).ok_or_else(|| {
            anyhow!(
                "Chromium binary `{chromium_name}` not found (set PRELAUNCH_CHROMIUM, \
                 or install Debian's `chromium` package)"
            )
        })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .context("building the WebDriver HTTP client")?;

        let mut last_error = None;
        for _ in 0..DRIVER_START_ATTEMPTS {
            let mut browser = Browser::spawn_driver(&driver_bin, http.clone())?;
            match browser.wait_until_ready().await {
                Ok(()) => {
                    browser.open_session(&chromium_bin).await?;
                    return Ok(browser);
                }
                // `browser` is dropped here: the driver is killed, the scratch
                // directory removed, and the next attempt gets a new port.
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("chromedriver did not start")))
    }

    /// Navigates to `url` and waits for the page load to finish.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.session_cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .with_context(|| format!("navigating to {url}"))?;
        Ok(())
    }

    /// The URL of the current top-level page.
    pub async fn current_url(&self) -> Result<String> {
        let value = self.session_cmd(Method::GET, "/url", None).await?;
        as_string(value, "current URL")
    }

    /// Finds the first element matching the CSS selector and returns its
    /// WebDriver element id.
    pub async fn find(&self, css: &str) -> Result<String> {
        let body = json!({ "using": "css selector", "value": css });
        let value = self
            .session_cmd(Method::POST, "/element", Some(body))
            .await
            .map_err(|err| anyhow!("no element matches CSS selector `{css}`: {err:#}"))?;
        value
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("unexpected reply when finding `{css}`: {value}"))
    }

    /// Clears the matching element and types `text` into it.
    ///
    /// Date and time inputs (`date`, `time`, `datetime-local`, `month`,
    /// `week`) and other picker-style inputs do not take typed text reliably
    /// in Chromium; for those this behaves like [`Browser::set_value`].
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let id = self.find(css).await?;
        let kind = self
            .element_cmd(&id, css, Method::GET, "/property/type", None)
            .await?;
        if kind
            .as_str()
            .is_some_and(|kind| SCRIPTED_INPUT_TYPES.contains(&kind))
        {
            return self.set_value_of(&id, css, text).await;
        }
        self.element_cmd(&id, css, Method::POST, "/clear", Some(json!({})))
            .await?;
        self.element_cmd(&id, css, Method::POST, "/value", Some(json!({ "text": text })))
            .await?;
        Ok(())
    }

    /// Sets the `value` of the matching element from script and dispatches
    /// `input` and `change` events. Use it for inputs that do not take typed
    /// keys well, such as `<input type="datetime-local">` (value format
    /// `YYYY-MM-DDTHH:MM`).
    pub async fn set_value(&self, css: &str, value: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.set_value_of(&id, css, value).await
    }

    /// Clicks the matching element.
    pub async fn click(&self, css: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.element_cmd(&id, css, Method::POST, "/click", Some(json!({})))
            .await?;
        Ok(())
    }

    /// The rendered (visible) text of the matching element.
    pub async fn text(&self, css: &str) -> Result<String> {
        let id = self.find(css).await?;
        let value = self.element_cmd(&id, css, Method::GET, "/text", None).await?;
        as_string(value, "element text")
    }

    /// The WebDriver element id of the element that has focus (compare with [`Browser::find`]).
    pub async fn active_element(&self) -> Result<String> {
        let value = self.session_cmd(Method::GET, "/element/active", None).await?;
        value
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("unexpected reply for the active element: {value}"))
    }

    /// The serialised DOM of the current page.
    pub async fn source(&self) -> Result<String> {
        let value = self.session_cmd(Method::GET, "/source", None).await?;
        as_string(value, "page source")
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>> {
        let value = self.session_cmd(Method::GET, "/screenshot", None).await?;
        let encoded = as_string(value, "screenshot")?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .context("decoding the screenshot")
    }

    /// Runs `script` as the body of a function in the page, with `args`, and returns what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value> {
        let body = json!({ "script": script, "args": args });
        self.session_cmd(Method::POST, "/execute/sync", Some(body))
            .await
            .context("executing a script")
    }

    /// How long scripts run by [`Browser::execute_async`] may take.
    pub async fn set_script_timeout(&self, timeout: Duration) -> Result<()> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.session_cmd(Method::POST, "/timeouts", Some(json!({ "script": ms })))
            .await
            .context("setting the script timeout")?;
        Ok(())
    }

    /// Runs `script` in the page with `args`; it reports its result by calling its last argument.
    pub async fn execute_async(&self, script: &str, args: Value) -> Result<Value> {
        let body = json!({ "script": script, "args": args });
        self.session_cmd(Method::POST, "/execute/async", Some(body))
            .await
            .context("executing an asynchronous script")
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) -> Result<()> {
        let result = match self.session.take() {
            Some(id) => self
                .cmd(Method::DELETE, &format!("/session/{id}"), None)
                .await
                .map(drop)
                .context("deleting the WebDriver session"),
            None => Ok(()),
        };
        self.stop_driver();
        result
    }

    async fn set_value_of(&self, element: &str, css: &str, value: &str) -> Result<()> {
        let body = json!({
            "script": SET_VALUE_SCRIPT,
            "args": [ { ELEMENT_KEY: element }, value ],
        });
        let result = self
            .session_cmd(Method::POST, "/execute/sync", Some(body))
            .await
            .with_context(|| format!("setting the value of `{css}`"))?;
        // Browsers silently reject values an input type cannot hold (they
        // leave it empty); they may also normalise an accepted one.
        if !value.is_empty() && result.as_str().is_some_and(str::is_empty) {
            bail!("`{css}` rejected the value {value:?}");
        }
        Ok(())
    }

    fn spawn_driver(driver_bin: &Path, http: reqwest::Client) -> Result<Browser> {
        let port = free_port()?;
        let scratch = scratch_dir()?;
        let log = File::create(scratch.join("chromedriver.log")).context("creating the chromedriver log")?;
        let log_err = log.try_clone().context("cloning the log handle")?;
        let spawned = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(err).with_context(|| format!("starting chromedriver `{}`", driver_bin.display()));
            }
        };
        Ok(Browser {
            http,
            port,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            driver: Some(child),
            scratch,
        })
    }

    async fn wait_until_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + DRIVER_READY_TIMEOUT;
        loop {
            if let Some(child) = self.driver.as_mut()
                && let Some(status) = child.try_wait().context("polling chromedriver")?
            {
                bail!(
                    "chromedriver exited during start-up ({status}); its log:\n{}",
                    self.log_tail()
                );
            }
            let reply = self
                .http
                .get(format!("{}/status", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(reply) = reply
                && let Ok(body) = reply.json::<Value>().await
                && body.pointer("/value/ready").and_then(Value::as_bool) == Some(true)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "chromedriver on port {} not ready after {:?}; its log:\n{}",
                    self.port,
                    DRIVER_READY_TIMEOUT,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn open_session(&mut self, chromium_bin: &Path) -> Result<()> {
        let profile = self.scratch.join("profile");
        std::fs::create_dir_all(&profile).context("creating the Chromium profile directory")?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| arg.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "timeouts": {
                        "implicit": IMPLICIT_WAIT_MS,
                        "pageLoad": PAGE_LOAD_TIMEOUT_MS,
                        "script": SCRIPT_TIMEOUT_MS,
                    },
                    "goog:chromeOptions": {
                        "binary": chromium_bin.display().to_string(),
                        "args": args,
                    },
                },
            },
        });
        let value = match self.cmd(Method::POST, "/session", Some(capabilities)).await {
            Ok(value) => value,
            Err(err) => bail!(
                "could not open a Chromium session with `{}`: {err:#}\nchromedriver log:\n{}",
                chromium_bin.display(),
                self.log_tail()
            ),
        };
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("new session reply has no sessionId: {value}"))?;
        self.session = Some(id.to_owned());
        Ok(())
    }

    /// Sends one WebDriver command and returns the `value` of its reply.
    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request
            .send()
            .await
            .with_context(|| format!("WebDriver {method} {path}: no reply"))?;
        let status = reply.status();
        let text = reply
            .text()
            .await
            .with_context(|| format!("WebDriver {method} {path}: reading the reply"))?;
        let mut parsed: Value = serde_json::from_str(&text).with_context(|| {
            format!("WebDriver {method} {path}: HTTP {status} with a non-JSON body: {text}")
        })?;
        let value = parsed.get_mut("value").map(Value::take).unwrap_or(Value::Null);
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            let message = value.get("message").and_then(Value::as_str).unwrap_or("");
            // chromedriver usually repeats the error code in the message.
            if message.starts_with(error) {
                bail!("{message}");
            }
            bail!("{error}: {message}");
        }
        if !status.is_success() {
            bail!("WebDriver {method} {path}: HTTP {status}: {text}");
        }
        Ok(value)
    }

    async fn session_cmd(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let id = self
            .session
            .as_deref()
            .ok_or_else(|| anyhow!("the browser session is closed"))?;
        self.cmd(method, &format!("/session/{id}{path}"), body).await
    }

    async fn element_cmd(
        &self,
        element: &str,
        css: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        self.session_cmd(method, &format!("/element/{element}{path}"), body)
            .await
            .map_err(|err| anyhow!("on element `{css}`: {err:#}"))
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.scratch.join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let skip = lines.len().saturating_sub(40);
        lines.into_iter().skip(skip).collect::<Vec<_>>().join("\n")
    }

    fn stop_driver(&mut self) {
        if let Some(mut child) = self.driver.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed half-way never reached `close`: end the session
        // so Chromium quits too, then stop chromedriver.
        if let Some(id) = self.session.take()
            && self.driver.is_some()
        {
            delete_session_blocking(self.port, &id);
        }
        self.stop_driver();
    }
}

/// `DELETE /session/{id}` over a plain socket, usable from `Drop` (no async).
fn delete_session_blocking(port: u16, session: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // chromedriver answers only once Chromium is gone, so the end of the reply
    // headers is all there is to wait for (it may keep the connection open).
    let mut reply = Vec::new();
    let mut chunk = [0_u8; 1024];
    while !reply.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

fn as_string(value: Value, what: &str) -> Result<String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(anyhow!("expected a string for the {what}, got {other}")),
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A path containing `/` is taken as is; a bare name is looked up in `PATH`.
fn resolve_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return is_executable(&path).then_some(path);
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A new, empty directory under the system temp dir (never a leftover of an
/// earlier process that had the same pid).
fn scratch_dir() -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("prelaunch-browser-{pid}-{n}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => {
                return Err(err).with_context(|| format!("creating scratch directory {}", dir.display()));
            }
        }
    }
}

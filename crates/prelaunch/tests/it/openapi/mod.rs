//! The OpenAPI document at `/api/v1/openapi.json` is exact: it names every route the server's API, public
//! ledger and model gateway have and no other, declares every path parameter and the error answers of each
//! operation, its request schemas accept and reject what the server does, and every answer the server gives
//! while exercising each operation conforms to the schema documented for its status.

use crate::support::*;
use crate::upstream::{CREDENTIAL, UPSTREAM_MODEL, Upstream};
use accounts::Secret;
use ledger::VerifierKey;
use ledger::receipt::Receipt;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use uuid::Uuid;

mod answers;
mod exercises;
mod requests;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
/// What the server's root router mounts that the document leaves out: the web UI's pages, the health checks,
/// and TAXII 2.1 (`/taxii2/`), whose document is the OASIS specification (checked with the reference client
/// in `taxii.rs`).
const UNDESCRIBED_MODULES: [&str; 2] = ["web", "taxii"];
const UNDESCRIBED_ROUTES: [(&str, &str); 2] = [("get", "/healthz"), ("get", "/readyz")];

/// `(method, path)`.
type Operation = (String, String);

/// The server crate's source file for a module path under `crates/server/src`.
fn server_source(relative: &Path) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/src")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The file of module `name` declared in `parent` (`lib.rs`, `api/mod.rs`, `gateway.rs`, ...).
fn child_module(parent: &Path, name: &str) -> PathBuf {
    let dir = match parent.file_name().and_then(|f| f.to_str()) {
        Some("lib.rs" | "mod.rs") => parent.parent().unwrap().to_owned(),
        _ => parent.with_extension(""),
    };
    let flat = dir.join(format!("{name}.rs"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    if root.join(&flat).exists() {
        flat
    } else {
        dir.join(name).join("mod.rs")
    }
}

/// The arguments of the call whose opening parenthesis ends just before `rest`.
fn call_arguments(rest: &str) -> &str {
    let mut depth = 1;
    let end = rest
        .char_indices()
        .find(|&(_, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth == 0
        })
        .map(|(i, _)| i)
        .expect("an unclosed call");
    &rest[..end]
}

/// `<module>::routes()`, the one form of router this scan follows into another file.
fn routes_module(argument: &str, file: &Path) -> String {
    argument
        .trim()
        .strip_suffix("::routes()")
        .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .unwrap_or_else(|| panic!("{}: cannot follow the router {argument:?}", file.display()))
        .to_owned()
}

/// Every `(method, path)` routed by the router in `file`, mounted at `prefix`: its `.route("path", get(..)..)`
/// calls, and the routers it `.merge(m::routes())`s or `.nest("/p", m::routes())`s, read from their files.
fn scan_router(file: &Path, prefix: &str, routes: &mut BTreeSet<Operation>) {
    let source = server_source(file);
    for unsupported in [".route_service(", ".nest_service(", "on(MethodFilter"] {
        assert!(
            !source.contains(unsupported),
            "{} uses {unsupported}; teach this scan to read it",
            file.display()
        );
    }
    let calls = [".route(", ".merge(", ".nest("];
    let mut rest = source.as_str();
    while let Some((start, call)) = calls
        .iter()
        .filter_map(|call| rest.find(call).map(|i| (i, *call)))
        .min()
    {
        rest = &rest[start + call.len()..];
        let arguments = call_arguments(rest);
        rest = &rest[arguments.len()..];
        match call {
            ".merge(" => {
                let module = routes_module(arguments, file);
                if !UNDESCRIBED_MODULES.contains(&module.as_str()) {
                    scan_router(&child_module(file, &module), prefix, routes);
                }
            }
            ".nest(" => {
                let (mount, router) = arguments
                    .split_once(',')
                    .unwrap_or_else(|| panic!("{}: cannot read .nest({arguments})", file.display()));
                let mount = mount.trim().trim_matches('"');
                let module = routes_module(router, file);
                scan_router(&child_module(file, &module), &format!("{prefix}{mount}"), routes);
            }
            _ => {
                let path = arguments
                    .split('"')
                    .nth(1)
                    .unwrap_or_else(|| panic!("{}: a route without a path literal", file.display()));
                // axum's `{*rest}` is OpenAPI's `{rest}`.
                let path = format!("{prefix}{}", path.replace("{*", "{"));
                let methods: Vec<&str> = METHODS
                    .into_iter()
                    .filter(|m| {
                        arguments.match_indices(&format!("{m}(")).any(|(i, _)| {
                            !arguments[..i]
                                .chars()
                                .next_back()
                                .is_some_and(|c| c.is_alphanumeric() || c == '_')
                        })
                    })
                    .collect();
                assert!(!methods.is_empty(), "no method found for route {path}");
                for method in methods {
                    routes.insert((method.to_owned(), path.clone()));
                }
            }
        }
    }
}

/// Every route of the server that the document must describe.
fn server_routes() -> BTreeSet<Operation> {
    let mut routes = BTreeSet::new();
    scan_router(Path::new("lib.rs"), "", &mut routes);
    for (method, path) in UNDESCRIBED_ROUTES {
        assert!(
            routes.remove(&(method.to_owned(), path.to_owned())),
            "{method} {path} is no longer routed; drop it from UNDESCRIBED_ROUTES"
        );
    }
    routes
}

/// `(method, path as written in the document)` for every operation.
pub(crate) fn documented_operations(doc: &Value) -> BTreeSet<Operation> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

/// The base URL a documented path is under: its own server, or the document's.
pub(crate) fn base<'a>(doc: &'a Value, path: &str) -> &'a str {
    let servers = doc["paths"][path]
        .get("servers")
        .unwrap_or(&doc["servers"])
        .as_array()
        .unwrap();
    assert_eq!(servers.len(), 1, "{path}: one server");
    servers[0]["url"].as_str().unwrap()
}

/// The parts of the service the document describes, told apart by their base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// `/api/v1`: RFC 9457 problems, Bearer tokens or sessions.
    Api,
    /// `/ledger`: public, RFC 9457 problems.
    Ledger,
    /// `/gateway/v1`: gateway tokens, errors in the model APIs' shapes.
    Gateway,
    /// `/osv`: OSV records, public or with a credential, RFC 9457 problems.
    Osv,
    /// `/.well-known/csaf`: the CSAF provider, public or under TLP, RFC 9457 problems.
    Csaf,
}

fn surface(doc: &Value, path: &str) -> Surface {
    match base(doc, path) {
        "/api/v1" => Surface::Api,
        "/ledger" => Surface::Ledger,
        "/gateway/v1" => Surface::Gateway,
        "/osv" => Surface::Osv,
        "/.well-known/csaf" => Surface::Csaf,
        other => panic!("{path}: unknown server {other}"),
    }
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = reference
                .strip_prefix('#')
                .and_then(|pointer| doc.pointer(pointer))
                .unwrap_or_else(|| panic!("{reference} does not resolve"));
            resolve(doc, target)
        }
        None => value,
    }
}

/// Path and operation parameters, resolved.
fn parameters<'a>(doc: &'a Value, path: &str, method: &str) -> Vec<&'a Value> {
    let item = &doc["paths"][path];
    [&item["parameters"], &item[method]["parameters"]]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .map(|p| resolve(doc, p))
        .collect()
}

/// The schema of an operation's JSON request body (none for a body of another media type, such as a file).
fn json_body_schema<'a>(doc: &'a Value, path: &str, method: &str) -> Option<&'a Value> {
    let body = resolve(doc, doc["paths"][path][method].get("requestBody")?);
    Some(resolve(
        doc,
        body["content"].get("application/json")?.get("schema")?,
    ))
}

async fn fetch_document(t: &TestApp) -> Value {
    let reply = t.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, 200, "served without authentication");
    assert_eq!(reply.content_type, "application/json");
    reply.body
}

#[tokio::test]
async fn the_document_describes_exactly_the_routes_the_server_has() {
    let t = spawn_app().await;
    let doc = fetch_document(&t).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1");

    let routes = server_routes();
    for prefix in ["/api/v1/", "/gateway/v1/", "/ledger/"] {
        assert!(
            routes.iter().filter(|(_, path)| path.starts_with(prefix)).count() >= 3,
            "the scan found too few routes under {prefix}: {routes:?}"
        );
    }
    let documented = documented_operations(&doc);
    let at_base: BTreeSet<Operation> = documented
        .iter()
        .map(|(method, path)| (method.clone(), format!("{}{path}", base(&doc, path))))
        .collect();
    let undocumented: Vec<_> = routes.difference(&at_base).collect();
    let unrouted: Vec<_> = at_base.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.json: {undocumented:?}"
    );
    assert!(unrouted.is_empty(), "documented but not routed: {unrouted:?}");

    let ids: Vec<&str> = documented
        .iter()
        .map(|(m, p)| doc["paths"][p][m]["operationId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "operationIds are unique"
    );
}

#[tokio::test]
async fn every_operation_declares_its_path_parameters_and_its_errors() {
    let t = spawn_app().await;
    let doc = fetch_document(&t).await;
    let problem = &doc["components"]["schemas"]["Problem"];
    for (method, path) in documented_operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let in_template: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .collect();
        let params = parameters(&doc, &path, &method);
        let declared: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameters are required"
                );
                p["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(declared, in_template, "{method} {path}: path parameters");

        let responses = op["responses"].as_object().unwrap();
        for response in responses.values() {
            assert!(resolve(&doc, response)["description"].is_string());
        }
        // Each error answer's one media type and schema, by status.
        let errors: BTreeMap<&str, (&str, &Value)> = responses
            .iter()
            .filter(|(status, _)| !status.starts_with('2'))
            .map(|(status, response)| {
                let content = resolve(&doc, response)["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {path} {status}: no body"));
                assert_eq!(content.len(), 1, "{method} {path} {status}: one media type");
                let (media, body) = content.iter().next().unwrap();
                (status.as_str(), (media.as_str(), resolve(&doc, &body["schema"])))
            })
            .collect();
        let has_body = json_body_schema(&doc, &path, &method).is_some();
        let all_problems = || {
            for (status, (media, schema)) in &errors {
                assert_eq!(
                    (*media, *schema),
                    ("application/problem+json", problem),
                    "{method} {path} {status}: errors are problems"
                );
            }
        };
        let mut expected = Vec::new();
        match surface(&doc, &path) {
            Surface::Api if op["operationId"] == "getOpenApi" => {
                // The document itself is public and cannot fail short of a server error.
                assert_eq!(op["security"], json!([]));
                all_problems();
            }
            Surface::Api => {
                all_problems();
                expected.extend(["401", "500"]);
                if has_body {
                    expected.extend(["400", "413", "422"]);
                }
                if !in_template.is_empty() {
                    expected.push("404");
                }
                if method != "get" {
                    // A session request without its CSRF token.
                    expected.push("403");
                }
            }
            Surface::Ledger => {
                assert_eq!(op["security"], json!([]), "{method} {path}: public");
                all_problems();
                if !in_template.is_empty() {
                    expected.push("404");
                }
                if params.iter().any(|p| p["in"] == "query") {
                    expected.push("422");
                }
            }
            Surface::Osv => {
                all_problems();
                expected.extend(["401", "500"]);
                if !in_template.is_empty() {
                    expected.push("404");
                }
            }
            Surface::Csaf => {
                all_problems();
                if !in_template.is_empty() {
                    expected.extend(["401", "404"]);
                }
            }
            Surface::Gateway => {
                assert_eq!(op["security"][0], json!({"gatewayToken": []}));
                let styles = ["GatewayOpenAiError", "GatewayAnthropicError"]
                    .map(|name| ("application/json", &doc["components"]["schemas"][name]));
                assert!(
                    styles
                        .iter()
                        .any(|style| errors.values().all(|error| error == style)),
                    "{method} {path}: every error has the shape of one model API"
                );
                expected.extend(["401", "403", "500"]);
                if has_body {
                    expected.extend(["400", "404", "413", "429", "502", "503", "504"]);
                }
            }
        }
        for status in expected {
            assert!(
                errors.contains_key(status),
                "{method} {path}: no {status} error answer"
            );
        }
    }
}

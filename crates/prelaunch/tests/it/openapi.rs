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

/// A value of the schema's shape: what a well-typed client would send.
fn sample(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema["enum"].get(0) {
        return first.clone();
    }
    if let Some(first) = schema["anyOf"].get(0).or(schema["oneOf"].get(0)) {
        return sample(doc, first);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .find(|k| *k != "null")
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    match kind.as_str() {
        Some("string") if schema["format"] == "uuid" => json!(Uuid::now_v7()),
        Some("string") => json!("x"),
        Some("integer") => json!(schema["minimum"].as_i64().unwrap_or(1)),
        Some("number") => json!(schema["minimum"].as_f64().unwrap_or(0.5)),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => {
            let mut object = serde_json::Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                object.insert(name.clone(), sample(doc, property));
            }
            Value::Object(object)
        }
        _ => panic!("no sample for {schema}"),
    }
}

/// A problem that says the request's shape (not its content) was wrong: a body or query the server could
/// not read into its types.
fn is_shape_problem(reply: &Reply) -> bool {
    let detail = reply.body["detail"].as_str().unwrap_or("");
    reply.status == 400
        || (reply.status == 422
            && ["unknown field", "missing field", "invalid type", "invalid value"]
                .iter()
                .any(|words| detail.contains(words)))
}

/// The path with a fresh id for each parameter.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.starts_with('{') {
            true => Uuid::now_v7().to_string(),
            false => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn request_schemas_accept_and_reject_what_the_server_does() {
    let t = spawn_app().await;
    let doc = fetch_document(&t).await;
    let admin = t.program_admin().await;
    let mut bodies = 0;
    let mut queries = 0;
    for (method, path) in documented_operations(&doc) {
        let m: Method = method.to_uppercase().parse().unwrap();
        let url = format!("{}{}", base(&doc, &path), concrete(&path));
        // The gateway's bodies are the model APIs' own, passed on as they are; only `model` is read. An
        // import's body is a document of another format (CSAF, OSV), held to that format's own rules.
        let body_schema = json_body_schema(&doc, &path, &method)
            .filter(|_| surface(&doc, &path) != Surface::Gateway && path != "/reports/import");
        if let Some(schema) = body_schema {
            bodies += 1;
            assert_eq!(
                schema["additionalProperties"], false,
                "{method} {path}: request bodies admit no unknown field"
            );
            let full = sample(&doc, schema);
            let reply = t
                .call(m.clone(), &url, Some(admin.token.as_str()), Some(full.clone()))
                .await;
            assert!(
                !is_shape_problem(&reply),
                "{method} {path}: {full} was refused: {}",
                reply.body
            );

            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().unwrap())
                .collect();
            for name in full.as_object().unwrap().keys() {
                let mut body = full.clone();
                body.as_object_mut().unwrap().remove(name);
                let reply = t
                    .call(m.clone(), &url, Some(admin.token.as_str()), Some(body))
                    .await;
                if required.contains(name.as_str()) {
                    reply.problem(422, "invalid-field");
                    assert_eq!(reply.body["field"], *name, "{method} {path}: {}", reply.body);
                } else {
                    assert!(
                        !is_shape_problem(&reply),
                        "{method} {path}: {name} is optional: {}",
                        reply.body
                    );
                }
            }

            let mut extra = full.clone();
            extra["surplus"] = json!(1);
            let reply = t
                .call(m.clone(), &url, Some(admin.token.as_str()), Some(extra))
                .await;
            reply.problem(422, "invalid-field");
            assert_eq!(reply.body["field"], "surplus", "{method} {path}");
        }

        // `(name, a value, required)` of each query parameter.
        let query_params: Vec<(&str, String, bool)> = parameters(&doc, &path, &method)
            .into_iter()
            .filter(|p| p["in"] == "query")
            .map(|p| {
                let value = match sample(&doc, &p["schema"]) {
                    Value::Array(_) => sample(&doc, &p["schema"]["items"]),
                    other => other,
                };
                let value = value.as_str().map(str::to_owned).unwrap_or(value.to_string());
                (p["name"].as_str().unwrap(), value, p["required"] == true)
            })
            .collect();
        if !query_params.is_empty() {
            queries += 1;
            // The required parameters, but `left_out`, and `extra`.
            let query = |left_out: &str, extra: &str| {
                let mut pairs: Vec<String> = query_params
                    .iter()
                    .filter(|(name, _, required)| *required && *name != left_out)
                    .map(|(name, value, _)| format!("{name}={value}"))
                    .collect();
                pairs.extend((!extra.is_empty()).then(|| extra.to_owned()));
                format!("{url}?{}", pairs.join("&"))
            };
            // Sent with the operation's own method (a file upload's parameters are on a POST), no body.
            let send = |url: String| {
                let (t, m, token) = (&t, m.clone(), admin.token.clone());
                async move { t.call(m, &url, Some(token.as_str()), None).await }
            };
            let reply = send(query("", "")).await;
            assert!(!is_shape_problem(&reply), "{method} {path}: {}", reply.body);
            for (name, value, required) in &query_params {
                if *required {
                    let reply = send(query(name, "")).await;
                    reply.problem(422, "invalid-field");
                    assert_eq!(reply.body["field"], *name, "{method} {path}: {}", reply.body);
                } else {
                    let reply = send(query("", &format!("{name}={value}"))).await;
                    assert!(
                        !is_shape_problem(&reply),
                        "{method} {path}?{name}={value}: {}",
                        reply.body
                    );
                }
            }
            let reply = send(query("", "surplus=1")).await;
            reply.problem(422, "invalid-field");
            assert_eq!(reply.body["field"], "surplus", "{method} {path}");
        }
    }
    assert!(
        bodies >= 15 && queries >= 13,
        "only {bodies} bodies and {queries} queries checked"
    );
}

/// Checks `value` against a schema of the subset the document uses. Objects are read strictly: a key the
/// schema does not name is an error unless `additionalProperties` gives a schema for it.
fn conform(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    conform_inner(doc, schema, value, at, true, errors);
}

fn conform_inner(
    doc: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    strict: bool,
    errors: &mut Vec<String>,
) {
    if let Some(reference) = schema.get("$ref") {
        conform_inner(
            doc,
            resolve(doc, &json!({"$ref": reference})),
            value,
            at,
            false,
            errors,
        );
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conform_inner(doc, part, value, at, false, errors);
    }
    if let Some(kinds) = schema.get("type") {
        let kinds: Vec<&str> = match kinds {
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            other => vec![other.as_str().unwrap()],
        };
        let fits = kinds.iter().any(|kind| match *kind {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            other => panic!("unknown type {other}"),
        });
        if !fits {
            errors.push(format!("{at}: {value} is not {kinds:?}"));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(text) = value.as_str() {
        let ok = match schema["format"].as_str() {
            Some("uuid") => text.parse::<Uuid>().is_ok(),
            Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: {text:?} is not a {}", schema["format"]));
        }
    }
    if let (Some(n), Some(min)) = (value.as_i64(), schema["minimum"].as_i64())
        && n < min
    {
        errors.push(format!("{at}: {n} < {min}"));
    }
    if let (Some(n), Some(max)) = (value.as_i64(), schema["maximum"].as_i64())
        && n > max
    {
        errors.push(format!("{at}: {n} > {max}"));
    }
    if let Some(items) = value.as_array()
        && let Some(item_schema) = schema.get("items")
    {
        for (i, item) in items.iter().enumerate() {
            conform_inner(doc, item_schema, item, &format!("{at}[{i}]"), true, errors);
        }
    }
    let Some(object) = value.as_object() else {
        return;
    };
    for name in schema["required"].as_array().into_iter().flatten() {
        if !object.contains_key(name.as_str().unwrap()) {
            errors.push(format!("{at}: missing {name}"));
        }
    }
    let known = known_properties(doc, schema);
    for (key, item) in object {
        let here = format!("{at}.{key}");
        if let Some(property) = schema["properties"].get(key) {
            conform_inner(doc, property, item, &here, true, errors);
        } else if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()) {
            if let Some(names) = schema.get("propertyNames") {
                conform_inner(doc, names, &json!(key), &here, true, errors);
            }
            conform_inner(doc, extra, item, &here, true, errors);
        } else if strict && !known.is_empty() && !known.contains(key.as_str()) && !admits_any(doc, schema) {
            errors.push(format!("{here}: not in the schema"));
        }
    }
}

/// Whether a schema, through `$ref` and `allOf`, takes properties it does not name (`additionalProperties: {}`).
fn admits_any(doc: &Value, schema: &Value) -> bool {
    let schema = resolve(doc, schema);
    schema["additionalProperties"] == json!({})
        || schema["allOf"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|part| admits_any(doc, part))
}

/// Every property a schema names, through `$ref` and `allOf`.
fn known_properties<'a>(doc: &'a Value, schema: &'a Value) -> BTreeSet<&'a str> {
    let schema = resolve(doc, schema);
    let mut names: BTreeSet<&str> = schema["properties"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.keys().map(String::as_str))
        .collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(known_properties(doc, part));
    }
    names
}

/// One request: who sends it (no one: no credential), method, documented path, actual path, body, and the
/// status it must answer.
type Step<'a> = (
    Option<&'a Persona>,
    &'static str,
    &'static str,
    String,
    Option<Value>,
    u16,
);

/// The events of a server-sent event stream, each as an EventSource client reads it: `data` lines joined by
/// newlines, `event`, `id` and `retry` as sent, comments left out.
fn events_of(text: &str) -> Value {
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut event = serde_json::Map::new();
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines().filter(|l| !l.starts_with(':')) {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => data.push(value),
                "retry" => {
                    event.insert(field.into(), json!(value.parse::<u64>().unwrap()));
                }
                _ => {
                    event.insert(field.into(), json!(value));
                }
            }
        }
        if !data.is_empty() {
            event.insert("data".into(), json!(data.join("\n")));
        }
        events.push(Value::Object(event));
    }
    Value::Array(events)
}

/// A response, its body read by its media type: JSON parsed, an event stream as its events, anything else as
/// text (Null when empty).
async fn reply_of(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.bytes().await.unwrap();
    let media = content_type.split(';').next().unwrap_or("").trim();
    let body = match (
        bytes.is_empty(),
        media == "application/json" || media.ends_with("+json"),
    ) {
        (true, _) => Value::Null,
        (false, true) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        (false, false) if media == "text/event-stream" => events_of(&String::from_utf8_lossy(&bytes)),
        (false, false) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
    };
    Reply {
        status,
        content_type,
        body,
        headers,
    }
}

/// Drives the service over HTTP and checks every answer against the document.
struct Checked<'a> {
    t: &'a TestApp,
    doc: Value,
    exercised: BTreeSet<Operation>,
}

impl Checked<'_> {
    /// The URL of `path`, under the base of the documented `template`.
    fn url(&self, template: &str, path: &str) -> String {
        self.t.url(&format!("{}{path}", base(&self.doc, template)))
    }

    /// Sends a request and asserts that its status is documented for `template` and its body conforms.
    async fn call(
        &mut self,
        who: Option<&Persona>,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.t.client.request(method.clone(), self.url(template, path));
        if let Some(who) = who {
            request = request.bearer_auth(&who.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = reply_of(request.send().await.unwrap()).await;
        self.check(&method, template, &reply);
        reply
    }

    fn check(&mut self, method: &Method, template: &str, reply: &Reply) {
        let key = method.as_str().to_lowercase();
        let op = &self.doc["paths"][template][&key];
        assert!(op.is_object(), "{method} {template} is not documented");
        let status = reply.status.as_str();
        let response = op["responses"]
            .get(status)
            .map(|r| resolve(&self.doc, r))
            .unwrap_or_else(|| {
                panic!(
                    "{method} {template}: status {status} is not documented: {}",
                    reply.body
                )
            });
        match response.get("content") {
            None => assert!(
                reply.body.is_null(),
                "{method} {template} {status}: undocumented body"
            ),
            Some(content) => {
                let media = reply.content_type.split(';').next().unwrap_or("").trim();
                let schema = &content
                    .get(media)
                    .unwrap_or_else(|| panic!("{method} {template} {status}: {media} is not documented"))["schema"];
                let mut errors = Vec::new();
                if media == "text/event-stream" {
                    // The schema describes each event.
                    let events = reply.body.as_array().unwrap();
                    assert!(!events.is_empty(), "{method} {template}: an empty stream");
                    for (i, event) in events.iter().enumerate() {
                        conform(&self.doc, schema, event, &format!("$[{i}]"), &mut errors);
                    }
                } else {
                    conform(&self.doc, schema, &reply.body, "$", &mut errors);
                }
                assert!(
                    errors.is_empty(),
                    "{method} {template} {status}: {errors:#?}\n{}",
                    reply.body
                );
            }
        }
        self.exercised.insert((key, template.to_owned()));
    }

    /// Creates an object with a POST that must answer 201; returns the object and its id.
    async fn create(
        &mut self,
        who: Option<&Persona>,
        template: &str,
        path: &str,
        body: Value,
    ) -> (Value, String) {
        let reply = self.call(who, Method::POST, template, path, Some(body)).await;
        assert_eq!(reply.status, 201, "POST {path}: {}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        (reply.body, id)
    }

    /// Runs each request of a table, asserting its status, and returns the answers in order.
    async fn run(&mut self, steps: Vec<Step<'_>>) -> Vec<Reply> {
        let mut replies = Vec::new();
        for (who, method, template, path, body, status) in steps {
            let method: Method = method.parse().unwrap();
            let reply = self.call(who, method.clone(), template, &path, body).await;
            assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
            replies.push(reply);
        }
        replies
    }

    /// Sends a raw body with a content type, for the problems a well-typed client never meets.
    async fn raw(
        &mut self,
        who: &Persona,
        template: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let response = self
            .t
            .client
            .post(self.url(template, path))
            .bearer_auth(&who.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let reply = reply_of(response).await;
        self.check(&Method::POST, template, &reply);
        reply
    }
}

#[tokio::test]
async fn every_answer_conforms_to_the_document() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let doc = fetch_document(&t).await;
    let mut c = Checked {
        t: &t,
        doc,
        exercised: BTreeSet::new(),
    };
    let (pa, dev, member) = (Some(&w.program_admin), Some(&w.dev_admin), Some(&w.dev_member));
    let (ag, ev, other) = (
        Some(&w.agency_admin),
        Some(&w.evaluator),
        Some(&w.other_evaluator),
    );

    // The answers later steps build on.
    let me = c.call(ev, Method::GET, "/me", "/me", None).await;
    assert!(
        me.ok()["csrf_token"].is_null(),
        "a Bearer caller has no CSRF token"
    );
    let orgs = c
        .call(ev, Method::GET, "/organizations", "/organizations?limit=2", None)
        .await;
    let cursor = orgs.ok()["next_cursor"].as_str().unwrap().to_owned();
    let third = json!({"kind": "agency", "name": "Third Agency"});
    let (_, third) = c.create(pa, "/organizations", "/organizations", third).await;
    let third = format!("/organizations/{third}");
    let token = json!({"name": "ci", "expires_in_days": 30});
    let (token, token_id) = c.create(dev, "/tokens", "/tokens", token).await;
    assert!(token["token"].as_str().unwrap().starts_with("plk_"));
    let token = format!("/tokens/{token_id}");
    let launch = t.clock_now() + chrono::Duration::days(20);
    let new_notice = json!({
        "model_name": "Orion", "model_version": "2", "planned_launch_at": launch.to_rfc3339(),
        "model_card": "# Orion", "shared_with": [w.agency], "confirm_duplicate": true,
    });
    // Three notices: one to work on, two to withdraw.
    let mut filed = Vec::new();
    for _ in 0..3 {
        let (notice, id) = c.create(dev, "/notices", "/notices", new_notice.clone()).await;
        assert_eq!(
            notice["shared_with"],
            json!([w.agency]),
            "the developer sees whom it shared with"
        );
        filed.push(id);
    }
    let n = format!("/notices/{}", filed[0]);
    let withdrawable: Vec<String> = filed[1..]
        .iter()
        .map(|id| format!("/notices/{id}/withdraw"))
        .collect();
    let member_path = format!("/users/{}", w.dev_member.user_id);
    let later =
        json!({"planned_launch_at": (launch + chrono::Duration::days(10)).to_rfc3339(), "reason": "slip"});
    let past = json!({"planned_launch_at": "2020-01-01T00:00:00Z"});
    let assign = |person: &Persona| Some(json!({"user_id": person.user_id}));
    let duplicate = Some(json!({"kind": "agency", "name": "third agency"}));
    let invite = |email: &str| Some(json!({"org_id": w.agency, "email": email}));
    let unassign = format!("{n}/assignments/{}", w.evaluator2.user_id);
    let pending = |email: &str| json!({"org_id": w.agency, "email": email});
    let (_, resent) = c
        .create(
            ag,
            "/invitations",
            "/invitations",
            pending("resent@agency.example"),
        )
        .await;
    let (_, revoked) = c
        .create(
            ag,
            "/invitations",
            "/invitations",
            pending("revoked@agency.example"),
        )
        .await;
    let (resent, revoked) = (
        format!("/invitations/{resent}/resend"),
        format!("/invitations/{revoked}"),
    );
    let agency_invitations = format!("/organizations/{}/invitations", w.agency);
    let wrong_password =
        Some(json!({"current_password": "not it", "new_password": "a long unguessable phrase"}));

    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (None, "GET", "/openapi.json", "/openapi.json".into(), None, 200),
        (None, "GET", "/me", "/me".into(), None, 401),
        (ev, "GET", "/organizations", format!("/organizations?cursor={cursor}"), None, 200),
        (ev, "GET", "/organizations", "/organizations?limit=0".into(), None, 422),
        (pa, "POST", "/organizations", "/organizations".into(), duplicate.clone(), 409),
        (dev, "POST", "/organizations", "/organizations".into(), duplicate, 403),
        (dev, "GET", "/organizations/{id}", third.clone(), None, 200),
        (dev, "GET", "/organizations/{id}", "/organizations/not-an-id".into(), None, 404),
        (pa, "PATCH", "/organizations/{id}", third.clone(), Some(json!({"active": false})), 200),
        (pa, "PATCH", "/organizations/{id}", third, Some(json!({"active": "no"})), 422),
        // People, invitations, tokens, policy.
        (ag, "GET", "/users", "/users".into(), None, 200),
        (ag, "GET", "/users", format!("/users?org_id={}", w.other_agency), None, 404),
        (dev, "GET", "/users/{id}", member_path.clone(), None, 200),
        (dev, "PATCH", "/users/{id}", member_path.clone(), Some(json!({"active": false})), 200),
        (member, "PATCH", "/users/{id}", member_path, Some(json!({"active": true})), 401),
        (ag, "POST", "/invitations", "/invitations".into(), invite("new@agency.example"), 201),
        (ag, "POST", "/invitations", "/invitations".into(), invite(&w.evaluator.email), 409),
        (ag, "GET", "/organizations/{id}/invitations", agency_invitations.clone(), None, 200),
        (ev, "GET", "/organizations/{id}/invitations", agency_invitations, None, 403),
        (ag, "POST", "/invitations/{id}/resend", resent.clone(), None, 201),
        (ag, "POST", "/invitations/{id}/resend", resent, None, 409),
        (ag, "DELETE", "/invitations/{id}", revoked.clone(), None, 200),
        (ag, "DELETE", "/invitations/{id}", revoked, None, 409),
        (dev, "PUT", "/me/password", "/me/password".into(), wrong_password, 422),
        (dev, "GET", "/sessions", "/sessions".into(), None, 200),
        (dev, "DELETE", "/sessions/{id}", format!("/sessions/{}", uuid::Uuid::now_v7()), None, 404),
        (dev, "POST", "/sessions/end-others", "/sessions/end-others".into(), None, 200),
        (dev, "GET", "/tokens", "/tokens".into(), None, 200),
        (dev, "DELETE", "/tokens/{id}", token.clone(), None, 200),
        (dev, "DELETE", "/tokens/{id}", token, None, 409),
        (dev, "GET", "/policy", "/policy".into(), None, 200),
        (pa, "PUT", "/policy", "/policy".into(), Some(json!({"window_days": 30})), 200),
        (dev, "PUT", "/policy", "/policy".into(), Some(json!({"window_days": 30})), 403),
        // Notices and their dates.
        (ag, "POST", "/notices", "/notices".into(), Some(new_notice.clone()), 403),
        (ev, "GET", "/notices", "/notices?state=pending".into(), None, 422),
        (ev, "GET", "/notices/{id}", n.clone(), None, 200),
        (other, "GET", "/notices/{id}", n.clone(), None, 404),
        (dev, "PATCH", "/notices/{id}", n.clone(), Some(json!({"model_card": "# Orion\nEdited."})), 200),
        (dev, "PATCH", "/notices/{id}", n.clone(), Some(json!({"model_version": " "})), 422),
        (ev, "PATCH", "/notices/{id}", n.clone(), Some(json!({"model_version": "3"})), 403),
        (ev, "GET", "/notices/{id}/history", format!("{n}/history"), None, 200),
        (dev, "PUT", "/notices/{id}/launch", format!("{n}/launch"), Some(later.clone()), 200),
        (ev, "PUT", "/notices/{id}/launch", format!("{n}/launch"), Some(later), 403),
        (dev, "PUT", "/notices/{id}/launch", format!("{n}/launch"), Some(past), 422),
        // Assignments.
        (ag, "POST", "/notices/{id}/assignments", format!("{n}/assignments"), assign(&w.evaluator), 201),
        (ag, "POST", "/notices/{id}/assignments", format!("{n}/assignments"), assign(&w.evaluator2), 201),
        (ev, "POST", "/notices/{id}/assignments", format!("{n}/assignments"), assign(&w.evaluator), 403),
        (dev, "GET", "/notices/{id}/assignments", format!("{n}/assignments?limit=1"), None, 200),
        (ag, "DELETE", "/notices/{id}/assignments/{user_id}", unassign.clone(), None, 204),
        (ag, "DELETE", "/notices/{id}/assignments/{user_id}", unassign, None, 404),
    ];
    c.run(steps).await;
    for (who, developer) in [(dev, true), (ev, false)] {
        let filtered = "/notices?state=in_review,scheduled&limit=1".to_owned();
        let page = c.run(vec![(who, "GET", "/notices", filtered, None, 200)]).await;
        let first = &page[0].body["items"][0];
        assert!(filed.iter().any(|id| first["id"] == id.as_str()), "{first}");
        assert_eq!(
            first.get("shared_with").is_some(),
            developer,
            "only the developer sees the sharing"
        );
    }
    exercise_gateway(&mut c, &w, &n).await;

    let finding = json!({
        "title": "Writes working exploits", "domain": "cyber_offense", "severity": "high",
        "description": "Details.", "evidence": ["https://runs.example/1"],
    });
    let findings = format!("{n}/findings");
    let (_, finding) = c.create(ev, "/notices/{id}/findings", &findings, finding).await;
    let finding = format!("/findings/{finding}");
    let forward = format!("{finding}/report");
    let assessment = json!({"levels": {"cyber_offense": "high", "autonomy": "low"}, "rationale": "Because."});
    let assessments = format!("{n}/assessments");
    let (assessment, assessment_id) = c
        .create(ag, "/notices/{id}/assessments", &assessments, assessment)
        .await;
    assert_eq!(assessment["overall"], "high");
    let assessment = format!("/assessments/{assessment_id}");
    let weather = Some(json!({"title": "t", "domain": "weather", "severity": "high", "description": "d"}));
    // A finding's life: edits with history, status by side, the response thread, sharing; a draft assessment
    // published by the agency's admin.
    let draft = json!({"levels": {"autonomy": "moderate"}, "rationale": "Draft.", "draft": true});
    let (drafted, draft) = c
        .create(ev, "/notices/{id}/assessments", &assessments, draft)
        .await;
    assert_eq!(drafted["draft"], true);
    let publish = format!("/assessments/{draft}/publish");
    let (status, responses) = (format!("{finding}/status"), format!("{finding}/responses"));
    let (share, history) = (format!("{finding}/share"), format!("{finding}/history"));
    let to = |status: &str| Some(json!({"status": status}));
    let say = |body: &str| Some(json!({"body": body}));
    let share_with = |org: uuid::Uuid| Some(json!({"shared_with": [org]}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "PATCH", "/findings/{id}", finding.clone(), Some(json!({"severity": "critical"})), 200),
        (ev, "PATCH", "/findings/{id}", finding.clone(), Some(json!({"severity": "urgent"})), 422),
        (dev, "PATCH", "/findings/{id}", finding.clone(), Some(json!({"title": "Mine now"})), 403),
        (dev, "GET", "/findings/{id}/history", history.clone(), None, 200),
        (other, "GET", "/findings/{id}/history", history, None, 404),
        (dev, "POST", "/findings/{id}/status", status.clone(), to("acknowledged"), 200),
        (dev, "POST", "/findings/{id}/status", status.clone(), to("closed"), 403),
        (dev, "POST", "/findings/{id}/status", status.clone(), to("fixed"), 422),
        (ev, "POST", "/findings/{id}/status", status.clone(), to("closed"), 200),
        (ev, "POST", "/findings/{id}/status", status, to("closed"), 409),
        (dev, "POST", "/findings/{id}/responses", responses.clone(), say("We are on it."), 201),
        (dev, "POST", "/findings/{id}/responses", responses.clone(), say(" "), 422),
        (other, "POST", "/findings/{id}/responses", responses.clone(), say("Me too."), 404),
        (ev, "GET", "/findings/{id}/responses", format!("{responses}?limit=1"), None, 200),
        (ev, "GET", "/findings/{id}/responses", format!("{responses}?limit=0"), None, 422),
        (ev, "POST", "/findings/{id}/share", share.clone(), share_with(w.other_agency), 422),
        (dev, "POST", "/findings/{id}/share", share.clone(), share_with(w.agency), 403),
        (ev, "POST", "/findings/{id}/share", share, share_with(w.agency), 200),
        (dev, "GET", "/assessments/{id}", format!("/assessments/{draft}"), None, 404),
        (ev, "POST", "/assessments/{id}/publish", publish.clone(), None, 403),
        (ag, "POST", "/assessments/{id}/publish", publish.clone(), None, 200),
        (ag, "POST", "/assessments/{id}/publish", publish, None, 409),
    ];
    c.run(steps).await;
    let reason = Some(json!({"reason": "cancelled"}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "POST", "/notices/{id}/findings", findings.clone(), weather, 422),
        (dev, "GET", "/notices/{id}/findings", findings, None, 200),
        (dev, "GET", "/findings/{id}", finding.clone(), None, 200),
        (other, "GET", "/findings/{id}", finding, None, 404),
        (dev, "GET", "/notices/{id}/assessments", assessments, None, 200),
        (dev, "GET", "/assessments/{id}", assessment.clone(), None, 200),
        (other, "GET", "/assessments/{id}", assessment, None, 404),
        // Launch, withdraw (with and without a body), and what follows.
        (dev, "POST", "/notices/{id}/launch", format!("{n}/launch"), None, 200),
        (dev, "POST", "/notices/{id}/launch", format!("{n}/launch"), None, 409),
        (dev, "POST", "/notices/{id}/withdraw", withdrawable[0].clone(), reason, 200),
        (dev, "POST", "/notices/{id}/withdraw", withdrawable[1].clone(), None, 200),
        (dev, "POST", "/notices/{id}/withdraw", format!("{n}/withdraw"), None, 409),
        // The audit trail.
        (pa, "GET", "/audit", format!("/audit?object_id={}&limit=2", filed[0]), None, 200),
        (dev, "GET", "/audit", "/audit".into(), None, 403),
    ];
    c.run(steps).await;
    exercise_ledger(&mut c, &w, &filed[0]).await;

    // The inbox, once the outbox has run.
    crate::notifications::deliver(&t).await;
    let listed = c
        .run(vec![(
            ag,
            "GET",
            "/notifications",
            "/notifications?limit=1".into(),
            None,
            200,
        )])
        .await;
    let read = format!(
        "/notifications/{}/read",
        listed[0].body["items"][0]["id"].as_str().unwrap()
    );
    let prefs = |kind: &str| Some(json!({"email_kinds": [kind], "email_delivery": "digest"}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ag, "GET", "/notifications", "/notifications?unread=maybe".into(), None, 422),
        (ag, "GET", "/notifications/unread-count", "/notifications/unread-count".into(), None, 200),
        (ag, "POST", "/notifications/{id}/read", read.clone(), None, 200),
        (other, "POST", "/notifications/{id}/read", read, None, 404),
        (ag, "POST", "/notifications/read-all", "/notifications/read-all".into(), None, 200),
        (ag, "GET", "/notifications/preferences", "/notifications/preferences".into(), None, 200),
        (ag, "PUT", "/notifications/preferences", "/notifications/preferences".into(), prefs("notice.shared"), 200),
        (ag, "PUT", "/notifications/preferences", "/notifications/preferences".into(), prefs("notice.forged"), 422),
    ];
    c.run(steps).await;

    // Webhooks: the secret once, then the endpoint without it.
    let hook = json!({"url": "https://hooks.example.com/in", "events": ["notice.shared"]});
    let (created, hook) = c.create(dev, "/webhooks", "/webhooks", hook).await;
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let hook = format!("/webhooks/{hook}");
    let bad_hook = Some(json!({"url": "ftp://hooks.example.com/in", "events": ["notice.shared"]}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (dev, "GET", "/webhooks", "/webhooks".into(), None, 200),
        (ev, "GET", "/webhooks", "/webhooks".into(), None, 403),
        (dev, "POST", "/webhooks", "/webhooks".into(), bad_hook, 422),
        (dev, "GET", "/webhooks/{id}", hook.clone(), None, 200),
        (ag, "GET", "/webhooks/{id}", hook.clone(), None, 404),
        (dev, "PATCH", "/webhooks/{id}", hook.clone(), Some(json!({"enabled": false})), 200),
        (dev, "PATCH", "/webhooks/{id}", hook.clone(), Some(json!({"events": []})), 422),
        (dev, "POST", "/webhooks/{id}/test", format!("{hook}/test"), None, 202),
        (dev, "GET", "/webhooks/{id}/deliveries", format!("{hook}/deliveries"), None, 200),
        (dev, "DELETE", "/webhooks/{id}", hook.clone(), None, 204),
        (dev, "DELETE", "/webhooks/{id}", hook, None, 404),
    ];
    c.run(steps).await;

    // Federation peers: coordinators', the credential never answered.
    let co = Some(&w.coordinator);
    let peer = json!({
        "name": "Peer", "api_root": "https://peer.example/taxii2/api/", "collection_id": Uuid::from_u128(7),
        "token": "tok_peer", "username": "us", "tlp": "green", "interval_seconds": 3600,
    });
    let (created, peer) = c.create(co, "/federation/peers", "/federation/peers", peer).await;
    assert!(!created.to_string().contains("tok_peer"));
    let peer = format!("/federation/peers/{peer}");
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (co, "GET", "/federation/peers", "/federation/peers".into(), None, 200),
        (dev, "GET", "/federation/peers", "/federation/peers".into(), None, 403),
        (co, "POST", "/federation/peers", "/federation/peers".into(), Some(json!({"name": "x"})), 422),
        (co, "GET", "/federation/peers/{id}", peer.clone(), None, 200),
        (co, "PATCH", "/federation/peers/{id}", peer.clone(), Some(json!({"enabled": false, "username": null})), 200),
        (co, "PATCH", "/federation/peers/{id}", peer.clone(), Some(json!({"tlp": "purple"})), 422),
        (co, "POST", "/federation/peers/{id}/pull", format!("{peer}/pull"), None, 202),
        (co, "DELETE", "/federation/peers/{id}", peer.clone(), None, 204),
        (co, "DELETE", "/federation/peers/{id}", peer, None, 404),
    ];
    c.run(steps).await;

    // CVSS scoring: the score, or the problem with the vector.
    let vector = |v: &str| Some(json!({"vector": v}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "POST", "/cvss", "/cvss".into(), vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/CR:H"), 200),
        (dev, "POST", "/cvss", "/cvss".into(), vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A"), 200),
        (dev, "POST", "/cvss", "/cvss".into(), vector("CVSS:4.0/AV:N"), 422),
    ];
    c.run(steps).await;

    exercise_clearinghouse(&mut c, &w).await;

    exercise_reports(&mut c, &w, &forward).await;

    exercise_eval_runs(&mut c, &w).await;

    // What a well-typed client never sends.
    let too_large = vec![b' '; 300 * 1024];
    let bodies: [(&str, Vec<u8>, u16); 3] = [
        ("application/json", b"{\"model_name\": ".to_vec(), 400),
        ("text/plain", b"{}".to_vec(), 415),
        ("application/json", too_large, 413),
    ];
    for (content_type, body, status) in bodies {
        let reply = c
            .raw(&w.dev_admin, "/notices", "/notices", content_type, body)
            .await;
        assert_eq!(reply.status, status, "{content_type}: {}", reply.body);
    }

    let untested: Vec<_> = documented_operations(&c.doc)
        .difference(&c.exercised)
        .cloned()
        .collect();
    assert!(
        untested.is_empty(),
        "operations this test does not exercise: {untested:?}"
    );
}

/// Evaluation runs on a notice with a model behind the gateway: started (an example suite), listed, watched to
/// its end (its results), its samples read, cancelled (a longer one), bad input and an invisible run refused.
async fn exercise_eval_runs(c: &mut Checked<'_>, w: &World) {
    let (ev, other) = (Some(&w.evaluator), Some(&w.other_evaluator));
    let up = Upstream::start().await;
    let notice = crate::gateway::notice_with_evaluator(c.t, w, 10).await;
    let connection = crate::gateway::connection_body(&up, json!({"model": "orion-1.0"}));
    c.t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/connections"),
        connection,
    )
    .await
    .ok();
    let suite = |epochs: u32| json!({"notice_id": notice, "model": "orion-1.0", "suite": "knowledge", "epochs": epochs});
    let (_, run) = c.create(ev, "/eval-runs", "/eval-runs", suite(1)).await;
    let path = format!("/eval-runs/{run}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c.t.get(&w.evaluator, &format!("/api/v1{path}")).await.ok()["state"] != "completed" {
        assert!(std::time::Instant::now() < deadline, "the run did not complete");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let (_, long) = c.create(ev, "/eval-runs", "/eval-runs", suite(100)).await;
    let bad = Some(json!({"notice_id": notice, "model": "orion-1.0", "task": "name = ", "dataset": "{}"}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "GET", "/eval-runs", format!("/eval-runs?notice_id={notice}"), None, 200),
        (ev, "GET", "/eval-runs/{id}", path.clone(), None, 200),
        (other, "GET", "/eval-runs/{id}", path.clone(), None, 404),
        (ev, "GET", "/eval-runs/{id}/results", format!("{path}/results?limit=2"), None, 200),
        (ev, "GET", "/eval-runs/{id}/compare/{other}", format!("{path}/compare/{long}?limit=2"), None, 200),
        (other, "GET", "/eval-runs/{id}/compare/{other}", format!("{path}/compare/{long}"), None, 404),
        (ev, "POST", "/eval-runs", "/eval-runs".into(), bad, 422),
        (ev, "POST", "/eval-runs/{id}/cancel", format!("/eval-runs/{long}/cancel"), None, 200),
        (ev, "POST", "/eval-runs/{id}/cancel", format!("{path}/cancel"), None, 409),
        (ev, "GET", "/eval-suites", "/eval-suites".into(), None, 200),
        (Some(&w.dev_admin), "GET", "/eval-suites", "/eval-suites".into(), None, 403),
        (ev, "GET", "/eval-runs/{id}/log", format!("{path}/log?format=inspect"), None, 200),
        (ev, "GET", "/eval-runs/{id}/log", format!("{path}/log?format=csv"), None, 422),
        (other, "GET", "/eval-runs/{id}/log", format!("{path}/log?format=inspect"), None, 404),
        (other, "POST", "/notices/{id}/eval-runs/import", format!("/notices/{notice}/eval-runs/import"), None, 404),
    ];
    c.run(steps).await;
    // An Inspect log imported as a run; a body that is not one refused naming the problem.
    let import = format!("/notices/{notice}/eval-runs/import");
    let template = "/notices/{id}/eval-runs/import";
    let log = crate::eval_io::tiny_log();
    let reply = c
        .raw(&w.evaluator, template, &import, "application/octet-stream", log)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = c
        .raw(
            &w.evaluator,
            template,
            &import,
            "application/octet-stream",
            b"not a log".to_vec(),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
}

/// The clearinghouse: a vendor's policy, a case opened, triaged (the vendor matched), its vendors notified,
/// a participant added and removed, the vendor's status, the discussion, the embargo, a subscription, the
/// metrics, publication, and the public advisory.
async fn exercise_clearinghouse(c: &mut Checked<'_>, w: &World) {
    let (co, ve, op) = (Some(&w.coordinator), Some(&w.vendor), Some(&w.operator));
    let da = Some(&w.dev_admin);
    let policy = json!({"ai_found_public": false, "require_reproducer": false, "products": ["pkg:npm/acme"]});
    let new_case =
        json!({"title": "Overflow", "summary": "A long header.", "tlp": "clear", "sectors": ["energy"]});
    let (_, case) = c.create(co, "/cases", "/cases", new_case).await;
    let case_id: uuid::Uuid = case.parse().unwrap();
    let report = crate::cases::file_report(
        c.t,
        &crate::cases::Report::new(case_id, &w.dev_admin, c.t.clock_now()),
    )
    .await;
    let k = format!("/cases/{case}");
    let operator = format!("{k}/participants/{}", w.operator.org_id);
    let status = format!("{k}/vendors/{}/status", w.vendor.org_id);
    let ends = (c.t.clock_now() + chrono::Duration::days(30)).to_rfc3339();
    let to = |state: &str| Some(json!({"to": state, "reason": "as planned"}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ve, "PUT", "/vendor-policy", "/vendor-policy".into(), Some(policy), 200),
        (ve, "GET", "/vendor-policy", "/vendor-policy".into(), None, 200),
        (op, "GET", "/vendor-policy", "/vendor-policy".into(), None, 403),
        (co, "GET", "/cases", "/cases?state=new&mine=true".into(), None, 200),
        (co, "GET", "/cases/{id}", k.clone(), None, 200),
        (ve, "GET", "/cases/{id}", k.clone(), None, 404),
        (co, "POST", "/cases/{id}/transition", format!("{k}/transition"), to("triaged"), 200),
        (co, "POST", "/cases/{id}/transition", format!("{k}/transition"), to("new"), 409),
        (co, "POST", "/cases/{id}/transition", format!("{k}/transition"), to("vendors_notified"), 200),
        (co, "POST", "/cases/{id}/participants", format!("{k}/participants"), Some(json!({"org_id": w.operator.org_id, "role": "observer"})), 201),
        (co, "DELETE", "/cases/{id}/participants/{org_id}", operator.clone(), None, 204),
        (co, "DELETE", "/cases/{id}/participants/{org_id}", operator, None, 404),
        (ve, "PUT", "/cases/{id}/vendors/{org_id}/status", status.clone(), Some(json!({"report_id": report, "status": "fixed", "statement": "Fixed in 1.4.3."})), 200),
        (ve, "PUT", "/cases/{id}/vendors/{org_id}/status", status, Some(json!({"report_id": report, "status": "gone"})), 422),
        (ve, "POST", "/cases/{id}/posts", format!("{k}/posts"), Some(json!({"body": "Patched."})), 201),
        (ve, "GET", "/cases/{id}/posts", format!("{k}/posts"), None, 200),
        (co, "GET", "/cases/{id}/tlp-clients", format!("{k}/tlp-clients"), None, 200),
        (co, "PUT", "/cases/{id}/tlp-clients", format!("{k}/tlp-clients"), Some(json!({"organizations": [w.operator.org_id]})), 409),
        (da, "GET", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), None, 200),
        (da, "PUT", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), Some(json!({"organizations": [w.operator.org_id]})), 200),
        (da, "PUT", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), Some(json!({"organizations": ["no such"]})), 422),
        (ve, "PUT", "/reports/{id}/tlp-clients", format!("/reports/{report}/tlp-clients"), Some(json!({"organizations": []})), 403),
        (co, "PUT", "/cases/{id}/embargo", format!("{k}/embargo"), Some(json!({"embargo_ends_at": ends, "reason": "shipped early"})), 200),
        (co, "PUT", "/cases/{id}/cve", format!("{k}/cve"), Some(json!({"cve": "CVE-2026-1234"})), 200),
        (co, "PUT", "/cases/{id}/cve", format!("{k}/cve"), Some(json!({"cve": "CVE-1"})), 422),
        (ve, "PUT", "/cases/{id}/cve", format!("{k}/cve"), Some(json!({"cve": "CVE-2026-1234"})), 403),
        (da, "POST", "/reports/import", "/reports/import".into(), Some(crate::exchange_import::osv_record("GHSA-aaaa-bbbb-cccc", None)), 201),
        (da, "POST", "/reports/import", "/reports/import".into(), Some(json!({"title": "neither CSAF nor OSV"})), 422),
        (op, "GET", "/subscriptions", "/subscriptions".into(), None, 200),
        (co, "GET", "/clearinghouse/metrics", format!("/clearinghouse/metrics?vendor={}", w.vendor.org_id), None, 200),
        (ve, "GET", "/clearinghouse/metrics", "/clearinghouse/metrics".into(), None, 403),
    ];
    c.run(steps).await;
    // TAXII sharing communities and collections defined by a filter.
    let pa = Some(&w.program_admin);
    let community = json!({"name": "Grid sharing", "organizations": [w.operator.org_id]});
    let (_, energy) = c
        .create(co, "/taxii/communities", "/taxii/communities", community)
        .await;
    let energy_path = format!("/taxii/communities/{energy}");
    let filter = json!({"title": "Grid indicators", "types": ["indicator"], "tlp_ceiling": "amber", "community": energy});
    let (_, filtered) = c
        .create(pa, "/taxii/collections", "/taxii/collections", filter)
        .await;
    let filtered = format!("/taxii/collections/{filtered}");
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (op, "GET", "/taxii/communities", "/taxii/communities".into(), None, 200),
        (op, "GET", "/taxii/communities/{id}", energy_path.clone(), None, 200),
        (ve, "GET", "/taxii/communities/{id}", energy_path.clone(), None, 404),
        (co, "PUT", "/taxii/communities/{id}", energy_path.clone(), Some(json!({"name": "Grid", "organizations": [w.operator.org_id, w.vendor.org_id]})), 200),
        (co, "PUT", "/taxii/communities/{id}", energy_path.clone(), Some(json!({"name": "Grid", "organizations": []})), 422),
        (op, "PUT", "/taxii/communities/{id}", energy_path, Some(json!({"name": "Grid", "organizations": [w.operator.org_id]})), 403),
        (co, "POST", "/taxii/communities", "/taxii/communities".into(), Some(json!({"name": "grid", "organizations": [w.operator.org_id]})), 409),
        (pa, "GET", "/taxii/collections", "/taxii/collections".into(), None, 200),
        (co, "GET", "/taxii/collections", "/taxii/collections".into(), None, 403),
        (pa, "POST", "/taxii/collections", "/taxii/collections".into(), Some(json!({"title": "T", "tlp_ceiling": "mauve"})), 422),
        (pa, "DELETE", "/taxii/collections/{id}", filtered.clone(), None, 204),
        (pa, "DELETE", "/taxii/collections/{id}", filtered, None, 404),
    ];
    c.run(steps).await;
    let (_, subscription) = c
        .create(
            op,
            "/subscriptions",
            "/subscriptions",
            json!({"sector": "energy", "min_severity": "high"}),
        )
        .await;
    let published = c
        .call(
            co,
            Method::POST,
            "/cases/{id}/transition",
            &format!("{k}/transition"),
            to("published"),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let advisories = c
        .call(None, Method::GET, "/advisories", "/advisories", None)
        .await;
    let advisory = advisories.ok()["items"][0]["id"].as_str().unwrap().to_owned();
    let reference = advisories.ok()["items"][0]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let cna = "cna_org_id=3b9f2a5e-6c1d-4e8f-9a0b-1c2d3e4f5a6b";
    let cve = |id: &str, query: &str| format!("/advisories/{id}/cve?{query}&{cna}");
    let nothing = uuid::Uuid::now_v7().to_string();
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (None, "GET", "/advisories/{id}", format!("/advisories/{advisory}"), None, 200),
        (op, "GET", "/advisories/{id}", format!("/advisories/{}", uuid::Uuid::now_v7()), None, 404),
        (co, "GET", "/advisories/{id}/cve", cve(&advisory, "cve_id=CVE-2026-1234"), None, 200),
        (co, "GET", "/advisories/{id}/cve", cve(&advisory, "cve_id=CVE-1"), None, 422),
        (op, "GET", "/advisories/{id}/cve", cve(&advisory, "cve_id=CVE-2026-1234"), None, 403),
        (co, "GET", "/advisories/{id}/cve", cve(&nothing, "cve_id=CVE-2026-1234"), None, 404),
        (None, "GET", "/{file}", format!("/x_{reference}.json"), None, 200),
        (op, "GET", "/{file}", format!("/x_{reference}.json"), None, 200),
        (None, "GET", "/{file}", "/x_PLA-1999-1.json".into(), None, 404),
        (None, "GET", "/all.zip", "/all.zip".into(), None, 200),
        (co, "GET", "/all.zip", "/all.zip".into(), None, 200),
        (None, "GET", "/advisories/{id}/csaf", format!("/advisories/{advisory}/csaf"), None, 200),
        (op, "GET", "/advisories/{id}/csaf", format!("/advisories/{}/csaf", uuid::Uuid::now_v7()), None, 404),
        // The CSAF provider.
        (None, "GET", "/provider-metadata.json", "/provider-metadata.json".into(), None, 200),
        (None, "GET", "/{dir}/{file}", "/white/index.txt".into(), None, 200),
        (op, "GET", "/{dir}/{file}", "/white/changes.csv".into(), None, 200),
        (None, "GET", "/{dir}/{file}", "/white/csaf-feed-tlp-white.json".into(), None, 200),
        (None, "GET", "/{dir}/{file}", "/purple/index.txt".into(), None, 404),
        (None, "GET", "/{dir}/{year}/{file}", "/white/1999/pla-1999-1.json".into(), None, 404),
        (op, "DELETE", "/subscriptions/{id}", format!("/subscriptions/{subscription}"), None, 204),
    ];
    c.run(steps).await;
}

/// The clearinghouse: reports of both kinds (one joining another's case), an attachment, reading under TLP
/// (the public too), forwarding a finding (`forward`, the evaluator's), triage, merge and split, and the
/// intake limit.
async fn exercise_reports(c: &mut Checked<'_>, w: &World, forward: &str) {
    // The reporter is Other Lab's admin (Frontier Lab's member was deactivated above).
    let (pa, dm, dev, op) = (
        Some(&w.program_admin),
        Some(&w.other_dev),
        Some(&w.dev_admin),
        Some(&w.operator),
    );
    let (co, ev) = (Some(&w.coordinator), Some(&w.evaluator));
    let vulnerability = |product: &str| {
        json!({
            "kind": "vulnerability", "title": "Heap overflow in png_read_row", "tlp": "amber",
            "description": "ASan: heap-buffer-overflow WRITE of size 4 in png_read_row at pngread.c:512.",
            "affected": [{"purl": product, "versions": ">=1.6.0, <1.6.44"}], "cwe": "CWE-787",
            "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "cvss_v4": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "finder": {"kind": "person", "name": "A. Finder"}, "ai_found": true,
            "location": "pngread.c:png_read_row", "crash_signature": "#0 png_read_row pngread.c:512",
            "threat_model": "Untrusted images.", "sectors": ["energy"],
        })
    };
    let (filed, report) = c
        .create(dm, "/reports", "/reports", vulnerability("pkg:generic/libpng"))
        .await;
    let (joined, joined_id) = c
        .create(dm, "/reports", "/reports", vulnerability("pkg:generic/libpng"))
        .await;
    assert_eq!(joined["joined"], true);
    assert_eq!(joined["duplicates"][0]["report_id"], report.as_str());
    let case = filed["case_id"].as_str().unwrap().to_owned();
    let (other, _) = c
        .create(dm, "/reports", "/reports", vulnerability("pkg:npm/other"))
        .await;
    let other_case = other["case_id"].as_str().unwrap().to_owned();
    let red = json!({
        "kind": "threat", "title": "Lures", "description": "Model-written lures.", "tlp": "red",
        "people": [w.evaluator.user_id], "indicators": ["[domain-name:value = 'lure.example']"],
        "attack_patterns": ["T1566"], "misuse": "Per-target lures.",
    });
    let (_, threat) = c.create(dm, "/reports", "/reports", red).await;
    let r = format!("/reports/{report}");
    let attached = c
        .raw(
            &w.other_dev,
            "/reports/{id}/attachments",
            &format!("{r}/attachments?role=reproducer&name=poc.txt"),
            "text/plain",
            b"poc".to_vec(),
        )
        .await;
    assert_eq!(attached.status, 201, "{}", attached.body);
    let a = format!("{r}/attachments/{}", attached.body["id"].as_str().unwrap());
    let split = |report: &str| Some(json!({"reports": [report]}));
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (dm, "GET", "/reports", "/reports?mine=true&tlp=amber&limit=2".into(), None, 200),
        (None, "GET", "/reports", "/reports".into(), None, 200),
        (dm, "GET", "/reports", "/reports?tlp=white".into(), None, 422),
        (dm, "POST", "/reports", "/reports".into(), Some(json!({"kind": "vulnerability", "title": "t", "description": "d", "tlp": "white"})), 422),
        (dm, "POST", "/reports/candidates", "/reports/candidates".into(), Some(vulnerability("pkg:generic/libpng")), 200),
        (op, "POST", "/reports/candidates", "/reports/candidates".into(), Some(vulnerability("pkg:generic/libpng")), 200),
        (dm, "POST", "/reports/candidates", "/reports/candidates".into(), Some(json!({"kind": "vulnerability", "title": "t", "description": "d", "tlp": "white"})), 422),
        (dm, "GET", "/reports/{id}", r.clone(), None, 200),
        (op, "GET", "/reports/{id}", r.clone(), None, 404),
        (ev, "GET", "/reports/{id}", format!("/reports/{threat}"), None, 200),
        (dm, "GET", "/reports/{id}/attachments", format!("{r}/attachments"), None, 200),
        (op, "GET", "/reports/{id}/attachments", format!("{r}/attachments"), None, 404),
        (dm, "GET", "/reports/{id}/attachments/{attachment_id}", a.clone(), None, 200),
        (None, "GET", "/reports/{id}/attachments/{attachment_id}", a, None, 404),
        (ev, "POST", "/findings/{id}/report", forward.into(), Some(json!({"tlp": "green", "affected": [{"purl": "pkg:generic/orion", "versions": "*"}]})), 201),
        (ev, "POST", "/findings/{id}/report", forward.into(), Some(json!({"tlp": "green"})), 409),
        (dev, "POST", "/findings/{id}/report", forward.into(), Some(json!({"tlp": "green"})), 403),
        (co, "GET", "/triage", "/triage?limit=1".into(), None, 200),
        (dm, "GET", "/triage", "/triage".into(), None, 403),
        (co, "POST", "/cases/{id}/merge", format!("/cases/{other_case}/merge"), Some(json!({"into": case})), 200),
        (co, "POST", "/cases/{id}/merge", format!("/cases/{other_case}/merge"), Some(json!({"into": case})), 409),
        (dm, "POST", "/cases/{id}/split", format!("/cases/{case}/split"), split(&joined_id), 403),
        (co, "POST", "/cases/{id}/split", format!("/cases/{case}/split"), split(&threat), 422),
        (co, "POST", "/cases/{id}/split", format!("/cases/{case}/split"), split(&joined_id), 201),
        (pa, "PUT", "/policy", "/policy".into(), Some(json!({"intake_reports_per_day": 1})), 200),
        (op, "POST", "/reports", "/reports".into(), Some(vulnerability("pkg:npm/limited")), 201),
        (op, "POST", "/reports", "/reports".into(), Some(vulnerability("pkg:npm/limited")), 429),
    ];
    let replies = c.run(steps).await;
    assert!(replies.last().unwrap().headers.contains_key("retry-after"));
}

/// The model gateway: a notice's connections, an evaluator's gateway token, calls in both API styles through a
/// scripted model API, and what the calls left. `n` is the path of a notice in review, shared with the agency
/// and its evaluator assigned.
async fn exercise_gateway(c: &mut Checked<'_>, w: &World, n: &str) {
    let (dev, ag, ev, other) = (
        Some(&w.dev_admin),
        Some(&w.agency_admin),
        Some(&w.evaluator),
        Some(&w.other_evaluator),
    );
    let up = Upstream::start().await;
    let settings = |style: &str, model: &str| {
        json!({
            "model": model, "api_style": style, "base_url": up.base_url, "upstream_model": UPSTREAM_MODEL,
            "credential": CREDENTIAL, "retention": "encrypted",
        })
    };
    let connections = format!("{n}/connections");
    let mut created = Vec::new();
    for (style, model) in [("openai", "orion-chat"), ("anthropic", "orion-messages")] {
        let (_, id) = c
            .create(
                dev,
                "/notices/{id}/connections",
                &connections,
                settings(style, model),
            )
            .await;
        created.push(format!("{connections}/{id}"));
    }
    let (chat, messages) = (&created[0], &created[1]);
    let tokens = format!("{n}/gateway-tokens");
    let (issued, token_id) = c
        .create(
            ev,
            "/notices/{id}/gateway-tokens",
            &tokens,
            json!({"name": "laptop", "expires_in_days": 7}),
        )
        .await;
    let token = format!("{tokens}/{token_id}");
    // The evaluator, holding their gateway token.
    let holder = Persona {
        token: issued["token"].as_str().unwrap().to_owned(),
        ..w.evaluator.clone()
    };
    let gw = Some(&holder);
    let ask = |model: &str, stream: bool| {
        Some(json!({
            "model": model, "stream": stream, "max_tokens": 5,
            "messages": [{"role": "user", "content": "Hello"}],
        }))
    };
    let mut change = settings("openai", "orion-chat");
    change.as_object_mut().unwrap().remove("credential");
    change["requests_per_minute"] = json!(100);
    let ftp = json!({"api_style": "openai", "base_url": "ftp://model.example", "upstream_model": "m", "credential": "k"});
    let missing = format!("{connections}/{}", Uuid::now_v7());
    let calls = format!("{n}/gateway-calls");

    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        // Connections.
        (dev, "GET", "/notices/{id}/connections", connections.clone(), None, 200),
        (ag, "GET", "/notices/{id}/connections", connections.clone(), None, 403),
        (dev, "POST", "/notices/{id}/connections", connections.clone(), Some(settings("anthropic", "orion-messages")), 409),
        (dev, "POST", "/notices/{id}/connections", connections, Some(ftp), 422),
        (dev, "GET", "/notices/{id}/connections/{connection}", chat.clone(), None, 200),
        (dev, "GET", "/notices/{id}/connections/{connection}", missing, None, 404),
        (dev, "PUT", "/notices/{id}/connections/{connection}", chat.clone(), Some(change), 200),
        (dev, "POST", "/notices/{id}/connections/{connection}/test", format!("{chat}/test"), None, 200),
        (ev, "POST", "/notices/{id}/connections/{connection}/test", format!("{chat}/test"), None, 403),
        // Gateway tokens.
        (dev, "POST", "/notices/{id}/gateway-tokens", tokens.clone(), Some(json!({"name": "mine"})), 403),
        (ag, "GET", "/notices/{id}/gateway-tokens", format!("{tokens}?limit=1"), None, 200),
        // Calls, in both styles, answered and refused.
        (None, "GET", "/models", "/models".into(), None, 401),
        (gw, "GET", "/models", "/models".into(), None, 200),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-chat", false), 200),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-chat", true), 200),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-messages", false), 400),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("nothing", false), 404),
        (None, "POST", "/messages", "/messages".into(), ask("orion-messages", false), 401),
        (gw, "POST", "/messages", "/messages".into(), ask("orion-messages", false), 200),
        // What the calls left.
        (dev, "GET", "/notices/{id}/gateway-usage", format!("{n}/gateway-usage"), None, 200),
        (ag, "GET", "/notices/{id}/gateway-usage", format!("{n}/gateway-usage"), None, 200),
        (dev, "GET", "/notices/{id}/gateway-calls", calls.clone(), None, 403),
        (ev, "GET", "/notices/{id}/gateway-calls", calls.clone(), None, 200),
    ];
    let replies = c.run(steps).await;
    assert!(
        replies.iter().any(|r| r.content_type == "text/event-stream"),
        "a streamed call is answered with events"
    );
    let listed = &replies.last().unwrap().body["items"];
    let answered = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|call| call["status"] == 200);
    let transcript = format!("{calls}/{}/transcript", answered.unwrap()["id"].as_str().unwrap());

    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "GET", "/notices/{id}/gateway-calls/{call}/transcript", transcript.clone(), None, 200),
        (other, "GET", "/notices/{id}/gateway-calls/{call}/transcript", transcript, None, 404),
        (ev, "DELETE", "/notices/{id}/gateway-tokens/{token}", token.clone(), None, 200),
        (ev, "DELETE", "/notices/{id}/gateway-tokens/{token}", token, None, 409),
        (gw, "POST", "/chat/completions", "/chat/completions".into(), ask("orion-chat", false), 401),
        (dev, "DELETE", "/notices/{id}/connections/{connection}", messages.clone(), None, 204),
        (dev, "DELETE", "/notices/{id}/connections/{connection}", messages.into(), None, 404),
    ];
    c.run(steps).await;
}

/// The transparency ledger: a receipt for an event of a notice, a checkpoint signed on demand, and the public
/// ledger's reads against it.
async fn exercise_ledger(c: &mut Checked<'_>, w: &World, notice_id: &str) {
    let (pa, dev, ev, other) = (
        Some(&w.program_admin),
        Some(&w.dev_admin),
        Some(&w.evaluator),
        Some(&w.other_evaluator),
    );
    let audit = format!("/audit?object_id={notice_id}&limit=1");
    let audit = c.call(pa, Method::GET, "/audit", &audit, None).await;
    let receipt = format!(
        "/audit/{}/receipt",
        audit.ok()["items"][0]["id"].as_str().unwrap()
    );
    let signed = c
        .call(
            pa,
            Method::POST,
            "/ledger/checkpoints",
            "/ledger/checkpoints",
            None,
        )
        .await;
    assert_eq!(signed.status, 201, "{}", signed.body);
    let size = signed.body["size"].as_u64().unwrap();
    let tile = match size {
        256.. => "/tile/0/000".to_owned(),
        _ => format!("/tile/0/000.p/{size}"),
    };

    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        (ev, "GET", "/audit/{id}/receipt", receipt.clone(), None, 200),
        (other, "GET", "/audit/{id}/receipt", receipt, None, 404),
        (dev, "POST", "/ledger/checkpoints", "/ledger/checkpoints".into(), None, 403),
        // The public ledger.
        (None, "GET", "/key", "/key".into(), None, 200),
        (None, "GET", "/checkpoint", "/checkpoint".into(), None, 200),
        (None, "GET", "/tile/{path}", tile, None, 200),
        (None, "GET", "/tile/{path}", "/tile/9/000".into(), None, 404),
        (None, "GET", "/proof/inclusion", format!("/proof/inclusion?index=0&size={size}"), None, 200),
        (None, "GET", "/proof/inclusion", "/proof/inclusion?index=0".into(), None, 422),
        (None, "GET", "/proof/consistency", format!("/proof/consistency?old=1&new={size}"), None, 200),
        (None, "GET", "/proof/consistency", "/proof/consistency?old=0&new=1".into(), None, 422),
        // The job queue, program administrators only.
        (pa, "GET", "/jobs", "/jobs?state=failed".into(), None, 200),
        (pa, "GET", "/jobs", "/jobs?state=stuck".into(), None, 422),
        (dev, "GET", "/jobs", "/jobs".into(), None, 403),
        (pa, "POST", "/jobs/{id}/retry", format!("/jobs/{}/retry", uuid::Uuid::new_v4()), None, 404),
        (dev, "POST", "/jobs/{id}/retry", format!("/jobs/{}/retry", uuid::Uuid::new_v4()), None, 403),
    ];
    let replies = c.run(steps).await;
    // The texts are what the document says they are: the receipt (the first answer) verifies with the
    // ledger's key (the fourth).
    let key = VerifierKey::parse(replies[3].body.as_str().unwrap().trim()).unwrap();
    let receipt = Receipt::parse(replies[0].body.as_str().unwrap()).unwrap();
    receipt.verify(&key).unwrap();
}

/// The session alternative the document describes: a browser's cookie works for the API, and its unsafe
/// requests need the CSRF token that `/me` tells.
#[tokio::test]
async fn a_session_calls_the_api_with_its_csrf_token() {
    let t = spawn_app().await;
    t.org("developer", "Frontier Lab").await;
    let (_, link) = t
        .app
        .provision_user("Frontier Lab", "dev@lab.example", "admin")
        .await
        .unwrap();
    let invitation = link.expose().rsplit('/').next().unwrap().to_owned();
    let password = Secret::new("a long enough passphrase".into());
    t.app
        .accept_invitation(&invitation, Some("dev@lab.example"), "Dev", &password)
        .await
        .unwrap();
    let session = t
        .app
        .login("dev@lab.example", &password, std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let cookie = format!("prelaunch_session={}", session.token.expose());

    let send = |method: Method, path: &str, csrf: Option<&str>| {
        let mut request = t
            .client
            .request(method, t.url(path))
            .header("cookie", &cookie)
            .json(&json!({"name": "from the browser"}));
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    let me = TestApp::reply(send(Method::GET, "/api/v1/me", None).await.unwrap()).await;
    let csrf = me.ok()["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(csrf, session.csrf_token);
    let cases: BTreeMap<&str, (Option<&str>, u16)> = BTreeMap::from([
        ("without the header", (None, 403)),
        ("with a wrong token", (Some("plc_wrong"), 403)),
        ("with the session's token", (Some(csrf.as_str()), 201)),
    ]);
    for (case, (header, status)) in cases {
        let reply = TestApp::reply(send(Method::POST, "/api/v1/tokens", header).await.unwrap()).await;
        assert_eq!(reply.status, status, "{case}: {}", reply.body);
        if status == 403 {
            reply.problem(403, "forbidden");
        }
    }
}

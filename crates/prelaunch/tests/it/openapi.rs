//! The OpenAPI document at `/api/v1/openapi.json` is exact: it names every route the router has and no other,
//! declares every path parameter and a problem answer for each operation, its request schemas accept and
//! reject what the server does, and every answer the server gives while exercising each operation conforms
//! to the schema documented for its status.

use crate::support::*;
use accounts::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The router's source, scanned for routes so that a route added without documentation fails here.
const ROUTER_SOURCE: &str = include_str!("../../../server/src/api/mod.rs");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

type Operation = (String, String);

/// `(method, path)` for every `.route("path", get(..).post(..))` in the API router.
fn router_routes() -> BTreeSet<Operation> {
    for unsupported in [".nest(", ".merge(", ".route_service(", "on(MethodFilter"] {
        assert!(
            !ROUTER_SOURCE.contains(unsupported),
            "the API router uses {unsupported}; teach this scan to read it"
        );
    }
    let mut routes = BTreeSet::new();
    let mut rest = ROUTER_SOURCE;
    while let Some(start) = rest.find(".route(") {
        rest = &rest[start + ".route(".len()..];
        // The call's arguments end at the parenthesis that closes `.route(`.
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
            .expect("an unclosed .route(");
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a route without a path literal");
        let methods: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| {
                call.match_indices(&format!("{m}(")).any(|(i, _)| {
                    !call[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            })
            .collect();
        assert!(!methods.is_empty(), "no method found for route {path}");
        for method in methods {
            routes.insert((method.to_owned(), path.to_owned()));
        }
        rest = &rest[end..];
    }
    routes
}

fn documented_operations(doc: &Value) -> BTreeSet<Operation> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
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

fn json_body_schema<'a>(doc: &'a Value, path: &str, method: &str) -> Option<&'a Value> {
    let body = resolve(doc, doc["paths"][path][method].get("requestBody")?);
    Some(resolve(doc, &body["content"]["application/json"]["schema"]))
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

    let routes = router_routes();
    assert!(routes.len() >= 30, "the scan found only {routes:?}");
    let documented = documented_operations(&doc);
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
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
async fn every_operation_declares_its_path_parameters_and_its_problems() {
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
        let problem_statuses: BTreeSet<&str> = responses
            .iter()
            .filter(|(_, r)| {
                resolve(
                    &doc,
                    &resolve(&doc, r)["content"]["application/problem+json"]["schema"],
                ) == problem
            })
            .map(|(status, _)| status.as_str())
            .collect();
        if op["operationId"] == "getOpenApi" {
            // The document itself is public and cannot fail short of a server error.
            assert_eq!(op["security"], json!([]));
            continue;
        }
        assert!(
            problem_statuses.iter().any(|s| s.starts_with('4')),
            "{method} {path}: no 4xx problem answer"
        );
        let mut expected = vec!["401", "500"];
        if json_body_schema(&doc, &path, &method).is_some() {
            expected.extend(["400", "413", "422"]);
        }
        if !in_template.is_empty() {
            expected.push("404");
        }
        if method != "get" {
            // A session request without its CSRF token.
            expected.push("403");
        }
        for status in expected {
            assert!(
                problem_statuses.contains(status),
                "{method} {path}: no {status} problem answer"
            );
        }
        for response in responses.values() {
            assert!(resolve(&doc, response)["description"].is_string());
        }
    }
}

/// A value of the schema's shape: what a well-typed client would send.
fn sample(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema["enum"].get(0) {
        return first.clone();
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

fn concrete(path: &str) -> String {
    path.replace("{id}", &Uuid::now_v7().to_string())
        .replace("{user_id}", &Uuid::now_v7().to_string())
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
        let url = format!("/api/v1{}", concrete(&path));
        if let Some(schema) = json_body_schema(&doc, &path, &method) {
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

        let query_params: Vec<&Value> = parameters(&doc, &path, &method)
            .into_iter()
            .filter(|p| p["in"] == "query")
            .collect();
        if !query_params.is_empty() {
            queries += 1;
            for param in query_params {
                let name = param["name"].as_str().unwrap();
                let value = match sample(&doc, &param["schema"]) {
                    Value::Array(_) => json!(sample(&doc, &param["schema"]["items"])),
                    other => other,
                };
                let value = value.as_str().map(str::to_owned).unwrap_or(value.to_string());
                let reply = t.get(&admin, &format!("{url}?{name}={value}")).await;
                assert!(
                    !is_shape_problem(&reply),
                    "{method} {path}?{name}={value}: {}",
                    reply.body
                );
            }
            let reply = t.get(&admin, &format!("{url}?surplus=1")).await;
            reply.problem(422, "invalid-field");
            assert_eq!(reply.body["field"], "surplus", "{method} {path}");
        }
    }
    assert!(
        bodies >= 12 && queries >= 7,
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
        } else if strict && !known.is_empty() && !known.contains(key.as_str()) {
            errors.push(format!("{here}: not in the schema"));
        }
    }
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

/// Drives the API over HTTP and checks every answer against the document.
struct Checked<'a> {
    t: &'a TestApp,
    doc: Value,
    exercised: BTreeSet<Operation>,
}

impl Checked<'_> {
    /// Sends a request and asserts that its status is documented for `template` and its body conforms.
    async fn call(
        &mut self,
        who: Option<&Persona>,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let reply = self
            .t
            .call(
                method.clone(),
                &format!("/api/v1{path}"),
                who.map(|p| p.token.as_str()),
                body,
            )
            .await;
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
                conform(&self.doc, schema, &reply.body, "$", &mut errors);
                assert!(
                    errors.is_empty(),
                    "{method} {template} {status}: {errors:#?}\n{}",
                    reply.body
                );
            }
        }
        self.exercised.insert((key, template.to_owned()));
    }

    async fn get(&mut self, who: &Persona, template: &str, path: &str) -> Reply {
        self.call(Some(who), Method::GET, template, path, None).await
    }

    async fn send(
        &mut self,
        who: &Persona,
        method: Method,
        template: &str,
        path: &str,
        body: Value,
    ) -> Reply {
        self.call(Some(who), method, template, path, Some(body)).await
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
            .post(self.t.url(&format!("/api/v1{path}")))
            .bearer_auth(&who.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let reply = TestApp::reply(response).await;
        self.check(&Method::POST, template, &reply);
        reply
    }
}

fn id(reply: &Reply) -> String {
    reply.ok()["id"].as_str().unwrap().to_owned()
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
    c.call(None, Method::GET, "/openapi.json", "/openapi.json", None)
        .await;

    // Who is calling, and the directory.
    assert!(c.get(&w.evaluator, "/me", "/me").await.ok()["csrf_token"].is_null());
    c.call(None, Method::GET, "/me", "/me", None)
        .await
        .problem(401, "unauthenticated");
    let first = c
        .get(&w.evaluator, "/organizations", "/organizations?limit=2")
        .await;
    let cursor = first.ok()["next_cursor"].as_str().unwrap().to_owned();
    c.get(
        &w.evaluator,
        "/organizations",
        &format!("/organizations?cursor={cursor}"),
    )
    .await
    .ok();
    c.get(&w.evaluator, "/organizations", "/organizations?limit=0")
        .await
        .problem(422, "invalid-field");
    let third = c
        .send(
            &w.program_admin,
            Method::POST,
            "/organizations",
            "/organizations",
            json!({"kind": "agency", "name": "Third Agency"}),
        )
        .await;
    let third = id(&third);
    c.send(
        &w.program_admin,
        Method::POST,
        "/organizations",
        "/organizations",
        json!({"kind": "agency", "name": "third agency"}),
    )
    .await
    .problem(409, "conflict");
    c.send(
        &w.dev_admin,
        Method::POST,
        "/organizations",
        "/organizations",
        json!({"kind": "agency", "name": "Mine"}),
    )
    .await
    .problem(403, "forbidden");
    c.get(
        &w.dev_admin,
        "/organizations/{id}",
        &format!("/organizations/{third}"),
    )
    .await
    .ok();
    c.get(&w.dev_admin, "/organizations/{id}", "/organizations/not-an-id")
        .await
        .problem(404, "not-found");
    let org = format!("/organizations/{third}");
    c.send(
        &w.program_admin,
        Method::PATCH,
        "/organizations/{id}",
        &org,
        json!({"active": false}),
    )
    .await
    .ok();
    c.send(
        &w.program_admin,
        Method::PATCH,
        "/organizations/{id}",
        &org,
        json!({"active": "no"}),
    )
    .await
    .problem(422, "invalid-field");

    // People, invitations, tokens, policy.
    c.get(&w.agency_admin, "/users", "/users").await.ok();
    c.get(
        &w.agency_admin,
        "/users",
        &format!("/users?org_id={}", w.other_agency),
    )
    .await
    .problem(404, "not-found");
    let member = format!("/users/{}", w.dev_member.user_id);
    c.get(&w.dev_admin, "/users/{id}", &member).await.ok();
    c.send(
        &w.dev_admin,
        Method::PATCH,
        "/users/{id}",
        &member,
        json!({"active": false}),
    )
    .await
    .ok();
    c.send(
        &w.dev_member,
        Method::PATCH,
        "/users/{id}",
        &member,
        json!({"active": true}),
    )
    .await
    .problem(401, "unauthenticated");
    let invitation = json!({"org_id": w.agency, "email": "new@agency.example"});
    c.send(
        &w.agency_admin,
        Method::POST,
        "/invitations",
        "/invitations",
        invitation,
    )
    .await
    .ok();
    let existing = json!({"org_id": w.agency, "email": w.evaluator.email});
    c.send(
        &w.agency_admin,
        Method::POST,
        "/invitations",
        "/invitations",
        existing,
    )
    .await
    .problem(409, "conflict");
    c.get(&w.dev_admin, "/tokens", "/tokens").await.ok();
    let token = c
        .send(
            &w.dev_admin,
            Method::POST,
            "/tokens",
            "/tokens",
            json!({"name": "ci", "expires_in_days": 30}),
        )
        .await;
    assert!(token.ok()["token"].as_str().unwrap().starts_with("plk_"));
    let token = format!("/tokens/{}", id(&token));
    c.call(Some(&w.dev_admin), Method::DELETE, "/tokens/{id}", &token, None)
        .await
        .ok();
    c.call(Some(&w.dev_admin), Method::DELETE, "/tokens/{id}", &token, None)
        .await
        .problem(409, "conflict");
    c.get(&w.dev_admin, "/policy", "/policy").await.ok();
    c.send(
        &w.program_admin,
        Method::PUT,
        "/policy",
        "/policy",
        json!({"window_days": 30}),
    )
    .await
    .ok();
    c.send(
        &w.dev_admin,
        Method::PUT,
        "/policy",
        "/policy",
        json!({"window_days": 30}),
    )
    .await
    .problem(403, "forbidden");

    // Notices and their dates.
    let launch = t.clock_now() + chrono::Duration::days(20);
    let new_notice = json!({
        "model_name": "Orion", "model_version": "2", "planned_launch_at": launch.to_rfc3339(),
        "model_card": "# Orion", "shared_with": [w.agency],
    });
    let notice = c
        .send(
            &w.dev_admin,
            Method::POST,
            "/notices",
            "/notices",
            new_notice.clone(),
        )
        .await;
    assert_eq!(notice.ok()["shared_with"], json!([w.agency]));
    let n = id(&notice);
    c.send(
        &w.agency_admin,
        Method::POST,
        "/notices",
        "/notices",
        new_notice.clone(),
    )
    .await
    .problem(403, "forbidden");
    c.raw(
        &w.dev_admin,
        "/notices",
        "/notices",
        "application/json",
        b"{\"model_name\": ".to_vec(),
    )
    .await
    .problem(400, "malformed-json");
    c.raw(&w.dev_admin, "/notices", "/notices", "text/plain", b"{}".to_vec())
        .await
        .problem(415, "unsupported-media-type");
    c.raw(
        &w.dev_admin,
        "/notices",
        "/notices",
        "application/json",
        vec![b' '; 300 * 1024],
    )
    .await
    .problem(413, "payload-too-large");
    for who in [&w.dev_admin, &w.evaluator] {
        let page = c
            .get(who, "/notices", "/notices?state=in_review,scheduled&limit=1")
            .await;
        assert_eq!(page.ok()["items"][0]["id"], n.as_str());
    }
    c.get(&w.evaluator, "/notices", "/notices?state=pending")
        .await
        .problem(422, "invalid-field");
    let notice_path = format!("/notices/{n}");
    assert!(
        c.get(&w.evaluator, "/notices/{id}", &notice_path)
            .await
            .ok()
            .get("shared_with")
            .is_none()
    );
    c.get(&w.other_evaluator, "/notices/{id}", &notice_path)
        .await
        .problem(404, "not-found");
    c.get(
        &w.evaluator,
        "/notices/{id}/history",
        &format!("{notice_path}/history"),
    )
    .await
    .ok();
    let launch_path = format!("{notice_path}/launch");
    let later = (launch + chrono::Duration::days(10)).to_rfc3339();
    c.send(
        &w.dev_admin,
        Method::PUT,
        "/notices/{id}/launch",
        &launch_path,
        json!({"planned_launch_at": later, "reason": "slip"}),
    )
    .await
    .ok();
    c.send(
        &w.evaluator,
        Method::PUT,
        "/notices/{id}/launch",
        &launch_path,
        json!({"planned_launch_at": later}),
    )
    .await
    .problem(403, "forbidden");
    c.send(
        &w.dev_admin,
        Method::PUT,
        "/notices/{id}/launch",
        &launch_path,
        json!({"planned_launch_at": "2020-01-01T00:00:00Z"}),
    )
    .await
    .problem(422, "invalid-field");

    // Assignments, findings, assessments.
    let assignments = format!("{notice_path}/assignments");
    for person in [&w.evaluator, &w.evaluator2] {
        c.send(
            &w.agency_admin,
            Method::POST,
            "/notices/{id}/assignments",
            &assignments,
            json!({"user_id": person.user_id}),
        )
        .await
        .ok();
    }
    c.send(
        &w.evaluator,
        Method::POST,
        "/notices/{id}/assignments",
        &assignments,
        json!({"user_id": w.evaluator.user_id}),
    )
    .await
    .problem(403, "forbidden");
    assert_eq!(
        c.get(&w.dev_admin, "/notices/{id}/assignments", &assignments)
            .await
            .ok()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let unassign = format!("{assignments}/{}", w.evaluator2.user_id);
    let done = c
        .call(
            Some(&w.agency_admin),
            Method::DELETE,
            "/notices/{id}/assignments/{user_id}",
            &unassign,
            None,
        )
        .await;
    assert_eq!(done.status, 204);
    c.call(
        Some(&w.agency_admin),
        Method::DELETE,
        "/notices/{id}/assignments/{user_id}",
        &unassign,
        None,
    )
    .await
    .problem(404, "not-found");
    let findings = format!("{notice_path}/findings");
    let finding = json!({
        "title": "Writes working exploits", "domain": "cyber_offense", "severity": "high",
        "description": "Details.", "evidence": ["https://runs.example/1"],
    });
    let finding = c
        .send(
            &w.evaluator,
            Method::POST,
            "/notices/{id}/findings",
            &findings,
            finding,
        )
        .await;
    let finding = format!("/findings/{}", id(&finding));
    c.send(
        &w.evaluator,
        Method::POST,
        "/notices/{id}/findings",
        &findings,
        json!({"title": "t", "domain": "weather", "severity": "high", "description": "d"}),
    )
    .await
    .problem(422, "invalid-field");
    c.get(&w.dev_admin, "/notices/{id}/findings", &findings)
        .await
        .ok();
    c.get(&w.dev_admin, "/findings/{id}", &finding).await.ok();
    c.get(&w.other_evaluator, "/findings/{id}", &finding)
        .await
        .problem(404, "not-found");
    let assessments = format!("{notice_path}/assessments");
    let assessment = json!({"levels": {"cyber_offense": "high", "autonomy": "low"}, "rationale": "Because."});
    let assessment = c
        .send(
            &w.agency_admin,
            Method::POST,
            "/notices/{id}/assessments",
            &assessments,
            assessment,
        )
        .await;
    assert_eq!(assessment.ok()["overall"], "high");
    let assessment = format!("/assessments/{}", id(&assessment));
    c.get(&w.dev_admin, "/notices/{id}/assessments", &assessments)
        .await
        .ok();
    c.get(&w.dev_admin, "/assessments/{id}", &assessment).await.ok();
    c.get(&w.other_evaluator, "/assessments/{id}", &assessment)
        .await
        .problem(404, "not-found");

    // Launch, withdraw (with and without a body), and what follows.
    c.call(
        Some(&w.dev_admin),
        Method::POST,
        "/notices/{id}/launch",
        &launch_path,
        None,
    )
    .await
    .ok();
    c.call(
        Some(&w.dev_admin),
        Method::POST,
        "/notices/{id}/launch",
        &launch_path,
        None,
    )
    .await
    .problem(409, "conflict");
    for body in [Some(json!({"reason": "cancelled"})), None] {
        let other = c
            .send(
                &w.dev_admin,
                Method::POST,
                "/notices",
                "/notices",
                new_notice.clone(),
            )
            .await;
        let withdraw = format!("/notices/{}/withdraw", id(&other));
        let withdrawn = c
            .call(
                Some(&w.dev_admin),
                Method::POST,
                "/notices/{id}/withdraw",
                &withdraw,
                body,
            )
            .await;
        assert_eq!(withdrawn.ok()["state"], "withdrawn");
    }
    c.call(
        Some(&w.dev_admin),
        Method::POST,
        "/notices/{id}/withdraw",
        &format!("{notice_path}/withdraw"),
        None,
    )
    .await
    .problem(409, "conflict");

    // The audit trail.
    let audit = c
        .get(
            &w.program_admin,
            "/audit",
            &format!("/audit?object_id={n}&limit=2"),
        )
        .await;
    assert!(audit.ok()["next_cursor"].is_string());
    c.get(&w.dev_admin, "/audit", "/audit")
        .await
        .problem(403, "forbidden");

    let untested: Vec<_> = documented_operations(&c.doc)
        .difference(&c.exercised)
        .cloned()
        .collect();
    assert!(
        untested.is_empty(),
        "operations this test does not exercise: {untested:?}"
    );
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
    let password = Secret::new("a long enough password".into());
    t.app
        .accept_invitation(&invitation, Some("dev@lab.example"), "Dev", &password)
        .await
        .unwrap();
    let session = t.app.login("dev@lab.example", &password).await.unwrap();
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

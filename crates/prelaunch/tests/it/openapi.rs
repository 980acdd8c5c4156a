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
        "model_card": "# Orion", "shared_with": [w.agency],
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
        (ev, "GET", "/notices/{id}/history", format!("{n}/history"), None, 200),
        (dev, "PUT", "/notices/{id}/launch", format!("{n}/launch"), Some(later.clone()), 200),
        (ev, "PUT", "/notices/{id}/launch", format!("{n}/launch"), Some(later), 403),
        (dev, "PUT", "/notices/{id}/launch", format!("{n}/launch"), Some(past), 422),
        // Assignments.
        (ag, "POST", "/notices/{id}/assignments", format!("{n}/assignments"), assign(&w.evaluator), 201),
        (ag, "POST", "/notices/{id}/assignments", format!("{n}/assignments"), assign(&w.evaluator2), 201),
        (ev, "POST", "/notices/{id}/assignments", format!("{n}/assignments"), assign(&w.evaluator), 403),
        (dev, "GET", "/notices/{id}/assignments", format!("{n}/assignments"), None, 200),
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

    let finding = json!({
        "title": "Writes working exploits", "domain": "cyber_offense", "severity": "high",
        "description": "Details.", "evidence": ["https://runs.example/1"],
    });
    let findings = format!("{n}/findings");
    let (_, finding) = c.create(ev, "/notices/{id}/findings", &findings, finding).await;
    let finding = format!("/findings/{finding}");
    let assessment = json!({"levels": {"cyber_offense": "high", "autonomy": "low"}, "rationale": "Because."});
    let assessments = format!("{n}/assessments");
    let (assessment, assessment_id) = c
        .create(ag, "/notices/{id}/assessments", &assessments, assessment)
        .await;
    assert_eq!(assessment["overall"], "high");
    let assessment = format!("/assessments/{assessment_id}");
    let weather = Some(json!({"title": "t", "domain": "weather", "severity": "high", "description": "d"}));
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

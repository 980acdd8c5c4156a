//! Requests: the schemas of request bodies against what the server accepts and refuses, and a session's
//! calls.

use super::*;

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

//! Answers: every reply of a walk through the API checked against the document.

use super::exercises::*;
use super::*;

/// Checks `value` against a schema of the subset the document uses. Objects are read strictly: a key the
/// schema does not name is an error unless `additionalProperties` gives a schema for it.
pub(super) fn conform(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    conform_inner(doc, schema, value, at, true, errors);
}

pub(super) fn conform_inner(
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
pub(super) fn admits_any(doc: &Value, schema: &Value) -> bool {
    let schema = resolve(doc, schema);
    schema["additionalProperties"] == json!({})
        || schema["allOf"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|part| admits_any(doc, part))
}

/// Every property a schema names, through `$ref` and `allOf`.
pub(super) fn known_properties<'a>(doc: &'a Value, schema: &'a Value) -> BTreeSet<&'a str> {
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
pub(super) type Step<'a> = (
    Option<&'a Persona>,
    &'static str,
    &'static str,
    String,
    Option<Value>,
    u16,
);

/// The events of a server-sent event stream, each as an EventSource client reads it: `data` lines joined by
/// newlines, `event`, `id` and `retry` as sent, comments left out.
pub(super) fn events_of(text: &str) -> Value {
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
pub(super) async fn reply_of(response: reqwest::Response) -> Reply {
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
pub(super) struct Checked<'a> {
    pub(super) t: &'a TestApp,
    pub(super) doc: Value,
    pub(super) exercised: BTreeSet<Operation>,
}

impl Checked<'_> {
    /// The URL of `path`, under the base of the documented `template`.
    pub(super) fn url(&self, template: &str, path: &str) -> String {
        self.t.url(&format!("{}{path}", base(&self.doc, template)))
    }

    /// Sends a request and asserts that its status is documented for `template` and its body conforms.
    pub(super) async fn call(
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

    pub(super) fn check(&mut self, method: &Method, template: &str, reply: &Reply) {
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
    pub(super) async fn create(
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
    pub(super) async fn run(&mut self, steps: Vec<Step<'_>>) -> Vec<Reply> {
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
    pub(super) async fn raw(
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
pub(super) async fn every_answer_conforms_to_the_document() {
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

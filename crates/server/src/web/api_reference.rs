//! The API reference as a page: rendered on the server from the same `openapi.json` the API serves, so the
//! two cannot disagree, and nothing is loaded from elsewhere (these networks are closed).

use super::render::{Frame, html};
use super::session::MaybeWebCaller;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use std::sync::OnceLock;

#[derive(Template)]
#[template(path = "api_reference.html")]
struct ApiReferencePage {
    frame: Frame,
    reference: &'static Reference,
}

/// The document, read once.
struct Reference {
    title: String,
    version: String,
    description: String,
    tags: Vec<Tag>,
}

struct Tag {
    id: String,
    name: String,
    description: String,
    operations: Vec<Operation>,
}

struct Operation {
    id: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<Parameter>,
    /// The request body's media types and schemas, in words.
    body: Option<String>,
    responses: Vec<(String, String)>,
}

struct Parameter {
    name: String,
    place: String,
    required: bool,
    kind: String,
    description: String,
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub async fn page(MaybeWebCaller(caller): MaybeWebCaller) -> Response {
    let title = "API reference";
    let frame = match &caller {
        Some(caller) => Frame::signed_in(caller, "api-reference", title),
        None => Frame::anonymous(title),
    };
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    let reference = REFERENCE.get_or_init(|| {
        let document = serde_json::from_str(crate::api::openapi::DOCUMENT).unwrap_or(Value::Null);
        Reference::from_document(&document)
    });
    html(StatusCode::OK, &ApiReferencePage { frame, reference })
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The object a `$ref` names within the document (`#/components/parameters/Cursor`), or the value itself.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| document.pointer(pointer))
            .unwrap_or(value),
        None => value,
    }
}

/// A schema in a few words: its name when it is a reference, else its type and allowed values.
fn schema_words(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => String::new(),
    };
    match schema.get("enum").and_then(Value::as_array) {
        Some(values) => {
            let values: Vec<String> = values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            format!("{kind}: one of {}", values.join(", "))
        }
        None => kind,
    }
}

impl Reference {
    fn from_document(document: &Value) -> Reference {
        let info = document.get("info").unwrap_or(&Value::Null);
        let empty = Map::new();
        let paths = document.get("paths").and_then(Value::as_object).unwrap_or(&empty);
        let mut tags: Vec<Tag> = document
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .map(|t| Tag {
                        id: format!("tag-{}", text(t, "name")),
                        name: text(t, "name"),
                        description: text(t, "description"),
                        operations: Vec::new(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else {
                    continue;
                };
                let operation = Operation::read(document, path, method, item, op);
                let tag = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .and_then(|t| t.first())
                    .and_then(Value::as_str)
                    .unwrap_or("other")
                    .to_owned();
                match tags.iter_mut().find(|t| t.name == tag) {
                    Some(t) => t.operations.push(operation),
                    None => tags.push(Tag {
                        id: format!("tag-{tag}"),
                        name: tag,
                        description: String::new(),
                        operations: vec![operation],
                    }),
                }
            }
        }
        tags.retain(|t| !t.operations.is_empty());
        Reference {
            title: text(info, "title"),
            version: text(info, "version"),
            description: text(info, "description"),
            tags,
        }
    }
}

impl Operation {
    fn read(document: &Value, path: &str, method: &str, item: &Value, op: &Value) -> Operation {
        let shared = item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let own = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let parameters = shared
            .chain(own)
            .map(|p| {
                let p = resolve(document, p);
                Parameter {
                    name: text(p, "name"),
                    place: text(p, "in"),
                    required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                    kind: p.get("schema").map(schema_words).unwrap_or_default(),
                    description: text(p, "description"),
                }
            })
            .collect();
        let body = op.get("requestBody").map(|b| resolve(document, b)).and_then(|b| {
            let content = b.get("content")?.as_object()?;
            let kinds: Vec<String> = content
                .iter()
                .map(|(media, c)| match c.get("schema") {
                    Some(schema) => format!("{media} ({})", schema_words(schema)),
                    None => media.clone(),
                })
                .collect();
            Some(kinds.join("; "))
        });
        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .map(|r| {
                r.iter()
                    .map(|(status, response)| {
                        (status.clone(), text(resolve(document, response), "description"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Operation {
            id: format!("op-{}", text(op, "operationId")),
            method: method.to_ascii_uppercase(),
            path: format!("/api/v1{path}"),
            summary: text(op, "summary"),
            description: text(op, "description"),
            parameters,
            body,
            responses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_document_is_on_the_page() {
        let document: Value = serde_json::from_str(crate::api::openapi::DOCUMENT).unwrap();
        let reference = Reference::from_document(&document);
        let listed: usize = reference.tags.iter().map(|t| t.operations.len()).sum();
        let in_document: usize = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| METHODS.iter().filter(|m| item.get(**m).is_some()).count())
            .sum();
        assert_eq!(listed, in_document);
        let orgs = reference.tags.iter().find(|t| t.name == "organizations").unwrap();
        let list = orgs
            .operations
            .iter()
            .find(|o| o.id == "op-listOrganizations")
            .unwrap();
        assert_eq!(list.path, "/api/v1/organizations");
        let cursor = list.parameters.iter().find(|p| p.name == "cursor").unwrap();
        assert_eq!(cursor.place, "query");
        let kind = list.parameters.iter().find(|p| p.name == "kind").unwrap();
        assert!(kind.kind.contains("agency"), "{}", kind.kind);
        assert!(
            list.responses
                .iter()
                .any(|(s, d)| s == "401" && d.contains("invalid-token"))
        );
    }
}

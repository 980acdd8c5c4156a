use super::*;
use crate::model::ToolDef;

#[test]
fn a_conversation_with_tool_calls_becomes_openai_json() {
    let mut assistant = Message::text(Role::Assistant, "");
    assistant.tool_calls = Some(json!([{"id": "c1", "function": "bash", "arguments": {"cmd": "ls"}}]));
    let tool = Message {
        role: Role::Tool,
        content: json!("a.txt"),
        tool_calls: None,
        tool_call_id: Some("c1".into()),
        function: Some("bash".into()),
    };
    let request = GenerateRequest {
        messages: vec![
            Message::text(Role::System, "s"),
            Message::text(Role::User, "u"),
            assistant,
            tool,
        ],
        tools: vec![ToolDef {
            name: "bash".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        }],
        max_tokens: Some(64),
    };
    let body = request_body("m-1", &request);
    assert_eq!(
        body,
        json!({
            "model": "m-1",
            "max_tokens": 64,
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{\"cmd\":\"ls\"}"}}]},
                {"role": "tool", "content": "a.txt", "tool_call_id": "c1"}
            ],
            "tools": [{"type": "function", "function": {"name": "bash", "description": "d", "parameters": {"type": "object"}}}]
        })
    );
}

#[test]
fn answers_are_read() {
    let plain =
        br#"{"choices": [{"message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 12, "completion_tokens": 3}}"#;
    let out = parse_response(plain).unwrap();
    assert_eq!(
        (
            out.completion.as_str(),
            out.usage.input_tokens,
            out.usage.output_tokens,
            out.stop_reason
        ),
        ("Paris", 12, 3, StopReason::Stop)
    );
    let tools = br#"{"choices": [{"message": {"content": null, "tool_calls": [
        {"id": "x", "type": "function", "function": {"name": "submit", "arguments": "{\"answer\": \"42\"}"}},
        {"type": "function", "function": {"name": "bash", "arguments": "not json"}}]}, "finish_reason": "tool_calls"}]}"#;
    let out = parse_response(tools).unwrap();
    assert_eq!(out.stop_reason, StopReason::ToolCalls);
    assert_eq!(
        out.tool_calls[0],
        ToolCall {
            id: "x".into(),
            function: "submit".into(),
            arguments: json!({"answer": "42"})
        }
    );
    assert_eq!(out.tool_calls[1].id, "call_1");
    assert_eq!(out.tool_calls[1].arguments, json!({"_unparsed": "not json"}));
    // (body, error words)
    let bad: [(&[u8], &str); 3] = [
        (b"<html>", "not JSON"),
        (b"{}", "no choices"),
        (b"{\"choices\": []}", "no choices"),
    ];
    for (body, words) in bad {
        let error = parse_response(body).unwrap_err();
        assert!(
            matches!(&error, ModelError::Transient(m) if m.contains(words)),
            "{error:?}"
        );
    }
}

#[test]
fn statuses_say_what_to_do() {
    let body = br#"{"error": {"message": "context length exceeded"}}"#;
    let cases = [
        (
            429,
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
        ),
        (
            401,
            ModelError::AccessEnded("status 401: context length exceeded".into()),
        ),
        (
            403,
            ModelError::AccessEnded("status 403: context length exceeded".into()),
        ),
        (
            500,
            ModelError::Transient("status 500: context length exceeded".into()),
        ),
        (
            503,
            ModelError::Transient("status 503: context length exceeded".into()),
        ),
        (
            408,
            ModelError::Transient("status 408: context length exceeded".into()),
        ),
        (
            400,
            ModelError::Refused("status 400: context length exceeded".into()),
        ),
        (
            404,
            ModelError::Refused("status 404: context length exceeded".into()),
        ),
    ];
    for (status, expected) in cases {
        assert_eq!(
            status_error(status, Some(Duration::from_secs(2)), body),
            expected,
            "{status}"
        );
    }
    assert_eq!(
        status_error(502, None, b"<html>bad gateway</html>"),
        ModelError::Transient("status 502".into())
    );
}

#[test]
fn retry_after_in_seconds_or_milliseconds() {
    let cases = [
        (Some("2"), None, Some(2000)),
        (Some("0.5"), None, Some(500)),
        (Some(" 3 "), Some("250"), Some(250)),
        (Some("Wed, 21 Oct 2015 07:28:00 GMT"), None, None),
        (Some("-1"), None, None),
        (Some("999999"), None, Some(3_600_000)),
        (None, None, None),
    ];
    for (seconds, millis, expected) in cases {
        assert_eq!(
            parse_retry_after(seconds, millis).map(|d| d.as_millis() as u64),
            expected,
            "{seconds:?} {millis:?}"
        );
    }
}

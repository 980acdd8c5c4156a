//! The matrix's rows of the platform: organisations, people, tokens, webhooks, policy, notifications.

use super::*;

/// These rows, in column order.
pub(super) fn rows() -> Vec<Row> {
    vec![
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/openapi.json",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/openapi.json".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  +",
        },
        Row {
            op: "GET /api/v1/me",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/me".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/organizations",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/organizations".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/organizations",
            case: "kind=agency",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/organizations?kind=agency".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/organizations",
            case: "unknown kind",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/organizations?kind=lab".into()),
            expect: "2  2  2  2  2  2  2  2  2  2  2  2  1",
        },
        Row {
            op: "POST /api/v1/organizations",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/organizations".into(),
                    json!({"kind": "vendor", "name": format!("Vendor {n}")}),
                )
            },
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/organizations/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/organizations/{}", ids.org)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "PATCH /api/v1/organizations/{id}",
            case: "",
            fresh: Fresh::Org,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/organizations/{}", ids.org),
                    json!({"active": false}),
                )
            },
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/users",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/users".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/users",
            case: "?org_id= the developer",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/users?org_id={}", ids.org)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/users/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/users/{}", ids.person)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/users/{id}",
            case: "",
            fresh: Fresh::Person,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/users/{}", ids.person),
                    json!({"active": false}),
                )
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/invitations",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    "/api/v1/invitations".into(),
                    json!({"org_id": ids.org, "email": format!("new{n}@lab.example")}),
                )
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        // Managed invitations: the organisation's admins (and program administrators).
        Row {
            op: "GET /api/v1/organizations/{id}/invitations",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/organizations/{}/invitations", ids.org)),
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/invitations/{id}",
            case: "",
            fresh: Fresh::Invitation,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/invitations/{}", ids.invitation),
                body: None,
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/invitations/{id}/resend",
            case: "",
            fresh: Fresh::Invitation,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/invitations/{}/resend", ids.invitation),
                    json!({}),
                )
            },
            expect: "+  4  +  3  4  4  4  4  4  4  4  4  1",
        },
        // A person's own account: the personas sign in with API tokens and have no password to give.
        Row {
            op: "PUT /api/v1/me/password",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::PUT,
                    "/api/v1/me/password".into(),
                    json!({"current_password": "not it", "new_password": "a long and unguessable passphrase"}),
                )
            },
            expect: "2  2  2  2  2  2  2  2  2  2  2  2  1",
        },
        Row {
            op: "GET /api/v1/sessions",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/sessions".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "DELETE /api/v1/sessions/{id}",
            case: "no session of theirs",
            fresh: Fresh::Nothing,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/sessions/{}", ids.person),
                body: None,
            },
            expect: "4  4  4  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/sessions/end-others",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| send(Method::POST, "/api/v1/sessions/end-others".into(), json!({})),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/tokens".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/tokens".into(),
                    json!({"name": format!("script {n}"), "expires_in_days": 30}),
                )
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "DELETE /api/v1/tokens/{id}",
            case: "the developer admin's",
            fresh: Fresh::Token,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/tokens/{}", ids.token),
                body: None,
            },
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        // Webhooks: an organisation's admins manage its own; members may not (403), and another organisation's
        // endpoint reads as absent.
        Row {
            op: "GET /api/v1/webhooks",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/webhooks".into()),
            expect: "+  3  +  3  +  +  3  3  +  3  +  +  1",
        },
        Row {
            op: "POST /api/v1/webhooks",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, n| send(Method::POST, "/api/v1/webhooks".into(), webhook_body(n)),
            expect: "+  3  +  3  +  +  3  3  +  3  +  +  1",
        },
        Row {
            op: "GET /api/v1/webhooks/{id}",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/webhooks/{}", ids.webhook)),
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/webhooks/{id}",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/webhooks/{}", ids.webhook),
                    json!({"description": "checked"}),
                )
            },
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/webhooks/{id}",
            case: "Frontier Lab's",
            fresh: Fresh::Webhook,
            request: |ids, _| delete(format!("/api/v1/webhooks/{}", ids.webhook)),
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/webhooks/{id}/deliveries",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/webhooks/{}/deliveries", ids.webhook)),
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/webhooks/{id}/test",
            case: "Frontier Lab's",
            fresh: Fresh::Nothing,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/webhooks/{}/test", ids.webhook),
                body: None,
            },
            expect: "4  4  +  4  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/policy",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/policy".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "PUT /api/v1/policy",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| send(Method::PUT, "/api/v1/policy".into(), json!({"window_days": 30})),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/notifications",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notifications?unread=true".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/notifications/unread-count",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notifications/unread-count".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/notifications/read-all",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| send(Method::POST, "/api/v1/notifications/read-all".into(), json!({})),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "GET /api/v1/notifications/preferences",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notifications/preferences".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "PUT /api/v1/notifications/preferences",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::PUT,
                    "/api/v1/notifications/preferences".into(),
                    json!({"email_kinds": ["notice.shared"], "email_delivery": "digest"}),
                )
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/cvss",
            case: "any member",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::POST,
                    "/api/v1/cvss".into(),
                    json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}),
                )
            },
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/notifications/{id}/read",
            case: "the evaluator's",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notifications/{}/read", ids.notification),
                    json!({}),
                )
            },
            expect: "4  4  4  4  4  4  +  4  4  4  4  4  1",
        },
    ]
}

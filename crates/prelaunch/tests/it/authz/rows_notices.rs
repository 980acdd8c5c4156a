//! The matrix's rows of notices and what hangs off them: findings, assessments, connections, the gateway,
//! evaluation runs, jobs, the ledger's receipts.

use super::*;

/// These rows, in column order.
pub(super) fn rows() -> Vec<Row> {
    vec![
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/notices",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/notices".into()),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        Row {
            op: "POST /api/v1/notices",
            case: "",
            fresh: Fresh::Nothing,
            // A new version each attempt: filing one already filed asks for confirmation (409).
            request: |_, n| {
                send(
                    Method::POST,
                    "/api/v1/notices".into(),
                    json!({
                        "model_name": "Vega", "model_version": format!("1.{n}"),
                        "planned_launch_at": "2027-06-01T00:00:00Z",
                        "shared_with_all": true,
                    }),
                )
            },
            expect: "3  3  +  +  +  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "PATCH /api/v1/notices/{id}",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, n| {
                send(
                    Method::PATCH,
                    format!("/api/v1/notices/{}", ids.notice),
                    json!({"model_card": format!("# Orion\nEdit {n}."), "model_version": format!("1.{n}")}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/notices/{id}",
            case: "narrowing the sharing of a notice both agencies see",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::PATCH,
                    format!("/api/v1/notices/{}", ids.broad),
                    json!({"shared_with": [ids.agency]}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}",
            case: "shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}", ids.broad)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/history",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/history", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "PUT /api/v1/notices/{id}/launch",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::PUT,
                    format!("/api/v1/notices/{}/launch", ids.notice),
                    json!({"planned_launch_at": "2027-08-01T00:00:00Z", "reason": "later"}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/launch",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/launch", ids.notice),
                    Value::Null,
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/withdraw",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/withdraw", ids.notice),
                    json!({"reason": "cancelled"}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/assignments",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/assignments", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/assignments",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/assignments", ids.notice),
                    json!({"user_id": ids.candidate}),
                )
            },
            expect: "4  4  3  3  4  +  3  3  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/assignments/{user_id}",
            case: "",
            fresh: Fresh::Notices,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/notices/{}/assignments/{}", ids.notice, ids.assignee),
                body: None,
            },
            expect: "4  4  3  3  4  +  3  3  4  4  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/assignments/{user_id}",
            case: "the other agency's",
            fresh: Fresh::Notices,
            request: |ids, _| Req {
                method: Method::DELETE,
                path: format!("/api/v1/notices/{}/assignments/{}", ids.broad, ids.other_assignee),
                body: None,
            },
            expect: "4  4  3  3  4  4  4  4  +  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/findings",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/findings", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/findings",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/findings", ids.notice),
                    finding_body(&[]),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/findings",
            case: "shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/findings", ids.broad),
                    finding_body(&[]),
                )
            },
            expect: "4  4  3  3  4  +  +  3  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/assessments",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/assessments", ids.notice)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/assessments",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/assessments", ids.notice),
                    assessment_body(),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/assessments",
            case: "shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/assessments", ids.broad),
                    assessment_body(),
                )
            },
            expect: "4  4  3  3  4  +  +  3  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.finding)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}",
            case: "broad notice, not shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.broad_finding_private)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}",
            case: "broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}", ids.broad_finding_shared)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.assessment)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "broad notice, not shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.broad_assessment_private)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.broad_assessment_shared)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        // A finding's life (`ids.finding`, the evaluator's on `notice`): the developer answers (acknowledges,
        // mitigates, disputes), the finding's agency (its author or admin) closes and reopens; both sides write
        // the thread and the agency's people read it; the agency shares; the author alone edits. A draft
        // assessment is its agency's alone until the agency's admin publishes it.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "POST /api/v1/findings/{id}/status",
            case: "acknowledged",
            fresh: Fresh::Finding,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/status", ids.finding),
                    json!({"status": "acknowledged"}),
                )
            },
            expect: "4  4  +  +  4  3  3  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/findings/{id}/status",
            case: "closed",
            fresh: Fresh::Finding,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/status", ids.finding),
                    json!({"status": "closed"}),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/findings/{id}/responses",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/responses", ids.finding),
                    json!({"body": format!("Response {n}.")}),
                )
            },
            expect: "4  4  +  +  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}/responses",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}/responses", ids.finding)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/findings/{id}/share",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/findings/{}/share", ids.finding),
                    json!({"shared_with": [ids.agency]}),
                )
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        Row {
            op: "PATCH /api/v1/findings/{id}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::PATCH,
                    format!("/api/v1/findings/{}", ids.finding),
                    json!({"title": format!("Finding, edit {n}")}),
                )
            },
            expect: "4  4  3  3  4  3  +  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/findings/{id}/history",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/findings/{}/history", ids.finding)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/assessments/{id}/publish",
            case: "a draft",
            fresh: Fresh::DraftAssessment,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/assessments/{}/publish", ids.assessment),
                body: None,
            },
            expect: "4  4  4  4  4  +  3  3  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/assessments/{id}",
            case: "a draft",
            fresh: Fresh::DraftAssessment,
            request: |ids, _| get(format!("/api/v1/assessments/{}", ids.assessment)),
            expect: "4  4  4  4  4  +  +  +  4  4  4  4  1",
        },
        // The model access gateway's resources under a notice, on `gw`: connections are the developer's
        // alone (agencies that see the notice get 403); tokens, usage and calls are seen by scope.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/notices/{id}/connections",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/connections", ids.gw)),
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/connections",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/connections", ids.gw),
                    connection_body(ids, &format!("extra-{n}")),
                )
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/connections/{connection}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/notices/{}/connections/{}",
                    ids.gw, ids.connection
                ))
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "PUT /api/v1/notices/{id}/connections/{connection}",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::PUT,
                    format!("/api/v1/notices/{}/connections/{}", ids.gw, ids.connection),
                    connection_body(ids, "orion-1.0"),
                )
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/connections/{connection}",
            case: "",
            fresh: Fresh::Connection,
            request: |ids, _| {
                delete(format!(
                    "/api/v1/notices/{}/connections/{}",
                    ids.gw, ids.connection
                ))
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/connections/{connection}/test",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/notices/{}/connections/{}/test", ids.gw, ids.connection),
                body: None,
            },
            expect: "4  4  +  +  4  3  3  3  3  3  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/gateway-tokens", ids.gw)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/gateway-tokens",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, n| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/gateway-tokens", ids.gw),
                    json!({"name": format!("laptop {n}")}),
                )
            },
            expect: "4  4  3  3  4  3  +  3  3  +  4  4  1",
        },
        Row {
            op: "DELETE /api/v1/notices/{id}/gateway-tokens/{token}",
            case: "the evaluator's",
            fresh: Fresh::GatewayToken,
            request: |ids, _| {
                delete(format!(
                    "/api/v1/notices/{}/gateway-tokens/{}",
                    ids.gw, ids.gw_token
                ))
            },
            expect: "4  4  3  3  4  +  +  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-usage",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/gateway-usage", ids.gw)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-calls",
            case: "",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/notices/{}/gateway-calls", ids.gw)),
            expect: "4  4  3  3  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/notices/{id}/gateway-calls/{call}/transcript",
            case: "the evaluator's call",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                get(format!(
                    "/api/v1/notices/{}/gateway-calls/{}/transcript",
                    ids.gw, ids.call
                ))
            },
            expect: "4  4  4  4  4  +  +  4  4  4  4  4  1",
        },
        // The gateway itself: only a gateway token reaches it (EV and OE hold one for `gw`); an API token, of
        // any role, is refused like no credential.
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /gateway/v1/models",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/gateway/v1/models".into()),
            expect: "1  1  1  1  1  1  +  1  1  +  1  1  1",
        },
        Row {
            op: "POST /gateway/v1/chat/completions",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::POST,
                    "/gateway/v1/chat/completions".into(),
                    json!({"model": "orion-1.0", "messages": [{"role": "user", "content": "hi"}]}),
                )
            },
            expect: "1  1  1  1  1  1  +  1  1  +  1  1  1",
        },
        Row {
            op: "POST /gateway/v1/messages",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| {
                send(
                    Method::POST,
                    "/gateway/v1/messages".into(),
                    json!({"model": "orion-claude", "max_tokens": 10,
                           "messages": [{"role": "user", "content": "hi"}]}),
                )
            },
            expect: "1  1  1  1  1  1  +  1  1  +  1  1  1",
        },
        // The audit trail and the ledger. The whole trail is the program administrators'; anyone may list an
        // object's events, of which they are shown those they may see (`visibility` checks which). A receipt
        // carries its event, so it is given only to a caller who may see every fact in the event: program
        // administrators see all, the developer its own notices' events, an agency its own work and what was
        // shared with it, never who else received a notice (a filing naming it alone it may see).
        // Columns:          PA CO DA DM OD AA EV E2 OA OE VE OP dead
        Row {
            op: "GET /api/v1/audit",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/audit".into()),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/audit",
            case: "?object_id= a notice: its events the caller may see",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit?object_id={}", ids.broad)),
            expect: "+  +  +  +  +  +  +  +  +  +  +  +  1",
        },
        // Evaluation runs: started by an assigned evaluator, seen as their findings are (the developer, their
        // agency), cancelled by the evaluator or their agency's admins.
        Row {
            op: "GET /api/v1/eval-runs",
            case: "?notice_id= a notice's runs",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs?notice_id={}", ids.gw)),
            expect: "4  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "POST /api/v1/eval-runs",
            case: "an example suite",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    "/api/v1/eval-runs".into(),
                    json!({"notice_id": ids.gw, "model": "orion-1.0", "suite": "knowledge", "limit": 1}),
                )
            },
            expect: "4  4  3  3  4  3  +  3  3  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}",
            case: "the evaluator's run",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{}", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}/results",
            case: "the evaluator's run",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{}/results", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}/compare/{other}",
            case: "the evaluator's run with itself",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{0}/compare/{0}", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/eval-runs/{id}/cancel",
            case: "the evaluator's run",
            fresh: Fresh::EvalRun,
            request: |ids, _| Req {
                method: Method::POST,
                path: format!("/api/v1/eval-runs/{}/cancel", ids.eval_run),
                body: None,
            },
            expect: "4  4  3  3  4  +  +  3  4  4  4  4  1",
        },
        // The suite catalogue: evaluation agencies' people.
        Row {
            op: "GET /api/v1/eval-suites",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/eval-suites".into()),
            expect: "3  3  3  3  3  +  +  +  +  +  3  3  1",
        },
        Row {
            op: "GET /api/v1/eval-runs/{id}/log",
            case: "the evaluator's run, as an Inspect log",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/eval-runs/{}/log?format=inspect", ids.eval_run)),
            expect: "4  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "POST /api/v1/notices/{id}/eval-runs/import",
            case: "an Inspect log, by the notice's assigned evaluators",
            fresh: Fresh::Nothing,
            request: |ids, _| {
                send(
                    Method::POST,
                    format!("/api/v1/notices/{}/eval-runs/import", ids.gw),
                    json!(EVAL_LOG),
                )
            },
            expect: "4  4  3  3  4  3  +  3  3  +  4  4  1",
        },
        // The job queue: program administrators only.
        Row {
            op: "GET /api/v1/jobs",
            case: "?state=failed",
            fresh: Fresh::Nothing,
            request: |_, _| get("/api/v1/jobs?state=failed".into()),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "POST /api/v1/jobs/{id}/retry",
            case: "a failed job",
            fresh: Fresh::FailedJob,
            request: |ids, _| send(Method::POST, format!("/api/v1/jobs/{}/retry", ids.job), json!({})),
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "notice.file, shared with both agencies",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.file_broad_event)),
            expect: "+  4  +  +  4  4  4  4  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "notice.file, shared with one agency",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.file_notice_event)),
            expect: "+  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "assignment.create by an agency, broad notice",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.assign_broad_event)),
            expect: "+  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "finding.file, broad notice, not shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.finding_private_event)),
            expect: "+  4  +  +  4  +  +  +  4  4  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "finding.file, broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.finding_shared_event)),
            expect: "+  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "GET /api/v1/audit/{id}/receipt",
            case: "assessment.publish, broad notice, shared",
            fresh: Fresh::Nothing,
            request: |ids, _| get(format!("/api/v1/audit/{}/receipt", ids.assessment_shared_event)),
            expect: "+  4  +  +  4  +  +  +  +  +  4  4  1",
        },
        Row {
            op: "POST /api/v1/ledger/checkpoints",
            case: "",
            fresh: Fresh::Nothing,
            request: |_, _| Req {
                method: Method::POST,
                path: "/api/v1/ledger/checkpoints".into(),
                body: None,
            },
            expect: "+  3  3  3  3  3  3  3  3  3  3  3  1",
        },
    ]
}

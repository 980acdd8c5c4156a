//! The audit trail, ledger receipts of its events, and signing checkpoints.

use super::*;
use axum::routing::{get, post};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/audit", get(list_audit))
        .route("/audit/{id}/receipt", get(receipt))
        .route("/ledger/checkpoints", post(sign_checkpoint))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    object_id: Option<Uuid>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list_audit(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: AuditQuery = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_audit(&caller, q.object_id, &page).await?).into_response())
}

/// The ledger receipt of one event, as a C2SP tlog-proof document, for callers entitled to the event.
async fn receipt(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let event = id(&raw)?;
    let receipt = app.receipt(&caller, event).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                crate::web::receipt_disposition(event),
            ),
        ],
        receipt,
    )
        .into_response())
}

/// Signs a checkpoint now (program administrators); checkpoints are also signed on a schedule.
async fn sign_checkpoint(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    let signed = app.checkpoint_now(&caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"size": signed.size, "note": signed.note})),
    )
        .into_response())
}

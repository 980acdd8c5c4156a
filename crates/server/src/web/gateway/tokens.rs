//! Gateway tokens: the list, issuing one (shown once) and revoking.

use super::*;

struct TokenRow {
    id: Uuid,
    name: String,
    holder: String,
    prefix: String,
    created: String,
    expires: String,
    status: &'static str,
    revocable: bool,
}

/// A token just issued, shown this once with what a client needs beside it.
struct Issued {
    token: String,
    /// Why the token does not reach a model yet, when it does not (the window is not open, say).
    not_yet: Option<String>,
}

#[derive(Template)]
#[template(path = "gateway_tokens.html")]
struct TokensPage {
    frame: Frame,
    head: NoticeHead,
    tokens: Vec<TokenRow>,
    /// Whether some token listed is not the caller's, so the holder is worth a column.
    others: bool,
    next: Option<String>,
    can_issue: bool,
    /// An agency member not assigned to the notice, told how to get access.
    unassigned: bool,
    /// Whether the caller administers their organisation (and so assigns evaluators).
    admin: bool,
    form: FormState,
    issued: Option<Issued>,
    gateway_url: String,
    models: Vec<ModelRow>,
    days_hint: String,
}

struct ModelRow {
    name: String,
    style: &'static str,
    endpoint: &'static str,
}

impl From<&GatewayModel> for ModelRow {
    fn from(m: &GatewayModel) -> Self {
        ModelRow {
            name: m.name.clone(),
            style: style_label(&m.api_style),
            endpoint: style_endpoint(&m.api_style),
        }
    }
}

async fn tokens_page(
    app: &App,
    caller: &Caller,
    id: Uuid,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
    issued: Option<Issued>,
) -> WebResult {
    let n = app.get_notice(caller, id).await?;
    let page = app
        .list_gateway_tokens(caller, id, &PageRequest { cursor, limit: None })
        .await?;
    let assigned = app.list_assignments(caller, id).await?;
    let is_assigned = assigned.iter().any(|a| a.user_id == caller.user_id());
    let now = app.clock.now();
    let mut tokens = Vec::new();
    for t in &page.items {
        let holder = match assigned.iter().find(|a| a.user_id == t.user_id) {
            Some(a) => a.display_name.clone(),
            None => person_name(app, caller, Some(t.user_id), "A former evaluator").await,
        };
        let status = token_status(t.revoked_at, t.expires_at, now);
        tokens.push(TokenRow {
            id: t.id,
            name: t.name.clone(),
            holder,
            prefix: t.prefix.clone(),
            created: when(t.created_at),
            expires: t.expires_at.map_or_else(|| "Never".to_owned(), when),
            status,
            revocable: status != "Revoked"
                && policy::may_revoke_gateway_tokens_of(caller, t.org_id, t.user_id),
        });
    }
    let models = app.gateway_models_of(caller, id).await?;
    let is_agency = caller.is(accounts::OrgKind::Agency);
    let view = TokensPage {
        frame: Frame::signed_in(caller, "notices", format!("Gateway tokens · {}", n.model_name)),
        others: page.items.iter().any(|t| t.user_id != caller.user_id()),
        head: NoticeHead::new(caller, &n, Section::Tokens),
        tokens,
        next: page.next_cursor,
        can_issue: policy::can_issue_gateway_token(caller, is_assigned) && n.state != NoticeState::Withdrawn,
        unassigned: is_agency && !is_assigned,
        admin: caller.is_admin(),
        form,
        issued,
        gateway_url: gateway_url(app),
        models: models.iter().map(ModelRow::from).collect(),
        days_hint: format!(
            "Optional, at most {} days. The token also stops working when your access ends.",
            app::gateway::MAX_GATEWAY_TOKEN_DAYS
        ),
    };
    Ok(html(status, &view))
}

pub async fn tokens(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let cursor = q.optional("cursor").map(str::to_owned);
    tokens_page(
        &app,
        &caller,
        path_id(&raw)?,
        cursor,
        StatusCode::OK,
        FormState::default(),
        None,
    )
    .await
}

async fn issue_token(app: &App, caller: &Caller, id: Uuid, fields: &Fields) -> AppResult<Issued> {
    let days = fields.number("expires_in_days")?;
    let (_, token) = app
        .create_gateway_token(caller, id, fields.text("name"), days)
        .await?;
    let token = token.expose().to_owned();
    // Asking the gateway what the new token reaches tells the evaluator at once if it cannot reach anything
    // yet, and why, in the gateway's own words.
    let not_yet = app
        .gateway_models(&app::gateway::GatewayKey::Presented(Some(&token)))
        .await
        .err()
        .map(|e| sentence(&e.message));
    Ok(Issued { token, not_yet })
}

pub async fn create_token(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    match issue_token(&app, &caller, id, &fields).await {
        // The token is in this response only: only its digest is kept.
        Ok(issued) => {
            tokens_page(
                &app,
                &caller,
                id,
                None,
                StatusCode::OK,
                FormState::default(),
                Some(issued),
            )
            .await
        }
        Err(error) => {
            let (status, error) = on_form(error)?;
            tokens_page(
                &app,
                &caller,
                id,
                None,
                status,
                FormState::failed(fields, error),
                None,
            )
            .await
        }
    }
}

pub async fn revoke_token(
    State(app): State<App>,
    Path((raw, token)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    app.revoke_gateway_token(&form.caller, id, path_id(&token)?)
        .await
        .map_err(WebError::from)?;
    Ok(see_other(&format!("/notices/{id}/gateway-tokens")))
}

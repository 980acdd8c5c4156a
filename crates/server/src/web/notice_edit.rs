//! Editing a notice after filing (its developer): version, model card with a server-rendered preview (a button
//! of the form, so it works without script), and the agencies it is shared with.

use super::form::{Fields, FormState, on_form};
use super::notices::path_id;
use super::orgs::{Directory, directory};
use super::render::{Frame, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::Choice;
use accounts::OrgKind;
use app::program::{NoticeEditInput, NoticeView};
use app::{App, AppError, Caller, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use store::NoticeChange;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "notice_edit.html")]
struct EditPage {
    frame: Frame,
    n: NoticeView,
    form: FormState,
    agencies: Vec<Choice>,
    /// The model card as it will read, when the preview button was pressed.
    preview: Option<String>,
}

async fn edit_page(
    app: &App,
    caller: &Caller,
    n: NoticeView,
    status: StatusCode,
    form: FormState,
    preview: Option<String>,
) -> WebResult {
    let agencies = directory(app, caller)
        .await?
        .of_kind(OrgKind::Agency)
        .filter(|o| o.active || n.shared_with.iter().flatten().any(|s| *s == o.id))
        .map(|o| Choice::new(o.id.to_string(), o.name.clone()))
        .collect();
    let page = EditPage {
        frame: Frame::signed_in(
            caller,
            "notices",
            format!("Edit {} {}", n.model_name, n.model_version),
        ),
        n,
        form,
        agencies,
        preview,
    };
    Ok(html(status, &page))
}

/// The notice, for its developer only: others are refused as the API refuses them.
async fn editable(app: &App, caller: &Caller, id: Uuid) -> Result<NoticeView, AppError> {
    let n = app.get_notice(caller, id).await?;
    if !policy::manages_notices_of(caller, n.developer_org_id) || !policy::can_file_notice(caller) {
        return Err(AppError::Forbidden("only the developer edits its notice"));
    }
    Ok(n)
}

pub async fn edit_form(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let n = editable(&app, &caller, path_id(&raw)?).await?;
    let mut pairs: Vec<(&str, &str)> = vec![
        ("model_version", n.model_version.as_str()),
        ("model_card", n.model_card.as_str()),
    ];
    if n.shared_with_all {
        pairs.push(("shared_with_all", "true"));
    }
    let shared: Vec<String> = n.shared_with.iter().flatten().map(Uuid::to_string).collect();
    pairs.extend(shared.iter().map(|id| ("shared_with", id.as_str())));
    let form = FormState {
        fields: Fields::new(&pairs),
        ..FormState::default()
    };
    edit_page(&app, &caller, n, StatusCode::OK, form, None).await
}

pub async fn edit(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    let n = editable(&app, &caller, id).await?;
    if fields.text("action") == "preview" {
        let preview = review::markdown::render(fields.text("model_card"));
        let form = FormState {
            fields,
            ..FormState::default()
        };
        return edit_page(&app, &caller, n, StatusCode::OK, form, Some(preview)).await;
    }
    let all = fields.ticked("shared_with_all");
    let edited = async {
        let input = NoticeEditInput {
            model_version: Some(fields.text("model_version").to_owned()),
            model_card: Some(fields.text("model_card").to_owned()),
            shared_with: if all {
                None
            } else {
                Some(fields.ids("shared_with")?)
            },
            shared_with_all: Some(all),
        };
        app.edit_notice(&caller, id, input).await
    }
    .await;
    match edited {
        Ok(_) => Ok(see_other(&format!("/notices/{id}"))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            edit_page(&app, &caller, n, status, FormState::failed(fields, error), None).await
        }
    }
}

/// An edit in a notice's history, in words: "Version 1.0 → 1.1; model card changed; …".
pub fn changes_text(changes: &[NoticeChange], orgs: &Directory) -> String {
    let names = |ids: &[Uuid]| ids.iter().map(|id| orgs.name(*id)).collect::<Vec<_>>().join(", ");
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let parts: Vec<String> = changes
        .iter()
        .map(|c| match c {
            NoticeChange::ModelVersion { from, to } => format!("Version {from} → {to}"),
            NoticeChange::ModelCard => "Model card changed".to_owned(),
            NoticeChange::SharedWithAll { from, to } => {
                format!("Shared with every agency: {} → {}", yes_no(*from), yes_no(*to))
            }
            NoticeChange::SharedWith { added, removed } => match (added.is_empty(), removed.is_empty()) {
                (false, true) => format!("Agencies added: {}", names(added)),
                (true, false) => format!("Agencies removed: {}", names(removed)),
                _ => format!("Agencies added: {}; removed: {}", names(added), names(removed)),
            },
        })
        .collect();
    format!("Edited: {}", parts.join("; "))
}

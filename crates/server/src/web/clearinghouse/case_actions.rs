//! What the case page's forms do, each through the same `app` operation as the API (which decides who may):
//! moving the case (publishing and rejecting ask to confirm first), adding a vendor, posting and replying,
//! stating a vendor's status, moving the embargo, and merging and splitting (both confirmed first). A refused
//! form shows the case page again with the form's values and the reason next to the field.

use super::super::form::{Fields, on_form};
use super::super::notices::path_id;
use super::super::render::{WebResult, html, see_other};
use super::super::session::SignedInForm;
use super::cases::{CaseForms, Slot, case_page};
use super::triage::ConfirmPage;
use app::{App, AppError, AppResult, policy};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use review::ValidationError;
use uuid::Uuid;

/// Ends a POST on a case: to `done` when it worked, else the case page with the failed form.
async fn finish(app: &App, form: SignedInForm, id: Uuid, slot: Slot, result: AppResult<String>) -> WebResult {
    match result {
        Ok(done) => Ok(see_other(&done)),
        Err(error) => {
            let (status, error) = on_form(error)?;
            let mut forms = CaseForms::default();
            let failed = forms.slot(slot);
            failed.fields = form.fields;
            failed.error = Some(error);
            let page = case_page(app, &form.caller, id, forms).await?;
            Ok(html(status, &page))
        }
    }
}

/// The confirmation step, unless the form carries `confirm=yes`; only for coordinators (the operation refuses
/// anyone else, so no one else is asked to confirm it).
fn confirmation(
    form: &SignedInForm,
    heading: String,
    explanation: String,
    action: String,
    id: Uuid,
) -> Option<ConfirmPage> {
    if form.fields.text("confirm") == "yes" || !policy::can_coordinate_cases(&form.caller) {
        return None;
    }
    let mut page = ConfirmPage::new(&form.caller, heading, explanation, action, &form.fields);
    page.frame.section = "cases";
    page.cancel = format!("/cases/{id}");
    Some(page)
}

fn field_id(fields: &Fields, name: &str) -> AppResult<Uuid> {
    Ok(fields.id(name)?)
}

pub async fn transition(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let to = form.fields.text("to").to_owned();
    let closing = match to.as_str() {
        "published" => Some((
            "Publish the case",
            "The advisory is written and sent to every entitled subscriber, and the case's marking no longer keeps it from those it admits. This cannot be undone.",
        )),
        "rejected" => Some((
            "Reject the case",
            "The case closes as rejected. This cannot be undone.",
        )),
        _ => None,
    };
    if let Some((heading, explanation)) = closing {
        let reference = app.get_case(&form.caller, id).await?.summary.reference;
        if let Some(page) = confirmation(
            &form,
            format!("{heading} {reference}"),
            explanation.to_owned(),
            format!("/cases/{id}/transition"),
            id,
        ) {
            return Ok(html(StatusCode::OK, &page));
        }
    }
    let result = app
        .transition_case(&form.caller, id, &to, form.fields.optional("reason"))
        .await
        .map(|_| format!("/cases/{id}"));
    finish(&app, form, id, Slot::Transition, result).await
}

pub async fn add_participant(
    State(app): State<App>,
    Path(raw): Path<String>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    let result = match field_id(&form.fields, "org_id") {
        Ok(org) => app
            .add_participant(&form.caller, id, org, "vendor")
            .await
            .map(|_| format!("/cases/{id}")),
        Err(e) => Err(e),
    };
    finish(&app, form, id, Slot::Participant, result).await
}

pub async fn post(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let reply_to = match form.fields.optional("reply_to") {
        None => Ok(None),
        Some(v) => v
            .parse::<Uuid>()
            .map(Some)
            .map_err(|_| AppError::from(ValidationError::new("reply_to", "is not a post of this case"))),
    };
    let result = match reply_to {
        Ok(reply_to) => app
            .add_case_post(&form.caller, id, form.fields.text("body"), reply_to)
            .await
            .map(|p| format!("/cases/{id}#post-{}", p.id)),
        Err(e) => Err(e),
    };
    finish(&app, form, id, Slot::Post, result).await
}

pub async fn status(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let ids = field_id(&form.fields, "vendor").and_then(|v| Ok((v, field_id(&form.fields, "report_id")?)));
    let result = match ids {
        Ok((vendor, report)) => app
            .set_vendor_status(
                &form.caller,
                id,
                vendor,
                report,
                form.fields.text("status"),
                form.fields.text("statement"),
            )
            .await
            .map(|_| format!("/cases/{id}#statuses-title")),
        Err(e) => Err(e),
    };
    finish(&app, form, id, Slot::Status, result).await
}

pub async fn embargo(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let result = app
        .set_embargo(
            &form.caller,
            id,
            form.fields.text("embargo_ends_at"),
            form.fields.text("reason"),
        )
        .await
        .map(|_| format!("/cases/{id}"));
    finish(&app, form, id, Slot::Embargo, result).await
}

pub async fn merge(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let into = match field_id(&form.fields, "into") {
        Ok(into) => into,
        Err(e) => return finish(&app, form, id, Slot::Merge, Err(e)).await,
    };
    if form.fields.text("confirm") != "yes" && policy::can_triage(&form.caller) {
        let this = app.get_case(&form.caller, id).await?.summary.reference;
        let target = match app.get_case(&form.caller, into).await {
            Ok(c) => c.summary.reference,
            Err(AppError::NotFound(_)) => {
                let e = ValidationError::new("into", "is not a case you can see");
                return finish(&app, form, id, Slot::Merge, Err(e.into())).await;
            }
            Err(other) => return Err(other.into()),
        };
        if let Some(page) = confirmation(
            &form,
            format!("Merge {this} into {target}"),
            format!(
                "The reports of {this} move to {target} as duplicates, their finders stay credited and are told, \
                 and {this} closes as a duplicate. This cannot be undone."
            ),
            format!("/cases/{id}/merge"),
            id,
        ) {
            return Ok(html(StatusCode::OK, &page));
        }
    }
    let result = app
        .merge_case(&form.caller, id, into)
        .await
        .map(|m| format!("/cases/{}", m.into));
    finish(&app, form, id, Slot::Merge, result).await
}

pub async fn split(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let reports = match form.fields.ids("reports") {
        Ok(r) => r,
        Err(_) => {
            let e = ValidationError::new("reports", "choose reports of this case");
            return finish(&app, form, id, Slot::Split, Err(e.into())).await;
        }
    };
    if form.fields.text("confirm") != "yes" && policy::can_triage(&form.caller) {
        if reports.is_empty() {
            let e = ValidationError::new("reports", "choose at least one report to move");
            return finish(&app, form, id, Slot::Split, Err(e.into())).await;
        }
        let this = app.get_case(&form.caller, id).await?.summary.reference;
        if let Some(page) = confirmation(
            &form,
            format!(
                "Split {} out of {this}",
                super::super::render::plural(i64::try_from(reports.len()).unwrap_or(i64::MAX), "report")
            ),
            format!(
                "The chosen reports leave {this} and open a new case, in state new, with their organisations as participants."
            ),
            format!("/cases/{id}/split"),
            id,
        ) {
            return Ok(html(StatusCode::OK, &page));
        }
    }
    let result = app
        .split_case(&form.caller, id, &reports)
        .await
        .map(|s| format!("/cases/{}", s.case_id));
    finish(&app, form, id, Slot::Split, result).await
}

//! Organisations and their people: the directory, creating and (de)activating organisations, inviting and
//! (de)activating people.

use super::clearinghouse::triage::ConfirmPage;
use super::form::{FormState, QueryFields};
use super::notices::path_id;
use super::render::{Frame, WebError, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::{Choice, day, when};
use accounts::{OrgKind, Role};
use app::identity::{IssuedInvitation, OrgView};
use app::{App, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use std::collections::HashMap;
use uuid::Uuid;

/// Every organisation, to name them on pages and to offer them in forms.
pub struct Directory {
    orgs: Vec<OrgView>,
    names: HashMap<Uuid, usize>,
}

impl Directory {
    pub fn name(&self, id: Uuid) -> String {
        self.names
            .get(&id)
            .and_then(|i| self.orgs.get(*i))
            .map(|o| o.name.clone())
            .unwrap_or_else(|| "Unknown organisation".to_owned())
    }

    pub fn of_kind(&self, kind: OrgKind) -> impl Iterator<Item = &OrgView> {
        self.orgs.iter().filter(move |o| o.kind == kind.as_str())
    }
}

/// Reads the whole directory, page by page.
pub async fn directory(app: &App, caller: &Caller) -> Result<Directory, WebError> {
    let mut orgs = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .list_orgs(
                caller,
                &PageRequest {
                    cursor,
                    limit: Some(app::page::MAX_LIMIT),
                },
            )
            .await?;
        orgs.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let names = orgs.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
    Ok(Directory { orgs, names })
}

fn kind_label(kind: &str) -> &'static str {
    OrgKind::parse("kind", kind)
        .map(OrgKind::label)
        .unwrap_or("Organisation")
}

struct OrgRow {
    id: String,
    name: String,
    kind: &'static str,
    active: bool,
    created: String,
    own: bool,
}

impl OrgRow {
    fn new(o: &OrgView, caller: &Caller) -> OrgRow {
        OrgRow {
            id: o.id.to_string(),
            name: o.name.clone(),
            kind: kind_label(&o.kind),
            active: o.active,
            created: day(o.created_at),
            own: o.id == caller.org_id(),
        }
    }
}

#[derive(Template)]
#[template(path = "organizations.html")]
struct DirectoryPage {
    frame: Frame,
    orgs: Vec<OrgRow>,
    next: Option<String>,
    admin: bool,
    kinds: Vec<Choice>,
    form: FormState,
}

async fn directory_page(
    app: &App,
    caller: &Caller,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
) -> WebResult {
    let page = app
        .list_orgs(caller, &PageRequest { cursor, limit: None })
        .await?;
    let view = DirectoryPage {
        frame: Frame::signed_in(caller, "organizations", "Organisations"),
        orgs: page.items.iter().map(|o| OrgRow::new(o, caller)).collect(),
        next: page.next_cursor,
        admin: policy::can_administer_program(caller),
        kinds: OrgKind::ALL
            .iter()
            .map(|k| Choice::new(k.as_str(), k.label()))
            .collect(),
        form,
    };
    Ok(html(status, &view))
}

pub async fn organizations(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    directory_page(&app, &caller, q.cursor(), StatusCode::OK, FormState::default()).await
}

pub async fn create(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    match app
        .create_org(&caller, fields.text("kind"), fields.text("name"))
        .await
    {
        Ok(org) => Ok(see_other(&format!("/organizations/{}", org.id))),
        Err(error) => {
            let (status, form) = FormState::refused(fields, error)?;
            directory_page(&app, &caller, None, status, form).await
        }
    }
}

/// `active=true` or `active=false`, as the buttons send it.
fn wanted_active(form: &SignedInForm) -> bool {
    form.fields.get("active") == Some("true")
}

pub async fn set_org_active(
    State(app): State<App>,
    Path(raw): Path<String>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    app.set_org_active(&form.caller, id, wanted_active(&form)).await?;
    Ok(see_other("/organizations"))
}

struct PersonRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    /// The role's value, to preselect it in the form that changes it.
    role_value: String,
    status: &'static str,
    active: bool,
    own: bool,
}

struct InvitationRow {
    id: String,
    email: String,
    role: &'static str,
    sent: String,
    expires: String,
    expired: bool,
}

#[derive(Template)]
#[template(path = "organization.html")]
struct OrgPage {
    frame: Frame,
    org: OrgRow,
    /// `None` when the caller may not see this organisation's people.
    people: Option<Vec<PersonRow>>,
    next: Option<String>,
    manage: bool,
    roles: Vec<Choice>,
    form: FormState,
    /// The invitation link just made, shown this once.
    issued: Option<String>,
    /// The organisation's pending invitations, for those who manage its people.
    invitations: Vec<InvitationRow>,
    /// What was just done, said at the top of the page.
    done: Option<&'static str>,
}

/// What the organisation's page says at its top, beside the page itself.
#[derive(Default)]
struct Said {
    /// The invitation link just made, shown this once (empty when it was mailed).
    issued: Option<String>,
    /// What was just done.
    done: Option<&'static str>,
}

async fn org_page(
    app: &App,
    caller: &Caller,
    id: Uuid,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
    said: Said,
) -> WebResult {
    let Said { issued, done } = said;
    let org = app.get_org(caller, id).await?;
    let kind = OrgKind::parse("kind", &org.kind).map_err(app::AppError::from)?;
    let people = if policy::can_view_people(caller, id) {
        let page = app
            .list_users(caller, Some(id), &PageRequest { cursor, limit: None })
            .await?;
        let rows = page
            .items
            .iter()
            .map(|u| PersonRow {
                id: u.id.to_string(),
                name: u.display_name.clone(),
                email: u.email.clone(),
                role: Role::parse("role", &u.role)
                    .map(|r| r.title(kind))
                    .unwrap_or("Member"),
                role_value: u.role.clone(),
                status: match (u.active, u.has_password) {
                    (false, _) => "Deactivated",
                    (true, false) => "Invitation pending",
                    (true, true) => "Active",
                },
                active: u.active,
                own: u.id == caller.user_id(),
            })
            .collect();
        Some((rows, page.next_cursor))
    } else {
        None
    };
    let (people, next) = match people {
        Some((rows, next)) => (Some(rows), next),
        None => (None, None),
    };
    let manage = policy::can_manage_people(caller, id);
    let invitations = if manage {
        let page = app
            .list_invitations(
                caller,
                id,
                &PageRequest {
                    cursor: None,
                    limit: Some(app::page::MAX_LIMIT),
                },
            )
            .await?;
        page.items
            .into_iter()
            .map(|i| InvitationRow {
                id: i.id.to_string(),
                email: i.email.unwrap_or_else(|| "(set-up link)".into()),
                role: Role::parse("role", &i.role)
                    .map(|r| r.title(kind))
                    .unwrap_or("Member"),
                sent: when(i.created_at),
                expires: when(i.expires_at),
                expired: i.expired,
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = OrgPage {
        frame: Frame::signed_in(caller, "organizations", org.name.clone()),
        org: OrgRow::new(&org, caller),
        people,
        next,
        manage: policy::can_manage_people(caller, id),
        roles: [Role::Member, Role::Admin]
            .iter()
            .map(|r| Choice::new(r.as_str(), r.title(kind)))
            .collect(),
        form,
        issued,
        invitations,
        done,
    };
    Ok(html(status, &page))
}

pub async fn organization(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let id = path_id(&raw)?;
    let cursor = q.cursor();
    let form = invite_form();
    let done = match q.optional("done") {
        Some("revoked") => Some("The invitation was revoked: its link no longer works."),
        Some("role") => Some("The role was changed."),
        Some("deactivated") => Some("The person was deactivated and signed out."),
        Some("activated") => Some("The person was reactivated."),
        _ => None,
    };
    org_page(
        &app,
        &caller,
        id,
        cursor,
        StatusCode::OK,
        form,
        Said { issued: None, done },
    )
    .await
}

/// The form that invites a person, offering the member role first.
fn invite_form() -> FormState {
    FormState::with(&[("role", Role::Member.as_str())])
}

/// The organisation's page after an invitation was sent (or sent again). The link is shown in this response
/// only (never in a redirect's URL): only its digest is kept. Sent by e-mail, it is not shown (an empty one
/// says so to the page).
async fn issued_page(app: &App, caller: &Caller, org: Uuid, issued: &IssuedInvitation) -> WebResult {
    let link = if issued.emailed {
        String::new()
    } else {
        issued.link.expose().to_owned()
    };
    let said = Said {
        issued: Some(link),
        done: None,
    };
    org_page(app, caller, org, None, StatusCode::OK, invite_form(), said).await
}

pub async fn invite(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    match app
        .invite(&caller, id, fields.text("email"), fields.text("role"))
        .await
    {
        Ok(issued) => issued_page(&app, &caller, id, &issued).await,
        Err(error) => {
            let (status, form) = FormState::refused(fields, error)?;
            org_page(&app, &caller, id, None, status, form, Said::default()).await
        }
    }
}

/// Deactivating a person asks first (on a page of its own, without script); reactivating does not.
pub async fn set_person_active(
    State(app): State<App>,
    Path(raw): Path<String>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    let active = wanted_active(&form);
    if !active && form.fields.get("confirm") != Some("yes") {
        let person = app.get_user(&form.caller, id).await?;
        let mut page = ConfirmPage::new(
            &form.caller,
            format!("Deactivate {}", person.display_name),
            format!(
                "{} ({}) is signed out at once and cannot sign in or use API tokens until reactivated. \
                 Their work stays.",
                person.display_name, person.email
            ),
            format!("/people/{id}/active"),
            &form.fields,
        );
        page.frame = Frame::signed_in(&form.caller, "organizations", page.heading.clone());
        page.cancel = format!("/organizations/{}", person.org_id);
        return Ok(html(StatusCode::OK, &page));
    }
    let person = app.set_user_active(&form.caller, id, active).await?;
    let done = if active { "activated" } else { "deactivated" };
    Ok(see_other(&format!(
        "/organizations/{}?done={done}",
        person.org_id
    )))
}

pub async fn set_person_role(
    State(app): State<App>,
    Path(raw): Path<String>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    let person = app
        .set_user_role(&form.caller, id, form.fields.text("role"))
        .await?;
    Ok(see_other(&format!("/organizations/{}?done=role", person.org_id)))
}

/// An invitation of the organisation in the path (one of another organisation reads as absent).
fn invitation_path(org: &str, invitation: &str) -> Result<(Uuid, Uuid), WebError> {
    Ok((path_id(org)?, path_id(invitation)?))
}

pub async fn revoke_invitation(
    State(app): State<App>,
    Path((org, invitation)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let (org, invitation) = invitation_path(&org, &invitation)?;
    let revoked = app.revoke_invitation(&form.caller, invitation).await?;
    let _ = org;
    Ok(see_other(&format!(
        "/organizations/{}?done=revoked#invitations",
        revoked.org_id
    )))
}

/// Sends an invitation again: the new link is mailed, or shown this once (like a new invitation).
pub async fn resend_invitation(
    State(app): State<App>,
    Path((org, invitation)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let (org, invitation) = invitation_path(&org, &invitation)?;
    let SignedInForm { caller, .. } = form;
    let issued = app.resend_invitation(&caller, invitation).await?;
    let _ = org;
    issued_page(&app, &caller, issued.invitation.org_id, &issued).await
}

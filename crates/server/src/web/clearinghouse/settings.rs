//! An organisation's settings for the clearinghouse: its subscriptions to advisories (its admins) and, for a
//! vendor, its disclosure policy (the vendor's admins). Both go through the same `app` operations as the API, so
//! whoever the API refuses gets the same refusal here, and the app's validation errors land on their field.

use super::super::form::{FormState, QueryFields, on_form};
use super::super::notices::path_id;
use super::super::render::{Frame, WebResult, html, see_other};
use super::super::session::{SignedInForm, WebCaller};
use super::super::view::{Choice, humanize, when};
use app::clearinghouse::SECTORS;
use app::clearinghouse::advisories::{MAX_SUBSCRIPTIONS, NewSubscription, SubscriptionView};
use app::clearinghouse::vendors::{MAX_PRODUCTS, MAX_REPORTS_PER_DAY, PolicyInput, VendorPolicyView};
use app::{App, Caller, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use clearinghouse::case::{DEFAULT_EMBARGO_DAYS, MAX_EMBARGO_DAYS};
use review::ValidationError;

/// The minimum severities a subscription may ask for, as people say them (no minimum is the blank option).
const MIN_SEVERITIES: [(&str, &str); 4] = [
    ("low", "Low or above"),
    ("medium", "Medium or above"),
    ("high", "High or above"),
    ("critical", "Critical only"),
];

/// A stored minimum severity in words.
fn min_severity_label(value: Option<&str>) -> String {
    match value {
        None | Some("none") => "Any severity".to_owned(),
        Some(v) => MIN_SEVERITIES
            .iter()
            .find(|(k, _)| *k == v)
            .map_or_else(|| humanize(v), |(_, label)| (*label).to_owned()),
    }
}

struct SubscriptionRow {
    id: String,
    sector: String,
    product_prefix: String,
    min_severity: String,
    created: String,
}

impl From<&SubscriptionView> for SubscriptionRow {
    fn from(s: &SubscriptionView) -> Self {
        SubscriptionRow {
            id: s.id.to_string(),
            sector: s
                .sector
                .as_deref()
                .map_or_else(|| "Any sector".to_owned(), humanize),
            product_prefix: s.product_prefix.clone().unwrap_or_default(),
            min_severity: min_severity_label(s.min_severity.as_deref()),
            created: when(s.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "subscriptions.html")]
struct SubscriptionsPage {
    frame: Frame,
    rows: Vec<SubscriptionRow>,
    next: Option<String>,
    form: FormState,
    sectors: Vec<Choice>,
    severities: Vec<Choice>,
    most: i64,
    /// What the last action did: "created" or "deleted".
    done: &'static str,
}

async fn subscriptions_page(
    app: &App,
    caller: &Caller,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
    done: &'static str,
) -> WebResult {
    let page = app
        .list_subscriptions(caller, &PageRequest { cursor, limit: None })
        .await?;
    let view = SubscriptionsPage {
        frame: Frame::signed_in(caller, "subscriptions", "Advisory subscriptions"),
        rows: page.items.iter().map(SubscriptionRow::from).collect(),
        next: page.next_cursor,
        form,
        sectors: Choice::keywords(SECTORS),
        severities: MIN_SEVERITIES.iter().map(|(v, l)| Choice::new(*v, *l)).collect(),
        most: MAX_SUBSCRIPTIONS,
        done,
    };
    Ok(html(status, &view))
}

fn done(q: &super::super::form::Fields) -> &'static str {
    if q.get("created").is_some() {
        "created"
    } else if q.get("deleted").is_some() {
        "deleted"
    } else {
        ""
    }
}

pub async fn subscriptions(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let cursor = q.optional("cursor").map(str::to_owned);
    subscriptions_page(
        &app,
        &caller,
        cursor,
        StatusCode::OK,
        FormState::default(),
        done(&q),
    )
    .await
}

pub async fn subscribe(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    let input = NewSubscription {
        sector: fields.optional("sector").map(str::to_owned),
        product_prefix: fields.optional("product_prefix").map(str::to_owned),
        min_severity: fields.optional("min_severity").map(str::to_owned),
    };
    match app.create_subscription(&caller, input).await {
        Ok(_) => Ok(see_other("/subscriptions?created=1")),
        Err(error) => {
            let (status, error) = on_form(error)?;
            subscriptions_page(&app, &caller, None, status, FormState::failed(fields, error), "").await
        }
    }
}

pub async fn unsubscribe(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    app.delete_subscription(&form.caller, path_id(&raw)?).await?;
    Ok(see_other("/subscriptions?deleted=1"))
}

#[derive(Template)]
#[template(path = "vendor_policy.html")]
struct PolicyPage {
    frame: Frame,
    org_name: String,
    form: FormState,
    saved: bool,
    /// When the policy was last set; `None` while the program's defaults apply.
    updated: Option<String>,
    embargo_hint: String,
    pace_hint: String,
    products_hint: String,
}

/// The form's fields as the stored policy fills them.
fn policy_fields(p: &VendorPolicyView) -> FormState {
    let embargo = p.embargo_days.map(|d| d.to_string()).unwrap_or_default();
    let pace = p.reports_per_day.map(|d| d.to_string()).unwrap_or_default();
    let products = p.products.join("\n");
    let mut pairs = vec![
        ("embargo_days", embargo.as_str()),
        ("reports_per_day", pace.as_str()),
        ("products", products.as_str()),
    ];
    if p.ai_found_public {
        pairs.push(("ai_found_public", "true"));
    }
    if p.require_reproducer {
        pairs.push(("require_reproducer", "true"));
    }
    FormState::with(&pairs)
}

fn policy_page(
    caller: &Caller,
    status: StatusCode,
    form: FormState,
    saved: bool,
    p: &VendorPolicyView,
) -> WebResult {
    let view = PolicyPage {
        frame: Frame::signed_in(caller, "vendor-policy", "Disclosure policy"),
        org_name: caller.org.name.clone(),
        form,
        saved,
        updated: p.updated_at.map(when),
        embargo_hint: format!(
            "Days from notification to publication, 1 to {MAX_EMBARGO_DAYS}. Leave blank for the program's default of {DEFAULT_EMBARGO_DAYS} days."
        ),
        pace_hint: format!(
            "The most reports a day you are notified of, 1 to {MAX_REPORTS_PER_DAY}. Leave blank for no limit."
        ),
        products_hint: format!(
            "One package URL or CPE prefix a line (such as pkg:npm/acme or cpe:2.3:a:acme), at most {MAX_PRODUCTS}. Reports about them are routed to you at triage."
        ),
    };
    Ok(html(status, &view))
}

pub async fn vendor_policy(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let policy = app.vendor_policy(&caller).await?;
    policy_page(
        &caller,
        StatusCode::OK,
        policy_fields(&policy),
        q.get("saved").is_some(),
        &policy,
    )
}

fn read_policy(fields: &super::super::form::Fields) -> Result<PolicyInput, ValidationError> {
    Ok(PolicyInput {
        embargo_days: fields.number("embargo_days")?,
        ai_found_public: fields.ticked("ai_found_public"),
        require_reproducer: fields.ticked("require_reproducer"),
        reports_per_day: fields.number("reports_per_day")?,
        products: fields.lines("products"),
    })
}

pub async fn set_vendor_policy(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    // Refused before reading the form, as the API refuses: only a vendor's admins get this far.
    let current = app.vendor_policy(&caller).await?;
    let result = match read_policy(&fields) {
        Ok(input) => app.set_vendor_policy(&caller, input).await,
        Err(error) => Err(error.into()),
    };
    match result {
        Ok(_) => Ok(see_other("/vendor-policy?saved=1")),
        Err(error) => {
            let (status, error) = on_form(error)?;
            policy_page(&caller, status, FormState::failed(fields, error), false, &current)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_and_sectors_read_as_words() {
        let cases = [
            (None, "Any severity"),
            (Some("none"), "Any severity"),
            (Some("high"), "High or above"),
            (Some("critical"), "Critical only"),
        ];
        for (value, label) in cases {
            assert_eq!(min_severity_label(value), label, "{value:?}");
        }
        let sectors = Choice::keywords(SECTORS);
        assert!(sectors.iter().all(|c| !c.label.contains('_')));
        assert!(sectors.iter().any(|c| c.label == "Food and agriculture"));
    }
}

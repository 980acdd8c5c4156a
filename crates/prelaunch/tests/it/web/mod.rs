//! The web UI, driven like a browser without script: real HTTP, a cookie jar, plain form posts. One test runs
//! a real headless Chromium.

use crate::browser::Browser;
use crate::support::*;
use accounts::Secret;
use chrono::Duration;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

mod notices;
mod pages;
mod sign_in;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A person who can sign in with a password.
pub(crate) struct Member {
    pub(crate) email: String,
}

/// Creates a person as `admin user create` does and sets their password through their one-time link.
pub(crate) async fn member(t: &TestApp, org: &str, email: &str, role: &str, name: &str) -> Member {
    let (_, link) = t.app.provision_user(org, email, role).await.unwrap();
    let token = link.expose().rsplit('/').next().unwrap().to_owned();
    t.app
        .accept_invitation(&token, Some(email), name, &Secret::new(PASSWORD.into()))
        .await
        .unwrap();
    Member { email: email.into() }
}

/// A page as the server answered it.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the `<input>` that follows `marker` (a name or an id attribute).
    pub(crate) fn input_value(&self, marker: &str) -> String {
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in page:\n{}", self.body));
        let rest = &self.body[start..];
        let value = &rest[rest.find("value=\"").unwrap() + 7..];
        value[..value.find('"').unwrap()].to_owned()
    }

    pub(crate) fn csrf(&self) -> String {
        self.input_value("name=\"csrf\"")
    }

    /// The id in a `Location: /things/<id>` redirect.
    fn created_id(&self, prefix: &str) -> String {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        let id = self
            .location()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("redirect to {} is not under {prefix}", self.location()));
        id.to_owned()
    }

    /// A form shown again after a mistake: 422, the error next to the field with this id, the value kept.
    pub(crate) fn assert_form_error(&self, field_id: &str, kept: &str) {
        self.assert(422);
        assert!(
            self.body.contains(&format!("id=\"{field_id}-error\"")),
            "no error at #{field_id}: {}",
            self.body
        );
        assert!(
            self.body.contains(&format!("value=\"{kept}\"")),
            "{kept:?} was not kept"
        );
    }

    pub(crate) fn assert(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self
    }
}

/// A browser without script: a cookie jar and forms.
pub(crate) struct Web {
    client: reqwest::Client,
    base: String,
}

impl Web {
    pub(crate) fn new(t: &TestApp) -> Web {
        Web {
            client: reqwest::Client::builder()
                .no_proxy()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: t.base.clone(),
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.get(url).send().await.unwrap()).await
    }

    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.post(url).form(fields).send().await.unwrap()).await
    }

    /// Opens the page with the form, then sends the form with its CSRF token, as a person would.
    pub(crate) async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.assert(200).csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub(crate) async fn sign_in(t: &TestApp, who: &Member) -> Web {
        let web = Web::new(t);
        let page = web
            .submit(
                "/login",
                "/login",
                &[("email", &who.email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/");
        web
    }
}

/// A new person of `org`, signed in.
pub(crate) async fn signed_in(t: &TestApp, org: &str, email: &str, role: &str, name: &str) -> Web {
    Web::sign_in(t, &member(t, org, email, role, name).await).await
}

/// The fields of the new-notice form for a launch `days` after the test clock's now.
/// A member of the Cyber Evaluation Agency, assigned to `notice` by the agency's admin, signed in.
pub(crate) async fn assigned_evaluator(t: &TestApp, w: &World, notice: &str, email: &str, name: &str) -> Web {
    let person = member(t, "Cyber Evaluation Agency", email, "member", name).await;
    let id = t.app.store.find_user_by_email(email).await.unwrap().unwrap().id;
    t.post(
        &w.agency_admin,
        &format!("/api/v1/notices/{notice}/assignments"),
        json!({"user_id": id}),
    )
    .await
    .ok();
    Web::sign_in(t, &person).await
}

fn notice_form(t: &TestApp, model: &str, days: i64, agency: &str) -> Vec<(String, String)> {
    let launch = t.clock_now() + Duration::days(days);
    vec![
        ("model_name".into(), model.into()),
        ("model_version".into(), "2.0".into()),
        (
            "planned_launch_at".into(),
            launch.format("%Y-%m-%dT%H:%M").to_string(),
        ),
        ("model_card".into(), format!("# {model}\n\nA **frontier** model.")),
        ("shared_with".into(), agency.into()),
    ]
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The page is usable without script and within the CSP, and every control has a label.
pub(crate) fn assert_accessible(path: &str, html: &str) {
    assert!(html.contains("<html lang=\"en\">"), "{path}: lang");
    for forbidden in ["style=", "<style", "javascript:"] {
        assert!(!html.contains(forbidden), "{path} contains {forbidden}");
    }
    // Script only as an enhancement from the site's own assets (the CSP's `script-src 'self'`), never inline.
    for (at, _) in html.match_indices("<script") {
        let element = &html[at..at + html[at..].find("</script>").unwrap_or(html.len() - at)];
        assert!(
            element.starts_with("<script src=\"/assets/") && element.ends_with("defer>"),
            "{path}: inline or foreign script: {element}"
        );
    }
    for tag in ["<input", "<select", "<textarea"] {
        for (at, _) in html.match_indices(tag) {
            let element = &html[at..at + html[at..].find('>').unwrap()];
            if element.contains("type=\"hidden\"") {
                continue;
            }
            let id_at = element
                .find(" id=\"")
                .unwrap_or_else(|| panic!("{path}: control without id: {element}"));
            let id = &element[id_at + 5..];
            let id = &id[..id.find('"').unwrap()];
            assert!(
                html.contains(&format!("for=\"{id}\"")),
                "{path}: no label for #{id}"
            );
        }
    }
}

/// Waits for the page a click led to: until the element's text contains `expected`.
pub(crate) async fn wait_for(browser: &Browser, css: &str, expected: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let text = browser.text(css).await.unwrap_or_default();
        if text.contains(expected) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{css}` never showed {expected:?}; the page says:\n{}",
            browser.text("main").await.unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

//! The model access gateway's pages under a notice: the developer's model connections (with a test call), the
//! evaluators' gateway tokens (shown once), and usage (see `usage.rs`).
//!
//! A connection's credential and extra header values are write-only here as everywhere: the forms take them,
//! no page shows them again, and a form shown again after a mistake leaves them empty.

mod connection_form;
mod connections;
mod tokens;

pub use connections::{
    connection, connections, create_connection, delete_connection, test_connection, update_connection,
};
pub use tokens::{create_token, revoke_token, tokens};

use super::form::{Fields, FormState, QueryFields, on_form};
use super::notices::{path_id, person_name};
use super::render::{Frame, WebError, WebResult, capitalise, html, plural, see_other};
use super::session::{SignedInForm, WebCaller};
use super::tokens::token_status;
use super::usage::{grouped, millis};
use super::view::{self, Choice, when};
use accounts::Secret;
use app::gateway::{ConnectionInput, ConnectionView, GatewayModel};
use app::program::NoticeView;
use app::{App, AppResult, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gateway::settings::{
    self, DEFAULT_TIMEOUT_SECONDS, MAX_EVENT_BYTES, MAX_POST_LAUNCH_DAYS, MAX_RESPONSE_BYTES,
    MAX_STREAM_BYTES, MAX_TIMEOUT_SECONDS, MIN_RESPONSE_LIMIT,
};
use gateway::{ApiStyle, Limits, Probe, ResponseLimits, Retention};
use review::{NoticeState, ValidationError};
use uuid::Uuid;

/// A link of the gateway pages' own navigation.
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What every gateway page shows of its notice: the way back to it, and the links between the pages.
pub struct NoticeHead {
    pub id: Uuid,
    pub model: String,
    pub version: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub withdrawn: bool,
    pub tabs: Vec<Tab>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Connections,
    Tokens,
    Usage,
}

impl NoticeHead {
    pub fn new(caller: &Caller, n: &NoticeView, section: Section) -> NoticeHead {
        let mut tabs = Vec::new();
        let mut tab = |s: Section, path: &str, label| {
            tabs.push(Tab {
                href: format!("/notices/{}/{path}", n.id),
                label,
                current: s == section,
            });
        };
        if policy::manages_notices_of(caller, n.developer_org_id) {
            tab(Section::Connections, "connections", "Model connections");
        }
        tab(Section::Tokens, "gateway-tokens", "Gateway tokens");
        tab(Section::Usage, "gateway-usage", "Usage");
        NoticeHead {
            id: n.id,
            model: n.model_name.clone(),
            version: n.model_version.clone(),
            state: n.state.as_str(),
            state_label: n.state.label(),
            withdrawn: n.state == NoticeState::Withdrawn,
            tabs,
        }
    }
}

/// The address evaluators configure their clients with.
pub fn gateway_url(app: &App) -> String {
    format!("{}/gateway/v1", app.config.public_url.trim_end_matches('/'))
}

/// A message from `app` as a sentence on the page.
fn sentence(message: &str) -> String {
    let text = capitalise(message.trim_end_matches('.'));
    format!("{text}.")
}

fn style_label(style: &str) -> &'static str {
    match style {
        "openai" => "OpenAI chat completions",
        "anthropic" => "Anthropic messages",
        _ => "Unknown",
    }
}

/// The endpoint under the gateway's address that a model of this style is called at.
fn style_endpoint(style: &str) -> &'static str {
    match style {
        "anthropic" => "/messages",
        _ => "/chat/completions",
    }
}

fn retention_text(retention: &str) -> &'static str {
    match retention {
        "none" => "Nothing is kept of prompts and completions: only the usage record of each call.",
        "digest" => {
            "SHA-256 digests of each request and response, to prove later what was exchanged; not the texts."
        }
        "encrypted" => {
            "Digests, and the full texts encrypted under the master key, readable by the evaluating agency."
        }
        _ => "",
    }
}

fn post_launch_text(days: i64) -> String {
    if days == 0 {
        "Ends at launch".to_owned()
    } else {
        format!("{} after launch", plural(days, "day"))
    }
}

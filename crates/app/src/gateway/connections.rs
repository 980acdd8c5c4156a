//! Model connections: the developer's settings for reaching a model (where, as what, with which secrets,
//! within which limits), validated, sealed and audited; and a test call through one.

use crate::policy;
use crate::{App, AppError, AppResult, Caller};
use accounts::Secret;
use chrono::{DateTime, Utc};
use gateway::settings::{self, MAX_POST_LAUNCH_DAYS, MAX_TIMEOUT_SECONDS};
use gateway::{AgencyLimits, ApiStyle, Limits, Probe, ResponseLimits, Retention, SecretBox};
use review::ValidationError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{ModelConnection, Notice};
use uuid::Uuid;

/// The secrets of a connection, sealed together.
#[derive(Serialize, Deserialize)]
pub(super) struct ConnectionSecrets {
    pub(super) credential: String,
    pub(super) headers: Vec<(String, String)>,
}

pub(super) fn seal_context(connection_id: Uuid) -> String {
    format!("connection:{connection_id}")
}

/// Opens a stored connection's secrets.
pub(super) fn open_secrets(secret_box: &SecretBox, c: &ModelConnection) -> AppResult<ConnectionSecrets> {
    secret_box
        .open(&seal_context(c.id), &c.sealed_secrets)
        .ok()
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or_else(|| AppError::Internal("a stored connection's secrets do not open".into()))
}

/// A model connection as entered or changed by the developer. On a change, a missing credential or header list
/// keeps what is stored; every other missing field takes its default.
#[derive(Default)]
pub struct ConnectionInput {
    pub model: Option<String>,
    pub api_style: String,
    pub base_url: String,
    pub upstream_model: String,
    pub credential: Option<Secret>,
    pub headers: Option<Vec<(String, Secret)>>,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub concurrency: Option<i64>,
    /// Caps on each agency as a whole (the sum over its evaluators); absent: no cap.
    pub agency_requests_per_minute: Option<i64>,
    pub agency_tokens_per_minute: Option<i64>,
    pub agency_concurrency: Option<i64>,
    pub post_launch_days: Option<i64>,
    pub retention: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub max_response_bytes: Option<i64>,
    pub max_event_bytes: Option<i64>,
    pub max_stream_bytes: Option<i64>,
}

/// A connection as its developer sees it: everything but the secrets, which are never shown again.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub model: String,
    pub api_style: String,
    pub base_url: String,
    pub upstream_model: String,
    /// Always true: a connection has a credential, which can be replaced but not read.
    pub credential_set: bool,
    pub header_names: Vec<String>,
    pub requests_per_minute: i64,
    pub tokens_per_minute: i64,
    pub concurrency: i64,
    /// Caps on each agency as a whole (the sum over its evaluators); `null`: none.
    pub agency_requests_per_minute: Option<i64>,
    pub agency_tokens_per_minute: Option<i64>,
    pub agency_concurrency: Option<i64>,
    pub post_launch_days: i64,
    pub retention: String,
    pub timeout_seconds: i64,
    /// The most the gateway reads of the upstream's answers: a whole JSON body, one stream event, a stream.
    pub max_response_bytes: i64,
    pub max_event_bytes: i64,
    pub max_stream_bytes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ModelConnection> for ConnectionView {
    fn from(c: ModelConnection) -> Self {
        ConnectionView {
            id: c.id,
            notice_id: c.notice_id,
            model: c.model,
            api_style: c.api_style,
            base_url: c.base_url,
            upstream_model: c.upstream_model,
            credential_set: true,
            header_names: c.header_names.0,
            requests_per_minute: c.requests_per_minute,
            tokens_per_minute: c.tokens_per_minute,
            concurrency: c.concurrency,
            agency_requests_per_minute: c.agency_requests_per_minute,
            agency_tokens_per_minute: c.agency_tokens_per_minute,
            agency_concurrency: c.agency_concurrency,
            post_launch_days: c.post_launch_days,
            retention: c.retention,
            timeout_seconds: c.timeout_seconds,
            max_response_bytes: c.max_response_bytes,
            max_event_bytes: c.max_event_bytes,
            max_stream_bytes: c.max_stream_bytes,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl App {
    async fn connection_notice(&self, caller: &Caller, notice_id: Uuid) -> AppResult<Notice> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_manage_connections(caller, &notice) {
            return Err(AppError::Forbidden(
                "only the developer manages and sees its model connections",
            ));
        }
        Ok(notice)
    }

    /// Validates input into a row; `existing` is the row being changed, whose secrets a change may keep.
    fn connection_row(
        &self,
        caller: &Caller,
        notice: &Notice,
        input: ConnectionInput,
        existing: Option<&ModelConnection>,
    ) -> AppResult<ModelConnection> {
        let secret_box = self.gateway.secret_box()?;
        let now = self.clock.now();
        let id = existing.map_or_else(Uuid::now_v7, |c| c.id);
        let model = match input.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(model) => settings::model_alias("model", model)?,
            None => settings::notice_slug(&notice.model_name, &notice.model_version),
        };
        let api_style = ApiStyle::parse("api_style", input.api_style.trim())?;
        let base_url = settings::base_url("base_url", &input.base_url)?;
        if self.gateway.upstream.egress().check_url(&base_url).is_err() {
            return Err(ValidationError::new(
                "base_url",
                "names a private, local or reserved address, which this server does not call (its operator can \
                 allow private networks)",
            )
            .into());
        }
        let upstream_model = settings::upstream_model("upstream_model", &input.upstream_model)?;
        let defaults = Limits::default();
        let limits = Limits::parse(
            input
                .requests_per_minute
                .unwrap_or(i64::from(defaults.requests_per_minute)),
            input
                .tokens_per_minute
                .unwrap_or(i64::from(defaults.tokens_per_minute)),
            input.concurrency.unwrap_or(i64::from(defaults.concurrency)),
        )?;
        let agency_limits = AgencyLimits::parse(
            input.agency_requests_per_minute,
            input.agency_tokens_per_minute,
            input.agency_concurrency,
        )?;
        let post_launch_days = settings::bounded(
            "post_launch_days",
            input.post_launch_days.unwrap_or(0),
            0,
            MAX_POST_LAUNCH_DAYS,
        )?;
        let retention = Retention::parse("retention", input.retention.as_deref().unwrap_or("digest"))?;
        let timeout_seconds = settings::bounded(
            "timeout_seconds",
            input
                .timeout_seconds
                .unwrap_or(i64::from(settings::DEFAULT_TIMEOUT_SECONDS)),
            1,
            MAX_TIMEOUT_SECONDS,
        )?;
        let response_defaults = ResponseLimits::default();
        let response_limit = |value: Option<i64>, default: u64| {
            value.unwrap_or_else(|| i64::try_from(default).unwrap_or(i64::MAX))
        };
        let response_limits = ResponseLimits::parse(
            response_limit(input.max_response_bytes, response_defaults.max_response_bytes),
            response_limit(input.max_event_bytes, response_defaults.max_event_bytes),
            response_limit(input.max_stream_bytes, response_defaults.max_stream_bytes),
        )?;
        let stored = existing.map(|c| open_secrets(secret_box, c)).transpose()?;
        let credential = match (input.credential, &stored) {
            (Some(credential), _) => {
                settings::credential("credential", credential.expose())?;
                credential.expose().trim().to_owned()
            }
            (None, Some(stored)) => stored.credential.clone(),
            (None, None) => return Err(ValidationError::new("credential", "is required").into()),
        };
        let headers = match (input.headers, stored) {
            (Some(headers), _) => {
                if headers.len() > 20 {
                    return Err(ValidationError::new("headers", "at most 20 extra headers").into());
                }
                let mut checked = Vec::with_capacity(headers.len());
                for (name, value) in headers {
                    let name = settings::extra_header(&format!("headers.{name}"), &name, value.expose())?;
                    checked.push((name, value.expose().to_owned()));
                }
                checked
            }
            (None, Some(stored)) => stored.headers,
            (None, None) => Vec::new(),
        };
        let header_names = headers.iter().map(|(name, _)| name.clone()).collect();
        let secrets = ConnectionSecrets { credential, headers };
        let sealed_secrets = secret_box.seal(
            &seal_context(id),
            &serde_json::to_vec(&secrets).unwrap_or_default(),
        );
        Ok(ModelConnection {
            id,
            notice_id: notice.id,
            model,
            api_style: api_style.as_str().into(),
            base_url,
            upstream_model,
            sealed_secrets,
            header_names: store::Json(header_names),
            requests_per_minute: i64::from(limits.requests_per_minute),
            tokens_per_minute: i64::from(limits.tokens_per_minute),
            concurrency: i64::from(limits.concurrency),
            agency_requests_per_minute: agency_limits.requests_per_minute.map(i64::from),
            agency_tokens_per_minute: agency_limits.tokens_per_minute.map(i64::from),
            agency_concurrency: agency_limits.concurrency.map(i64::from),
            post_launch_days: i64::from(post_launch_days),
            retention: retention.as_str().into(),
            timeout_seconds: i64::from(timeout_seconds),
            max_response_bytes: i64::try_from(response_limits.max_response_bytes).unwrap_or(i64::MAX),
            max_event_bytes: i64::try_from(response_limits.max_event_bytes).unwrap_or(i64::MAX),
            max_stream_bytes: i64::try_from(response_limits.max_stream_bytes).unwrap_or(i64::MAX),
            created_by: existing.map_or(Some(caller.user_id()), |c| c.created_by),
            created_at: existing.map_or(now, |c| c.created_at),
            updated_at: now,
            deleted_at: None,
        })
    }

    /// What the audit trail says about a connection: what every reader of its events may know (program
    /// administrators read them too), never its secrets nor the upstream's identity (base URL, upstream model
    /// id, extra header names), which only the developer sees. A receipt commits to these exact bytes, so
    /// they cannot be cut per reader afterwards.
    fn connection_details(c: &ModelConnection) -> Value {
        json!({
            "notice": c.notice_id, "model": c.model, "api_style": c.api_style,
            "requests_per_minute": c.requests_per_minute, "tokens_per_minute": c.tokens_per_minute,
            "concurrency": c.concurrency, "agency_requests_per_minute": c.agency_requests_per_minute,
            "agency_tokens_per_minute": c.agency_tokens_per_minute, "agency_concurrency": c.agency_concurrency,
            "post_launch_days": c.post_launch_days, "retention": c.retention,
            "timeout_seconds": c.timeout_seconds, "max_response_bytes": c.max_response_bytes,
            "max_event_bytes": c.max_event_bytes, "max_stream_bytes": c.max_stream_bytes,
        })
    }

    pub async fn create_connection(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        input: ConnectionInput,
    ) -> AppResult<ConnectionView> {
        let notice = self.connection_notice(caller, notice_id).await?;
        Self::check_not_withdrawn(&notice)?;
        let row = self.connection_row(caller, &notice, input, None)?;
        let event = self.event(
            caller.into(),
            "connection.create",
            "connection",
            Some(row.id),
            Self::connection_details(&row),
        );
        self.store.create_connection(&row, &event).await?;
        self.gateway_changed();
        Ok(row.into())
    }

    async fn notice_connection(&self, notice_id: Uuid, id: Uuid) -> AppResult<ModelConnection> {
        self.store
            .get_connection(id)
            .await?
            .filter(|c| c.notice_id == notice_id && c.deleted_at.is_none())
            .ok_or(AppError::NotFound("connection"))
    }

    pub async fn update_connection(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        id: Uuid,
        input: ConnectionInput,
    ) -> AppResult<ConnectionView> {
        let notice = self.connection_notice(caller, notice_id).await?;
        let existing = self.notice_connection(notice_id, id).await?;
        let credential_replaced = input.credential.is_some();
        let row = self.connection_row(caller, &notice, input, Some(&existing))?;
        let upstream_changed = row.base_url != existing.base_url
            || row.upstream_model != existing.upstream_model
            || row.header_names.0 != existing.header_names.0;
        let mut details = Self::connection_details(&row);
        if let Some(object) = details.as_object_mut() {
            object.insert("credential_replaced".into(), Value::Bool(credential_replaced));
            object.insert("upstream_changed".into(), Value::Bool(upstream_changed));
        }
        let event = self.event(
            caller.into(),
            "connection.update",
            "connection",
            Some(id),
            details,
        );
        self.store.update_connection(&row, &event).await?;
        self.gateway_changed();
        Ok(row.into())
    }

    pub async fn delete_connection(&self, caller: &Caller, notice_id: Uuid, id: Uuid) -> AppResult<()> {
        self.connection_notice(caller, notice_id).await?;
        let existing = self.notice_connection(notice_id, id).await?;
        let event = self.event(
            caller.into(),
            "connection.delete",
            "connection",
            Some(id),
            json!({"notice": notice_id, "model": existing.model}),
        );
        self.store.delete_connection(id, self.clock.now(), &event).await?;
        self.gateway_changed();
        Ok(())
    }

    pub async fn list_connections(&self, caller: &Caller, notice_id: Uuid) -> AppResult<Vec<ConnectionView>> {
        self.connection_notice(caller, notice_id).await?;
        let rows = self.store.list_connections(notice_id).await?;
        Ok(rows.into_iter().map(ConnectionView::from).collect())
    }

    pub async fn get_connection(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        id: Uuid,
    ) -> AppResult<ConnectionView> {
        self.connection_notice(caller, notice_id).await?;
        Ok(self.notice_connection(notice_id, id).await?.into())
    }

    /// Makes one small real call through a connection and reports how it went.
    pub async fn test_connection(&self, caller: &Caller, notice_id: Uuid, id: Uuid) -> AppResult<Probe> {
        self.connection_notice(caller, notice_id).await?;
        let connection = self.notice_connection(notice_id, id).await?;
        let route = self.route_of(&connection)?;
        Ok(self.gateway.upstream.probe(&route.target).await)
    }
}

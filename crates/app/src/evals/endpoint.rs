//! An OpenAI-compatible chat-completions endpoint as an [`evals::model::Model`]: for reference models and for a
//! terminal run against any such API. The key is kept out of `Debug` and of every error.

use async_trait::async_trait;
use evals::model::{GenerateRequest, Model, ModelError, ModelOutput};
use evals::openai;
use std::fmt;
use std::time::Duration;

/// The most of an answer that is read; a larger one is an error, never held in memory.
pub const ANSWER_LIMIT: usize = 32 * 1024 * 1024;

/// A model behind `{base_url}/chat/completions`.
pub struct Endpoint {
    client: reqwest::Client,
    url: String,
    key: Option<String>,
    model: String,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("key", &self.key.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Endpoint {
    /// `base_url` such as `https://api.example/v1`; `timeout` bounds each call.
    pub fn new(base_url: &str, key: Option<String>, model: &str, timeout: Duration) -> Result<Self, String> {
        let parsed =
            url::Url::parse(base_url).map_err(|e| format!("the base URL {base_url:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "the base URL must be http or https, not {}",
                parsed.scheme()
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Endpoint {
            client,
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            key,
            model: model.to_string(),
        })
    }
}

#[async_trait]
impl Model for Endpoint {
    fn name(&self) -> &str {
        &self.model
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<ModelOutput, ModelError> {
        let mut call = self
            .client
            .post(&self.url)
            .json(&openai::request_body(&self.model, request));
        if let Some(key) = &self.key {
            call = call.bearer_auth(key);
        }
        let mut response = call
            .send()
            .await
            .map_err(|e| ModelError::Transient(describe(&e)))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = openai::parse_retry_after(
            header("retry-after").as_deref(),
            header("retry-after-ms").as_deref(),
        );
        if response.content_length().is_some_and(|n| n > ANSWER_LIMIT as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ModelError::Transient(describe(&e)))?
        {
            if body.len() + chunk.len() > ANSWER_LIMIT {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if !(200..300).contains(&status) {
            return Err(openai::status_error(status, retry_after, &body));
        }
        openai::parse_response(&body)
    }
}

fn too_large() -> ModelError {
    ModelError::Refused(format!(
        "the model's answer is larger than {} MiB",
        ANSWER_LIMIT / (1024 * 1024)
    ))
}

/// What failed, without the URL's query or any header.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the call timed out".into()
    } else if error.is_connect() {
        "cannot connect to the model's endpoint".into()
    } else {
        "the connection to the model's endpoint failed".into()
    }
}

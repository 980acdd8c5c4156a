//! `prelaunch gateway check`: an evaluator's check of their gateway token.

use super::*;

/// `prelaunch gateway check`: what an evaluator runs to see that their token works.
pub(super) async fn gateway_check(url: &str, token: &str, model: Option<String>) -> Result<()> {
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()?;
    let response = client
        .get(format!("{base}/models"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = |body: &serde_json::Value| {
        body.pointer("/error/message")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_owned()
    };
    anyhow::ensure!(
        status.is_success(),
        "listing models failed ({status}): {}",
        message(&body)
    );
    let models: Vec<String> = body
        .get("data")
        .and_then(|d| d.as_array())
        .map(|data| {
            data.iter()
                .filter_map(|m| m.get("id")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    println!("Models this token reaches: {}", models.join(", "));
    let model = model
        .or_else(|| models.first().cloned())
        .context("the token reaches no model")?;
    let started = std::time::Instant::now();
    let response = client
        .post(format!("{base}/chat/completions"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "Reply with OK."}],
            "max_tokens": 16,
        }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let ms = started.elapsed().as_millis();
    anyhow::ensure!(
        status.is_success(),
        "the test call failed ({status}): {}",
        message(&body)
    );
    let reply = body
        .pointer("/choices/0/message/content")
        .and_then(|c| c.as_str())
        .unwrap_or("");
    println!("Test call to {model}: {status} in {ms} ms: {reply:?}");
    Ok(())
}

//! E-mail over SMTP: the operator's settings (`--smtp-url`, `--mail-from`), the `email.send` job that sends one
//! message with retries, and the `email.digest` job that gathers each person's waiting notifications into one
//! daily mail.
//!
//! A mail carries a notification's title and a link into the web UI, nothing else: the title says only what
//! its recipient may read (see `recipients`), and anything more is behind the link and its sign-in.
//!
//! `--smtp-url` forms: `smtp://user:pass@host:587` (STARTTLS when the server offers it), `?tls=required`
//! (STARTTLS or fail), `?tls=none` (plain, for a local relay or a test server), `smtps://…:465` (TLS from the
//! first byte). TLS is rustls with the web PKI roots. The password is a secret: the settings' `Debug` and every
//! message leave it out.

use crate::jobs::{Completion, JobError, JobHandler, JobRequest, RetryPolicy};
use crate::{App, AppResult};
use accounts::Secret;
use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use review::ValidationError;
use serde_json::{Value, json};
use store::{Job, JobOutcome, JobResult};

/// The job kind that sends one mail.
pub const SEND: &str = "email.send";
/// The job kind that sends the daily digests.
pub const DIGEST: &str = "email.digest";

/// The longest subject and body a mail job carries.
const MAX_SUBJECT: usize = 300;
const MAX_BODY: usize = 20_000;
/// Notifications gathered per digest run.
const DIGEST_BATCH: i64 = 5_000;

/// How to send mail. `Debug` shows the server without its password.
#[derive(Clone)]
pub struct MailSettings {
    /// The URL in the form the SMTP client reads (`?tls=…` made explicit), with the credentials.
    url: Secret,
    /// The URL without its password, for logs and the administrator's page.
    pub server: String,
    pub from: Mailbox,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl MailSettings {
    /// Reads `--smtp-url` and `--mail-from`, naming the one at fault.
    pub fn parse(smtp_url: &str, mail_from: &str) -> Result<MailSettings, ValidationError> {
        let bad = |why: &str| ValidationError::new("smtp_url", why.to_owned());
        let mut url = url::Url::parse(smtp_url).map_err(|_| bad("must be smtp://… or smtps://…"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("names no host"));
        }
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let others: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "tls")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((name, _)) = others.first() {
            return Err(bad(&format!("unknown parameter {name:?} (only tls=)")));
        }
        match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => {
                url.set_query(Some("tls=opportunistic"));
            }
            ("smtp", Some("none")) => url.set_query(None),
            ("smtp", Some("required" | "opportunistic")) | ("smtps", None) => {}
            ("smtp" | "smtps", Some(_)) => {
                return Err(bad(
                    "tls= must be required, opportunistic or none (smtp://), or absent (smtps://)",
                ));
            }
            _ => return Err(bad("must be smtp://… or smtps://…")),
        }
        let mut shown = url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        let from: Mailbox = mail_from
            .parse()
            .map_err(|_| ValidationError::new("mail_from", "must be an e-mail address"))?;
        // Checked now, so that a mistake is found at start and not at the first mail.
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .map_err(|_| bad("is not a usable SMTP URL"))?;
        Ok(MailSettings {
            url: Secret::new(url.into()),
            server: shown.into(),
            from,
        })
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(self.url.expose())
            .map_err(|_| "the SMTP URL is not usable".to_owned())?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build())
    }

    /// Sends one plain-text mail.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::Permanent(format!("not an e-mail address: {to:?}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| SendError::Permanent(format!("could not build the mail: {e}")))?;
        let transport = self.transport().map_err(SendError::Permanent)?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!(
                "the SMTP server refused the mail: {e}"
            ))),
            Err(e) => Err(SendError::Retry(format!("sending the mail failed: {e}"))),
        }
    }
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Trying again may work (the server is down, a temporary refusal).
    Retry(String),
    /// It never will (a malformed address, a permanent refusal, e-mail off).
    Permanent(String),
}

/// A mail to send, as the `email.send` job carries it.
pub fn send_job(to: &str, subject: &str, body: &str, key: String) -> JobRequest {
    JobRequest::new(
        SEND,
        json!({
            "to": to,
            "subject": subject.chars().take(MAX_SUBJECT).collect::<String>(),
            "body": body.chars().take(MAX_BODY).collect::<String>(),
        }),
    )
    .attempts(SEND_RETRIES.max_attempts)
    .key(key)
}

/// A notification's mail: its title and the link.
pub fn notification_mail(app: &App, title: &str, link: &str) -> (String, String) {
    let subject = format!("[Prelaunch] {title}");
    let body = format!(
        "{title}\n\n{}{link}\n\nSign in to read more. You can choose which notifications come by e-mail, and \
         whether immediately or in a daily digest, at {}/notifications/preferences.\n",
        app.config.public_url, app.config.public_url
    );
    (subject, body)
}

/// Retries of a mail: over about a day (base 30 s, doubling, at most an hour between tries).
const SEND_RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 30,
    base: chrono::Duration::seconds(30),
    cap: chrono::Duration::hours(1),
};

/// Sends the mail of an `email.send` job.
pub struct SendHandler;

#[async_trait]
impl JobHandler for SendHandler {
    fn retry_policy(&self) -> RetryPolicy {
        SEND_RETRIES
    }

    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let Some(mail) = app.config.mail.as_ref() else {
            return Err(JobError::permanent("e-mail is off (no --smtp-url)"));
        };
        let text = |field: &str| -> Result<&str, JobError> {
            job.payload
                .get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| JobError::permanent(format!("the job has no {field}")))
        };
        match mail.send(text("to")?, text("subject")?, text("body")?).await {
            Ok(()) => Ok(Completion::done()),
            Err(SendError::Retry(why)) => Err(JobError::retry(why)),
            Err(SendError::Permanent(why)) => Err(JobError::permanent(why)),
        }
    }
}

/// Gathers the notifications waiting for a digest into one mail per person, takes them out of the digest and
/// completes the job, in one transaction.
pub struct DigestHandler;

#[async_trait]
impl JobHandler for DigestHandler {
    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let owner = job
            .lease_owner
            .as_deref()
            .ok_or_else(|| JobError::retry("the job is not leased"))?;
        let pending = app.store.pending_digests(DIGEST_BATCH).await?;
        let now = app.clock.now();
        let mut jobs = Vec::new();
        let mut ids = Vec::new();
        if app.config.mail.is_some() {
            let mut by_person: std::collections::BTreeMap<(uuid::Uuid, String), Vec<&store::PendingDigest>> =
                Default::default();
            for p in &pending {
                by_person.entry((p.user_id, p.email.clone())).or_default().push(p);
            }
            for ((user_id, email), items) in by_person {
                let mut body = format!(
                    "Your notifications from Prelaunch since the last digest ({}):\n\n",
                    items.len()
                );
                for item in &items {
                    body.push_str(&format!(
                        "- {} ({})\n  {}{}\n",
                        item.title,
                        item.created_at.format("%Y-%m-%d %H:%M UTC"),
                        app.config.public_url,
                        item.link
                    ));
                }
                body.push_str(&format!(
                    "\nChoose what comes by e-mail at {}/notifications/preferences.\n",
                    app.config.public_url
                ));
                let subject = format!("[Prelaunch] Daily digest: {} notifications", items.len());
                let key = format!("digest:{user_id}:{}", job.id);
                jobs.push(send_job(&email, &subject, &body, key).into_new_job(now));
            }
        }
        // Without e-mail the waiting ones are let go: the inbox still holds them.
        ids.extend(pending.iter().map(|p| p.id));
        let outcome = JobOutcome {
            id: job.id,
            owner,
            now,
            result: JobResult::Done { then: &[] },
        };
        match app.store.send_digests(&ids, &jobs, &outcome).await {
            Ok(()) => Ok(Completion::Finished),
            // Another run sent some of these meanwhile; what it left waits for the next digest.
            Err(store::StoreError::Stale(_)) => Ok(Completion::done()),
            Err(error) => Err(error.into()),
        }
    }
}

impl App {
    /// Whether e-mail is on, and through which server (without its password), for the administrator's page.
    pub fn mail_server(&self) -> Option<&str> {
        self.config.mail.as_ref().map(|m| m.server.as_str())
    }

    /// Sends a mail now, once, for messages that carry a one-time secret (invitation and set-up links), which
    /// must not wait in the job table in clear. `Ok(false)` when e-mail is off.
    pub(crate) async fn send_secret_mail(&self, to: &str, subject: &str, body: &Secret) -> AppResult<bool> {
        let Some(mail) = self.config.mail.as_ref() else {
            return Ok(false);
        };
        match mail.send(to, subject, body.expose()).await {
            Ok(()) => Ok(true),
            Err(SendError::Retry(why) | SendError::Permanent(why)) => {
                tracing::warn!(error = %why, "could not send a mail with a one-time link; it is shown instead");
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_read_as_documented_and_never_show_the_password() {
        let cases = [
            (
                "smtp://u:s3cr3t@mail.example:587",
                Some("smtp://u:s3cr3t@mail.example:587?tls=opportunistic"),
            ),
            (
                "smtp://mail.example",
                Some("smtp://mail.example?tls=opportunistic"),
            ),
            (
                "smtp://u:s3cr3t@mail.example:587?tls=required",
                Some("smtp://u:s3cr3t@mail.example:587?tls=required"),
            ),
            ("smtp://127.0.0.1:2525?tls=none", Some("smtp://127.0.0.1:2525")),
            (
                "smtps://u:s3cr3t@mail.example:465",
                Some("smtps://u:s3cr3t@mail.example:465"),
            ),
            ("smtps://mail.example?tls=none", None),
            ("smtp://mail.example?tls=maybe", None),
            ("smtp://mail.example?relay=1", None),
            ("http://mail.example", None),
            ("mail.example:25", None),
            ("", None),
        ];
        for (given, expected) in cases {
            let parsed = MailSettings::parse(given, "Prelaunch <noreply@prelaunch.example>");
            assert_eq!(parsed.as_ref().ok().map(|m| m.url.expose()), expected, "{given}");
            if let Ok(m) = parsed {
                let shown = format!("{m:?} {}", m.server);
                assert!(!shown.contains("s3cr3t"), "{shown}");
            }
        }
        assert!(MailSettings::parse("smtp://mail.example", "not an address").is_err());
    }
}

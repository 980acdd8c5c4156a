//! The outbox: the `notify` job turns the audit trail into notifications, and the `reminders` job adds the
//! time-based ones.
//!
//! Every change already writes its audit event (and ledger entry) in its own transaction, so the trail is the
//! outbox. `notify` reads the ledger entries after its cursor — ledger indexes have no gaps and are handed out
//! in commit order under one row lock, so an entry committed late is never passed over — makes the
//! notifications each event calls for (`recipients`), queues the immediate mails, moves the cursor and
//! completes its job, all in one transaction (`NotificationStore::deliver_notifications`). A run that fails
//! leaves everything as it was; a run repeated finds the cursor moved, and a notification made twice is one
//! row (unique per person, event and kind).

use super::NotificationKind;
use super::email::{notification_mail, send_job};
use super::recipients::{self, About, Addressed, days_text, reminder_due, reminder_id};
use crate::jobs::{Completion, JobError, JobHandler, JobRequest};
use crate::{App, AppError, AppResult};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use store::{Delivery, EmailDelivery, Job, JobOutcome, JobResult, NewJob, NewNotification, StoreError};
use uuid::Uuid;

/// The job kind that reads the trail.
pub const NOTIFY: &str = "notify";
/// The job kind that makes reminders.
pub const REMINDERS: &str = "reminders";
/// The idempotency key of the `notify` run queued right after a change (`App::notify_soon`): at most one
/// waits at a time. A run frees the key as it starts, before it reads the trail, so that a change committed
/// after that queues the next run rather than being left for the schedule.
pub const SOON_KEY: &str = "notify:soon";
/// How often a run that lost the cursor to another run reads the trail again at once.
const RACES: usize = 5;
/// What `deliver_notifications` names when another run moved the cursor first.
const CURSOR: &str = "notification cursor";
/// Ledger entries read per run; a full batch queues the next run at once.
const BATCH: u64 = 200;
/// The program setting holding the reminder days, e.g. "7,1".
pub const REMINDER_DAYS_SETTING: &str = "notification_reminder_days";
pub const DEFAULT_REMINDER_DAYS: [u32; 2] = [7, 1];

/// What one event (or reminder) is for a webhook: the organisations whose admins may see it, and what to tell
/// them. This is where `webhooks::fan_out(app, &orgs, kind, event_id, &data)` connects: each `Planned` of a
/// run carries the call's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookFanOut {
    pub org_ids: Vec<Uuid>,
    pub kind: NotificationKind,
    pub event_id: Uuid,
    pub data: Value,
}

/// What a run will write: notifications, their immediate mails, and the webhook fan-outs.
#[derive(Debug, Default)]
pub struct Planned {
    pub notifications: Vec<NewNotification>,
    pub mails: Vec<NewJob>,
    pub webhooks: Vec<WebhookFanOut>,
}

impl Planned {
    /// Adds one notification for everyone it reaches, with mails per their preferences.
    async fn add(
        &mut self,
        app: &App,
        addressed: &Addressed,
        event_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let to = recipients::recipients(app, addressed).await?;
        let ids: Vec<Uuid> = to.people.iter().map(|u| u.id).collect();
        let preferences: HashMap<Uuid, store::EmailPreferences> =
            app.store.email_preferences(&ids).await?.into_iter().collect();
        let mail_on = app.config.mail.is_some();
        for person in &to.people {
            let (wants, delivery) = match preferences.get(&person.id) {
                Some(p) => (p.kinds.iter().any(|k| k == addressed.kind.as_str()), p.delivery),
                None => (true, EmailDelivery::Immediate),
            };
            let mail = mail_on && wants;
            let id = Uuid::now_v7();
            self.notifications.push(NewNotification {
                id,
                user_id: person.id,
                kind: addressed.kind.as_str().to_owned(),
                title: addressed.title.clone(),
                link: addressed.link.clone(),
                event_id,
                created_at: now,
                digest_pending: mail && delivery == EmailDelivery::Digest,
            });
            if mail && delivery == EmailDelivery::Immediate {
                let (subject, body) = notification_mail(app, &addressed.title, &addressed.link);
                let key = format!(
                    "notification:{}:{event_id}:{}",
                    person.id,
                    addressed.kind.as_str()
                );
                self.mails
                    .push(send_job(&person.email, &subject, &body, key).into_new_job(now));
            }
        }
        if !to.orgs.is_empty() {
            self.webhooks.push(WebhookFanOut {
                org_ids: to.orgs,
                kind: addressed.kind,
                event_id,
                data: json!({"title": addressed.title, "link": addressed.link}),
            });
        }
        Ok(())
    }
}

/// The notifications, mails and webhook fan-outs that these audit events call for.
pub async fn plan_events(app: &App, events: &[store::AuditEvent]) -> AppResult<Planned> {
    let mut planned = Planned::default();
    let now = app.clock.now();
    for event in events {
        if let Some(addressed) = recipients::of_event(app, event).await? {
            planned.add(app, &addressed, event.id, now).await?;
        }
    }
    Ok(planned)
}

fn owner_of(job: &Job) -> Result<&str, JobError> {
    job.lease_owner
        .as_deref()
        .ok_or_else(|| JobError::retry("the job is not leased"))
}

/// Reads the trail after the cursor and delivers what it calls for.
#[derive(Default)]
pub struct NotifyHandler {
    /// A worker's runs take turns: concurrent runs would only race for the cursor. While one runs, the next
    /// waits here with its key still set, so that changes meanwhile add no third.
    turn: tokio::sync::Mutex<()>,
}

#[async_trait]
impl JobHandler for NotifyHandler {
    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let owner = owner_of(job)?;
        let _turn = self.turn.lock().await;
        if job.idempotency_key.as_deref() == Some(SOON_KEY) {
            app.store.free_job_key(job.id).await?;
        }
        // Another run that moved the cursor first has committed: this one wrote nothing, and reads again from
        // the moved cursor, so that the change that queued it is told now rather than after a backoff.
        for _ in 0..RACES {
            if notify_once(app, job, owner).await? {
                return Ok(Completion::Finished);
            }
        }
        Err(JobError::retry("the notification cursor kept moving"))
    }
}

/// One run: the entries after the cursor, their notifications, mails and webhook deliveries, the cursor's
/// move and the job's end, in one transaction. `false` when another run moved the cursor first.
async fn notify_once(app: &App, job: &Job, owner: &str) -> Result<bool, JobError> {
    let from = app.store.notify_cursor().await?;
    let entries = app
        .store
        .ledger_entries(u64::try_from(from).unwrap_or(0), BATCH)
        .await?;
    let events: Vec<store::AuditEvent> = entries.into_iter().map(|e| e.event).collect();
    let mut planned = plan_events(app, &events).await?;
    // Webhook deliveries are queued with the inbox rows and the cursor's move, so each is queued once.
    for hook in std::mem::take(&mut planned.webhooks) {
        let jobs =
            crate::webhooks::fan_out_jobs(app, &hook.org_ids, hook.kind, hook.event_id, hook.data).await?;
        planned.mails.extend(jobs);
    }
    let now = app.clock.now();
    let read = i64::try_from(events.len()).unwrap_or(0);
    let then: Vec<NewJob> = if u64::try_from(events.len()).unwrap_or(0) >= BATCH {
        vec![JobRequest::new(NOTIFY, Value::Null).attempts(3).into_new_job(now)]
    } else {
        Vec::new()
    };
    let delivery = Delivery {
        notifications: planned.notifications,
        jobs: planned.mails,
        cursor: Some((from, from + read)),
    };
    let outcome = JobOutcome {
        id: job.id,
        owner,
        now,
        result: JobResult::Done { then: &then },
    };
    match app.store.deliver_notifications(&delivery, &outcome).await {
        Ok(_) => Ok(true),
        Err(StoreError::Stale(CURSOR)) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Makes the reminders due now: review windows opening or closing in the reminder days, gateway tokens
/// expiring in them, case embargoes ending in them.
pub struct RemindersHandler;

#[async_trait]
impl JobHandler for RemindersHandler {
    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let owner = owner_of(job)?;
        let planned = plan_reminders(app).await?;
        let now = app.clock.now();
        let delivery = Delivery {
            notifications: planned.notifications,
            jobs: planned.mails,
            cursor: None,
        };
        let outcome = JobOutcome {
            id: job.id,
            owner,
            now,
            result: JobResult::Done { then: &[] },
        };
        app.store.deliver_notifications(&delivery, &outcome).await?;
        Ok(Completion::Finished)
    }
}

/// The reminders due at the clock's now.
pub async fn plan_reminders(app: &App) -> AppResult<Planned> {
    let days = app.reminder_days().await?;
    let now = app.clock.now();
    let mut planned = Planned::default();
    let Some(longest) = days.iter().copied().max() else {
        return Ok(planned);
    };
    let until = now + Duration::days(i64::from(longest));
    for notice in app.store.notices_with_window_edges(now, until).await? {
        let model = format!("{} {}", notice.model_name, notice.model_version);
        let dates = crate::program::dates_of(&notice);
        let window = dates.window();
        let edges = [
            (NotificationKind::WindowOpening, window.opens_at, "opens"),
            (NotificationKind::WindowClosing, window.closes_at, "closes"),
        ];
        for (kind, at, verb) in edges {
            let Some(bucket) = reminder_due(at, now, &days) else {
                continue;
            };
            let left = (at - now).num_hours().div_euclid(24).max(0);
            let text = if left == 0 {
                "in less than a day".to_owned()
            } else {
                format!("in {}", days_text(left))
            };
            let addressed = Addressed {
                kind,
                title: format!("The review window of {model} {verb} {text}"),
                link: format!("/notices/{}", notice.id),
                about: About::Notice(notice.id),
                subject: None,
                actor: None,
            };
            planned
                .add(app, &addressed, reminder_id(notice.id, kind, bucket), now)
                .await?;
        }
    }
    for token in app.store.gateway_tokens_expiring(now, until).await? {
        let Some(at) = token.expires_at else { continue };
        let Some(bucket) = reminder_due(at, now, &days) else {
            continue;
        };
        let Some(notice) = app.store.get_notice(token.notice_id).await? else {
            continue;
        };
        let left = (at - now).num_hours().div_euclid(24).max(0);
        let addressed = Addressed {
            kind: NotificationKind::TokenExpiring,
            title: format!(
                "Your gateway token {} for {} {} expires in {}",
                token.name,
                notice.model_name,
                notice.model_version,
                days_text(left)
            ),
            link: format!("/notices/{}/gateway-tokens", notice.id),
            about: About::Notice(notice.id),
            subject: Some(token.user_id),
            actor: None,
        };
        planned
            .add(
                app,
                &addressed,
                reminder_id(token.id, NotificationKind::TokenExpiring, bucket),
                now,
            )
            .await?;
    }
    for case in app.store.cases_embargo_ending(now, until).await? {
        let Some(at) = case.embargo_ends_at else { continue };
        let Some(bucket) = reminder_due(at, now, &days) else {
            continue;
        };
        let kind = NotificationKind::CaseEmbargoEnding;
        let left = (at - now).num_hours().div_euclid(24).max(0);
        let addressed = Addressed {
            kind,
            title: format!(
                "The embargo of case {} ends in {}, on {}",
                case.reference,
                days_text(left),
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            link: format!("/cases/{}", case.id),
            about: About::Case(case.id),
            subject: None,
            actor: None,
        };
        // A moved embargo is a new date to be reminded of: the reminder's id names the date as well.
        let date = u32::try_from(at.timestamp().rem_euclid(i64::from(u32::MAX))).unwrap_or(0);
        let about = reminder_id(case.id, kind, date);
        planned
            .add(app, &addressed, reminder_id(about, kind, bucket), now)
            .await?;
    }
    Ok(planned)
}

impl App {
    /// After a change has committed its event: when the event tells anyone, queues a `notify` run due now,
    /// so that the inbox, mails and webhooks follow within a worker's poll rather than the schedule's period.
    /// One run waits at a time (`SOON_KEY`), however many changes come at once. Failing to queue is logged
    /// only: the change stands, and the scheduled run tells of it.
    pub(crate) async fn notify_soon(&self, event: &store::AuditEvent) {
        if recipients::kind_of_event(&event.action).is_none() {
            return;
        }
        let run = JobRequest::new(NOTIFY, Value::Null)
            .priority(1)
            .attempts(3)
            .key(SOON_KEY);
        if let Err(error) = self.enqueue(vec![run]).await {
            tracing::warn!(error = %error, event = %event.id, "could not queue the notification run");
        }
    }

    /// How many days ahead reminders go out (program setting; by default a week and a day).
    pub async fn reminder_days(&self) -> AppResult<Vec<u32>> {
        match self.store.get_setting(REMINDER_DAYS_SETTING).await? {
            Some(value) => parse_reminder_days(&value)
                .ok_or_else(|| AppError::corrupt(format!("the stored {REMINDER_DAYS_SETTING}={value:?}"))),
            None => Ok(DEFAULT_REMINDER_DAYS.to_vec()),
        }
    }

    /// Sets the reminder days (program administrators): up to 5 distinct days between 1 and 90.
    pub async fn set_reminder_days(&self, caller: &crate::Caller, days: &[i64]) -> AppResult<Vec<u32>> {
        if !crate::policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators set program policy",
            ));
        }
        let checked = check_reminder_days(days)?;
        let text = checked.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let previous = self.reminder_days().await?;
        let event = self.event(
            caller.into(),
            "policy.reminder_days",
            "policy",
            None,
            json!({"previous": previous, "reminder_days": checked}),
        );
        self.store
            .put_setting(REMINDER_DAYS_SETTING, &text, &event)
            .await?;
        Ok(checked)
    }
}

/// Reminder days as given: up to 5 distinct days between 1 and 90 (repeats count once), latest first.
pub(crate) fn check_reminder_days(days: &[i64]) -> AppResult<Vec<u32>> {
    let too_many = || review::ValidationError::new("reminder_days", "at most 5 days");
    if days.len() > 90 {
        return Err(too_many().into());
    }
    let mut checked: Vec<u32> = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let day = u32::try_from(*d)
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or_else(|| {
                review::ValidationError::new(format!("reminder_days[{i}]"), "must be between 1 and 90")
            })?;
        if !checked.contains(&day) {
            checked.push(day);
        }
    }
    if checked.len() > 5 {
        return Err(too_many().into());
    }
    checked.sort_unstable_by(|a, b| b.cmp(a));
    Ok(checked)
}

/// "7,1" → [7, 1]; an empty text is no reminders.
fn parse_reminder_days(text: &str) -> Option<Vec<u32>> {
    if text.trim().is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|d| d.trim().parse().ok()).collect()
}

//! A person's inbox and e-mail preferences. Everyone reads and changes only their own: another person's
//! notification reads as one that does not exist.

use super::NotificationKind;
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller};
use chrono::{DateTime, Utc};
use review::ValidationError;
use serde::Serialize;
use store::{EmailDelivery, EmailPreferences, Notification, NotificationQuery};
use uuid::Uuid;

/// A notification as its person reads it.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: &'static str,
    pub title: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl TryFrom<Notification> for NotificationView {
    type Error = AppError;

    fn try_from(n: Notification) -> AppResult<Self> {
        let kind = NotificationKind::parse(&n.kind).ok_or_else(|| {
            AppError::corrupt(format!("notification {} has the unknown kind {:?}", n.id, n.kind))
        })?;
        Ok(NotificationView {
            id: n.id,
            kind: kind.as_str(),
            title: n.title,
            link: n.link,
            created_at: n.created_at,
            read_at: n.read_at,
        })
    }
}

/// A person's e-mail preferences as shown and set.
#[derive(Debug, Clone, Serialize)]
pub struct PreferencesView {
    /// The kinds that come by e-mail.
    pub email_kinds: Vec<&'static str>,
    /// `immediate` or `digest` (once a day).
    pub email_delivery: &'static str,
    /// Whether the service sends e-mail at all (the operator's `--smtp-url`).
    pub email_enabled: bool,
}

impl App {
    /// The caller's notifications, newest first; only unread ones when asked.
    pub async fn list_notifications(
        &self,
        caller: &Caller,
        unread_only: bool,
        page: &PageRequest,
    ) -> AppResult<Paged<NotificationView>> {
        let (limit, fetch) = page.by_id()?;
        let rows = self
            .store
            .list_notifications(&NotificationQuery {
                user_id: caller.user_id(),
                unread_only,
                page: fetch,
            })
            .await?;
        let page = paginate(rows, limit, |n| n.id.to_string(), |n| n);
        Ok(Paged {
            items: page
                .items
                .into_iter()
                .map(NotificationView::try_from)
                .collect::<AppResult<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    pub async fn unread_notifications(&self, caller: &Caller) -> AppResult<i64> {
        Ok(self.store.count_unread_notifications(caller.user_id()).await?)
    }

    /// Marks one of the caller's notifications read.
    pub async fn mark_notification_read(&self, caller: &Caller, id: Uuid) -> AppResult<NotificationView> {
        self.store
            .mark_notification_read(caller.user_id(), id, self.clock.now())
            .await?
            .ok_or(AppError::NotFound("notification"))?
            .try_into()
    }

    /// Marks all the caller's notifications read; returns how many were unread.
    pub async fn mark_all_notifications_read(&self, caller: &Caller) -> AppResult<u64> {
        Ok(self
            .store
            .mark_all_notifications_read(caller.user_id(), self.clock.now())
            .await?)
    }

    pub async fn notification_preferences(&self, caller: &Caller) -> AppResult<PreferencesView> {
        let stored = self.store.email_preferences(&[caller.user_id()]).await?;
        let (kinds, delivery) = match stored.into_iter().next() {
            Some((_, p)) => (
                NotificationKind::ALL
                    .into_iter()
                    .filter(|k| p.kinds.iter().any(|s| s == k.as_str()))
                    .map(NotificationKind::as_str)
                    .collect(),
                p.delivery,
            ),
            None => (
                NotificationKind::ALL
                    .into_iter()
                    .map(NotificationKind::as_str)
                    .collect(),
                EmailDelivery::Immediate,
            ),
        };
        Ok(PreferencesView {
            email_kinds: kinds,
            email_delivery: delivery.as_str(),
            email_enabled: self.config.mail.is_some(),
        })
    }

    /// Sets which kinds come by e-mail and how, naming a wrong kind or delivery.
    pub async fn set_notification_preferences(
        &self,
        caller: &Caller,
        email_kinds: &[String],
        email_delivery: &str,
    ) -> AppResult<PreferencesView> {
        if email_kinds.len() > NotificationKind::ALL.len() * 2 {
            return Err(ValidationError::new("email_kinds", "too many kinds").into());
        }
        let mut kinds = Vec::new();
        for (i, name) in email_kinds.iter().enumerate() {
            let kind = NotificationKind::parse(name).ok_or_else(|| {
                ValidationError::new(format!("email_kinds[{i}]"), "is not a kind of notification")
            })?;
            if !kinds.contains(&kind.as_str().to_owned()) {
                kinds.push(kind.as_str().to_owned());
            }
        }
        let delivery = EmailDelivery::parse(email_delivery)
            .ok_or_else(|| ValidationError::new("email_delivery", "must be immediate or digest"))?;
        self.store
            .put_email_preferences(
                caller.user_id(),
                &EmailPreferences { kinds, delivery },
                self.clock.now(),
            )
            .await?;
        self.notification_preferences(caller).await
    }
}

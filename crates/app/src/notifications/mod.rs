//! Telling people what happened: the kinds of notification, shared by the in-app inbox, e-mail and webhooks.

/// What a notification (and a webhook event) is about. The names are the stable strings of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    /// A notice was shared with your agency (when it is filed).
    NoticeShared,
    /// The developer no longer shares a notice with your agency: your assignment to it ended and your gateway
    /// tokens for it were revoked.
    AccessEnded,
    /// You were assigned to a notice.
    Assigned,
    /// You were unassigned from a notice.
    Unassigned,
    /// A new finding on your model (or on a notice you review).
    FindingCreated,
    /// A new assessment on your model (or on a notice you review).
    AssessmentCreated,
    /// The other side of a finding moved its status (the developer, or the finding's agency).
    FindingStatusChanged,
    /// The other side of a finding wrote in its response thread.
    FindingResponded,
    /// The planned launch moved: the window grew or shrank.
    LaunchMoved,
    /// The model launched.
    NoticeLaunched,
    /// The notice was withdrawn.
    NoticeWithdrawn,
    /// The review window opens in N days.
    WindowOpening,
    /// The review window closes in N days.
    WindowClosing,
    /// A gateway token of yours expires soon.
    TokenExpiring,
    /// A webhook endpoint of your organisation is failing (or was disabled).
    WebhookFailing,
    /// Your report joined another case as a duplicate (automatically, or merged by a coordinator).
    ReportDuplicate,
    /// The embargo of a case you take part in ends in N days.
    CaseEmbargoEnding,
    /// An advisory matching your organisation's subscriptions was published.
    AdvisoryPublished,
    /// A coordinator notified your organisation, as a vendor, of a coordinated disclosure case.
    CaseVendorsNotified,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 19] = [
        NotificationKind::NoticeShared,
        NotificationKind::AccessEnded,
        NotificationKind::Assigned,
        NotificationKind::Unassigned,
        NotificationKind::FindingCreated,
        NotificationKind::AssessmentCreated,
        NotificationKind::FindingStatusChanged,
        NotificationKind::FindingResponded,
        NotificationKind::LaunchMoved,
        NotificationKind::NoticeLaunched,
        NotificationKind::NoticeWithdrawn,
        NotificationKind::WindowOpening,
        NotificationKind::WindowClosing,
        NotificationKind::TokenExpiring,
        NotificationKind::WebhookFailing,
        NotificationKind::ReportDuplicate,
        NotificationKind::CaseEmbargoEnding,
        NotificationKind::AdvisoryPublished,
        NotificationKind::CaseVendorsNotified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::NoticeShared => "notice.shared",
            NotificationKind::AccessEnded => "notice.access_ended",
            NotificationKind::Assigned => "assignment.created",
            NotificationKind::Unassigned => "assignment.removed",
            NotificationKind::FindingCreated => "finding.created",
            NotificationKind::AssessmentCreated => "assessment.created",
            NotificationKind::FindingStatusChanged => "finding.status_changed",
            NotificationKind::FindingResponded => "finding.responded",
            NotificationKind::LaunchMoved => "launch.moved",
            NotificationKind::NoticeLaunched => "notice.launched",
            NotificationKind::NoticeWithdrawn => "notice.withdrawn",
            NotificationKind::WindowOpening => "window.opening",
            NotificationKind::WindowClosing => "window.closing",
            NotificationKind::TokenExpiring => "token.expiring",
            NotificationKind::WebhookFailing => "webhook.failing",
            NotificationKind::ReportDuplicate => "report.duplicate",
            NotificationKind::CaseEmbargoEnding => "case.embargo_ending",
            NotificationKind::AdvisoryPublished => "advisory.published",
            NotificationKind::CaseVendorsNotified => "case.vendors_notified",
        }
    }

    pub fn parse(text: &str) -> Option<NotificationKind> {
        NotificationKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

pub mod email;
pub mod inbox;
pub mod outbox;
pub mod recipients;

use crate::jobs::Registry;
use chrono::Duration;

/// Adds the notification jobs to a worker's registry: the outbox (every few seconds), the reminders (every
/// ten minutes), mails and the daily digest.
pub fn register(registry: Registry) -> Registry {
    registry
        .handle(outbox::NOTIFY, outbox::NotifyHandler::default())
        .every(outbox::NOTIFY, Duration::seconds(3))
        .handle(outbox::REMINDERS, outbox::RemindersHandler)
        .every(outbox::REMINDERS, Duration::minutes(10))
        .handle(email::SEND, email::SendHandler)
        .handle(email::DIGEST, email::DigestHandler)
        .every(email::DIGEST, Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_read_back() {
        let names: std::collections::HashSet<_> = NotificationKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), NotificationKind::ALL.len());
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotificationKind::parse("notice"), None);
    }
}

//! From an audit event to the notification it makes: its kind, words, link and what it is about.

use super::*;

/// The kind of notification an audit event makes, if any.
pub fn kind_of_event(action: &str) -> Option<NotificationKind> {
    Some(match action {
        "notice.file" => NotificationKind::NoticeShared,
        "notice.moved" => NotificationKind::LaunchMoved,
        "notice.launched" => NotificationKind::NoticeLaunched,
        "notice.withdrawn" => NotificationKind::NoticeWithdrawn,
        // An edit tells only of the access it ended (one kind per event); an edit that ended none tells no one.
        "notice.edit" => NotificationKind::AccessEnded,
        "assignment.create" => NotificationKind::Assigned,
        "assignment.delete" => NotificationKind::Unassigned,
        "finding.file" => NotificationKind::FindingCreated,
        "assessment.publish" => NotificationKind::AssessmentCreated,
        "finding.status" => NotificationKind::FindingStatusChanged,
        "finding.respond" => NotificationKind::FindingResponded,
        "webhook.auto_disable" => NotificationKind::WebhookFailing,
        "case.join" | "case.merge" => NotificationKind::ReportDuplicate,
        // The one batch of a publication: every subscriber organisation it names, in one run of the outbox.
        "advisory.fanout" => NotificationKind::AdvisoryPublished,
        // A move that notifies vendors (the event names them; other moves tell no one).
        "case.transition" => NotificationKind::CaseVendorsNotified,
        _ => return None,
    })
}

/// The ids listed under `key` in an event's details (organisations an event names); none if absent.
fn ids_in(details: &serde_json::Value, key: &str) -> Vec<Uuid> {
    details
        .get(key)
        .and_then(|v| v.as_array())
        .map(|ids| {
            ids.iter()
                .filter_map(|o| o.as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// The notification an audit event makes, with its words; `None` for events that tell no one (or whose
/// object is gone).
pub async fn of_event(app: &App, event: &AuditEvent) -> AppResult<Option<Addressed>> {
    let Some(kind) = kind_of_event(&event.action) else {
        return Ok(None);
    };
    let details = &event.details.0;
    if kind == NotificationKind::WebhookFailing {
        // About the organisation (the event's object), naming its endpoint.
        let (Some(org), Some(hook)) = (
            event.object_id,
            details.get("webhook_id").and_then(|v| v.as_str()),
        ) else {
            return Ok(None);
        };
        let host = details
            .get("host")
            .and_then(|v| v.as_str())
            .unwrap_or("its receiver");
        return Ok(Some(Addressed {
            kind,
            title: format!("A webhook endpoint sending to {host} failed for a day and was disabled"),
            link: format!("/webhooks/{hook}"),
            about: About::Organization(org),
            subject: None,
            actor: event.actor_user_id,
        }));
    }
    if kind == NotificationKind::ReportDuplicate {
        return Ok(duplicate_of_event(event));
    }
    if kind == NotificationKind::CaseVendorsNotified {
        let vendors = ids_in(details, "notified");
        let Some(id) = event.object_id.filter(|_| !vendors.is_empty()) else {
            return Ok(None);
        };
        return Ok(Some(Addressed {
            kind,
            title: "Your organisation is notified of a coordinated disclosure case".to_owned(),
            link: format!("/cases/{id}"),
            about: About::CaseVendors { id, vendors },
            subject: None,
            actor: event.actor_user_id,
        }));
    }
    if kind == NotificationKind::AdvisoryPublished {
        let advisory = details
            .get("advisory_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok());
        let Some(id) = advisory else {
            return Ok(None);
        };
        let recipients = ids_in(details, "recipients");
        let reference = details
            .get("reference")
            .and_then(|v| v.as_str())
            .unwrap_or("An advisory");
        let title = details.get("title").and_then(|v| v.as_str()).unwrap_or("");
        return Ok(Some(Addressed {
            kind,
            title: format!("{reference} published: {title}"),
            link: format!("/advisories/{id}"),
            about: About::Advisory { id, recipients },
            subject: None,
            actor: None,
        }));
    }
    if kind == NotificationKind::AccessEnded {
        let people = ids_in(details, "access_ended");
        let (Some(id), false) = (event.object_id, people.is_empty()) else {
            return Ok(None);
        };
        let Some(notice) = app.store.get_notice(id).await? else {
            return Ok(None);
        };
        return Ok(Some(Addressed {
            kind,
            title: format!(
                "{} no longer shares the release notice of {} {} with your agency: your assignment ended and \
                 your gateway tokens for it were revoked",
                notice.developer_name, notice.model_name, notice.model_version
            ),
            link: "/".to_owned(),
            about: About::AccessEnded { notice: id, people },
            subject: None,
            actor: event.actor_user_id,
        }));
    }
    let id_in = |field: &str| {
        details
            .get(field)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok())
    };
    let notice_id = match kind {
        NotificationKind::FindingCreated
        | NotificationKind::AssessmentCreated
        | NotificationKind::FindingStatusChanged
        | NotificationKind::FindingResponded => id_in("notice"),
        _ => event.object_id,
    };
    let Some(notice) = (match notice_id {
        Some(id) => app.store.get_notice(id).await?,
        None => None,
    }) else {
        return Ok(None);
    };
    let model = format!("{} {}", notice.model_name, notice.model_version);
    let notice_link = format!("/notices/{}", notice.id);
    let (title, link, about, subject) = match kind {
        NotificationKind::NoticeShared => (
            format!(
                "{} shared the release notice of {model} with your agency",
                notice.developer_name
            ),
            notice_link,
            About::Notice(notice.id),
            None,
        ),
        NotificationKind::Assigned => (
            format!("You were assigned to review {model}"),
            notice_link,
            About::Notice(notice.id),
            id_in("user"),
        ),
        NotificationKind::Unassigned => (
            format!("You were removed from the review of {model}"),
            notice_link,
            About::Notice(notice.id),
            id_in("user"),
        ),
        NotificationKind::LaunchMoved => {
            let dates = crate::program::dates_of(&notice);
            let days = dates.days_left(app.clock.now());
            (
                format!(
                    "The launch of {model} moved to {}: {} left in the review window",
                    notice.planned_launch_at.format("%Y-%m-%d %H:%M UTC"),
                    days_text(days)
                ),
                notice_link,
                About::Notice(notice.id),
                None,
            )
        }
        NotificationKind::NoticeLaunched => (
            format!("{model} launched"),
            notice_link,
            About::Notice(notice.id),
            None,
        ),
        NotificationKind::NoticeWithdrawn => (
            format!("The release notice of {model} was withdrawn"),
            notice_link,
            About::Notice(notice.id),
            None,
        ),
        NotificationKind::FindingCreated => {
            let Some(id) = event.object_id else {
                return Ok(None);
            };
            let severity = details.get("severity").and_then(|v| v.as_str()).unwrap_or("new");
            (
                format!("A {severity} finding on {model}"),
                format!("/findings/{id}"),
                About::Finding {
                    id,
                    notice: notice.id,
                },
                None,
            )
        }
        NotificationKind::AssessmentCreated => {
            let Some(id) = event.object_id else {
                return Ok(None);
            };
            (
                format!("An assessment of {model} was published"),
                format!("/assessments/{id}"),
                About::Assessment {
                    id,
                    notice: notice.id,
                },
                None,
            )
        }
        NotificationKind::FindingStatusChanged | NotificationKind::FindingResponded => {
            let Some(id) = event.object_id else {
                return Ok(None);
            };
            let Some(finding) = app.store.get_finding_row(id).await? else {
                return Ok(None);
            };
            let title = if kind == NotificationKind::FindingResponded {
                format!("A new response on the finding \"{}\" on {model}", finding.title)
            } else {
                let to = details
                    .get("to")
                    .and_then(|v| v.as_str())
                    .and_then(|s| review::FindingStatus::parse("to", s).ok())
                    .map(|s| s.label().to_lowercase())
                    .unwrap_or_else(|| "moved".into());
                format!("The finding \"{}\" on {model} is now {to}", finding.title)
            };
            (
                title,
                format!("/findings/{id}"),
                About::FindingThread {
                    id,
                    notice: notice.id,
                    developer: notice.developer_org_id,
                    agency: finding.org_id,
                    actor_org: event.actor_org_id,
                },
                None,
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(Addressed {
        kind,
        title,
        link,
        about,
        subject,
        actor: event.actor_user_id,
    }))
}

/// A report that joined a case (`case.join`, the report in `report`) or reports merged into another case
/// (`case.merge`, the reports in `reports`, the case in `into_reference`).
fn duplicate_of_event(event: &AuditEvent) -> Option<Addressed> {
    let details = &event.details.0;
    let text = |field: &str| details.get(field).and_then(|v| v.as_str());
    let ids = |field: &str| -> Vec<Uuid> {
        match details.get(field) {
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_str()?.parse().ok()).collect()
            }
            Some(serde_json::Value::String(one)) => one.parse().into_iter().collect(),
            _ => Vec::new(),
        }
    };
    let (reports, reference) = match event.action.as_str() {
        "case.join" => (ids("report"), text("reference")?),
        _ => (ids("reports"), text("into_reference")?),
    };
    let first = *reports.first()?;
    Some(Addressed {
        kind: NotificationKind::ReportDuplicate,
        title: format!("Your report joined case {reference} as a duplicate of an earlier report"),
        link: format!("/reports/{first}"),
        about: About::Reports(reports),
        subject: None,
        // The join is the service's decision, not the reporter's act: the reporter is told too. A merge is
        // the coordinator's, who is not.
        actor: (event.action != "case.join")
            .then_some(event.actor_user_id)
            .flatten(),
    })
}

/// "3 days", "1 day", "less than a day".
pub fn days_text(days: i64) -> String {
    match days {
        i64::MIN..=0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

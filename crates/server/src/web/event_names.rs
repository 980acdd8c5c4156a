//! What the ledger and audit pages call each kind of event and each kind of object: one table for every event
//! kind the code writes (`app::policy::EVENT_KINDS`; a test keeps the two in step).

use app::{App, Caller};
use std::collections::HashMap;
use uuid::Uuid;

/// Every event kind and its name on screen.
pub const EVENT_NAMES: &[(&str, &str)] = &[
    ("notice.file", "Notice filed"),
    ("notice.moved", "Launch date moved"),
    ("notice.launched", "Model launched"),
    ("notice.withdrawn", "Notice withdrawn"),
    ("notice.edit", "Notice edited"),
    ("assignment.create", "Evaluator assigned"),
    ("assignment.delete", "Evaluator removed"),
    ("finding.file", "Finding filed"),
    ("finding.status", "Finding status changed"),
    ("finding.respond", "Response to a finding"),
    ("finding.share", "Finding shared"),
    ("finding.edit", "Finding edited"),
    ("assessment.draft", "Assessment drafted"),
    ("assessment.publish", "Assessment published"),
    ("connection.create", "Model connection added"),
    ("connection.update", "Model connection changed"),
    ("connection.delete", "Model connection removed"),
    ("gateway_token.create", "Gateway token issued"),
    ("gateway_token.revoke", "Gateway token revoked"),
    ("eval_run.start", "Evaluation run started"),
    ("eval_run.cancel", "Evaluation run cancelled"),
    ("eval_run.stop", "Evaluation run stopped"),
    ("eval_run.complete", "Evaluation run completed"),
    ("eval_run.import", "Evaluation run imported"),
    ("organization.create", "Organisation created"),
    ("organization.activate", "Organisation reactivated"),
    ("organization.deactivate", "Organisation deactivated"),
    ("invitation.create", "Invitation sent"),
    ("invitation.accept", "Invitation accepted"),
    ("invitation.revoke", "Invitation revoked"),
    ("user.create", "Person added"),
    ("user.activate", "Person reactivated"),
    ("user.deactivate", "Person deactivated"),
    ("user.role", "Role changed"),
    ("user.password", "Password changed"),
    ("password_reset.request", "Password reset requested"),
    ("password_reset.complete", "Password reset"),
    ("session.login", "Signed in"),
    ("session.logout", "Signed out"),
    ("session.end", "Session ended"),
    ("token.create", "API token created"),
    ("token.revoke", "API token revoked"),
    ("webhook.create", "Webhook added"),
    ("webhook.update", "Webhook changed"),
    ("webhook.delete", "Webhook removed"),
    ("webhook.auto_disable", "Webhook turned off after failures"),
    ("policy.window_days", "Review window changed"),
    ("policy.launch_horizon_days", "Launch horizon changed"),
    ("policy.reminder_days", "Reminder days changed"),
    ("policy.dedup_join_threshold", "Duplicate join threshold changed"),
    (
        "policy.dedup_suggest_threshold",
        "Duplicate suggestion threshold changed",
    ),
    ("policy.intake_reports_per_day", "Daily report limit changed"),
    ("master_key.register", "Master key registered"),
    ("master_key.rotate", "Master key rotated"),
    ("ledger.key", "Ledger key published"),
    ("job.retry", "Job retried"),
    ("report.file", "Report filed"),
    ("report.forward", "Report forwarded"),
    ("report.attach", "Attachment added to a report"),
    ("report.tlp_clients", "Report's TLP readers set"),
    ("case.open", "Case opened"),
    ("case.join", "Report joined a case"),
    ("case.merge", "Cases merged"),
    ("case.split", "Case split"),
    ("case.tlp_clients", "Case's TLP readers set"),
    ("case.transition", "Case moved on"),
    ("case.participant_add", "Participant added to a case"),
    ("case.participant_remove", "Participant removed from a case"),
    ("case.vendor_status", "Vendor status changed"),
    ("case.post", "Message posted on a case"),
    ("case.embargo", "Embargo changed"),
    ("case.cve", "CVE assigned"),
    ("case.publish", "Case published"),
    ("advisory.publish", "Advisory published"),
    ("advisory.fanout", "Advisory sent to subscribers"),
    ("vendor_policy.update", "Vendor policy changed"),
    ("subscription.create", "Advisory subscription added"),
    ("subscription.delete", "Advisory subscription removed"),
    ("federation_peer.create", "Federation peer added"),
    ("federation_peer.update", "Federation peer changed"),
    ("federation_peer.delete", "Federation peer removed"),
    ("taxii.post", "Objects posted to a TAXII collection"),
    ("taxii.delete", "Object deleted from a TAXII collection"),
    ("taxii_community.create", "Sharing community created"),
    ("taxii_community.update", "Sharing community changed"),
    ("taxii_collection.create", "TAXII collection created"),
    ("taxii_collection.delete", "TAXII collection deleted"),
];

/// The name on screen of an event kind (an unknown kind, which no one may read, keeps its code).
pub fn action_name(action: &str) -> String {
    EVENT_NAMES
        .iter()
        .find(|(kind, _)| *kind == action)
        .map(|(_, name)| (*name).to_owned())
        .unwrap_or_else(|| action.to_owned())
}

/// Every kind of object an event is about, and what the pages call one the viewer may not see.
pub const OBJECT_KINDS: &[(&str, &str)] = &[
    ("notice", "A notice"),
    ("finding", "A finding"),
    ("assessment", "An assessment"),
    ("connection", "A model connection"),
    ("gateway_token", "A gateway token"),
    ("eval_run", "An evaluation run"),
    ("organization", "An organisation"),
    ("user", "A person"),
    ("api_token", "An API token"),
    ("webhook", "A webhook"),
    ("policy", "The program's policy"),
    ("master_key", "The master key"),
    ("ledger", "The ledger"),
    ("job", "A job"),
    ("report", "A report"),
    ("case", "A case"),
    ("federation_peer", "A federation peer"),
    ("taxii_community", "A sharing community"),
    ("taxii_collection", "A TAXII collection"),
];

/// The generic name of a kind of object.
pub fn object_kind_name(kind: &str) -> String {
    OBJECT_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, name)| (*name).to_owned())
        .unwrap_or_else(|| "An object".to_owned())
}

/// An object as a page names it: its title and page where the viewer may see it, else its generic kind name.
pub struct ObjectName {
    pub title: String,
    pub href: Option<String>,
}

/// Looks up the titles of the objects events are about, each through the same visibility as the object's own
/// page (an object the viewer may not see, or one that no longer exists, gets its kind's generic name), once
/// per object for a page.
pub struct ObjectTitles<'a> {
    app: &'a App,
    caller: &'a Caller,
    seen: HashMap<Uuid, Option<(String, Option<String>)>>,
}

impl<'a> ObjectTitles<'a> {
    pub fn new(app: &'a App, caller: &'a Caller) -> Self {
        ObjectTitles {
            app,
            caller,
            seen: HashMap::new(),
        }
    }

    pub async fn name(&mut self, kind: &str, id: Option<Uuid>) -> ObjectName {
        let Some(id) = id else {
            return ObjectName {
                title: object_kind_name(kind),
                href: None,
            };
        };
        let found = match self.seen.get(&id) {
            Some(found) => found.clone(),
            None => {
                let found = self.look_up(kind, id).await;
                self.seen.insert(id, found.clone());
                found
            }
        };
        match found {
            Some((title, href)) => ObjectName { title, href },
            None => ObjectName {
                title: object_kind_name(kind),
                href: None,
            },
        }
    }

    /// The title (and page) of an object the caller may see; `None` otherwise, whatever the reason.
    async fn look_up(&self, kind: &str, id: Uuid) -> Option<(String, Option<String>)> {
        let (app, caller) = (self.app, self.caller);
        match kind {
            "notice" => app.get_notice(caller, id).await.ok().map(|n| {
                (
                    format!("Notice of {} {}", n.model_name, n.model_version),
                    Some(format!("/notices/{id}")),
                )
            }),
            "finding" => app
                .get_finding(caller, id)
                .await
                .ok()
                .map(|f| (format!("Finding: {}", f.title), Some(format!("/findings/{id}")))),
            "assessment" => {
                let assessment = app.get_assessment(caller, id).await.ok()?;
                let of = match app.get_notice(caller, assessment.notice_id).await {
                    Ok(n) => format!("Assessment of {} {}", n.model_name, n.model_version),
                    Err(_) => "An assessment".to_owned(),
                };
                Some((of, Some(format!("/assessments/{id}"))))
            }
            "eval_run" => app.get_eval_run_brief(caller, id).await.ok().map(|r| {
                (
                    format!("Evaluation run on {}", r.model),
                    Some(format!("/eval-runs/{id}")),
                )
            }),
            "organization" => app
                .get_org(caller, id)
                .await
                .ok()
                .map(|o| (o.name, Some(format!("/organizations/{id}")))),
            "user" => app.get_user(caller, id).await.ok().map(|u| {
                let name = if u.display_name.is_empty() {
                    u.email
                } else {
                    u.display_name
                };
                (name, None)
            }),
            "case" => app.get_case(caller, id).await.ok().map(|c| {
                (
                    format!("Case {}: {}", c.summary.reference, c.summary.title),
                    Some(format!("/cases/{id}")),
                )
            }),
            "report" => app
                .get_report(Some(caller), id)
                .await
                .ok()
                .map(|r| (format!("Report: {}", r.title), Some(format!("/reports/{id}")))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_kind_of_event_the_code_writes_has_one_name() {
        let kinds: BTreeSet<&str> = app::policy::EVENT_KINDS.iter().map(|(k, _)| *k).collect();
        let named: Vec<&str> = EVENT_NAMES.iter().map(|(k, _)| *k).collect();
        let unique: BTreeSet<&str> = named.iter().copied().collect();
        assert_eq!(unique.len(), named.len(), "a kind is named twice");
        let unnamed: Vec<&&str> = kinds.difference(&unique).collect();
        assert!(unnamed.is_empty(), "kinds without a name: {unnamed:?}");
        let stale: Vec<&&str> = unique.difference(&kinds).collect();
        assert!(stale.is_empty(), "names of kinds no longer written: {stale:?}");
        let names: BTreeSet<&str> = EVENT_NAMES.iter().map(|(_, n)| *n).collect();
        assert_eq!(names.len(), EVENT_NAMES.len(), "two kinds share a name");
        assert_eq!(action_name("notice.file"), "Notice filed");
        assert_eq!(action_name("notice.forged"), "notice.forged");
    }

    #[test]
    fn every_kind_of_object_an_event_is_about_has_a_generic_name() {
        // The object kinds written next to the event kinds in crates/app/src (`self.event(actor, "kind",
        // "object", …)`).
        let mut written = BTreeSet::new();
        for file in app_sources(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../app/src"
        ))) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for pair in lines.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let literal = |s: &str| {
                    s.strip_prefix('"')
                        .and_then(|s| s.strip_suffix("\","))
                        .map(str::to_owned)
                };
                if let (Some(kind), Some(object)) = (literal(a), literal(b))
                    && app::policy::event_readers(&kind).is_some()
                {
                    written.insert(object);
                }
            }
        }
        assert!(written.contains("notice") && written.len() > 10, "{written:?}");
        let named: BTreeSet<String> = OBJECT_KINDS.iter().map(|(k, _)| (*k).to_owned()).collect();
        let unnamed: Vec<&String> = written.difference(&named).collect();
        assert!(unnamed.is_empty(), "object kinds without a name: {unnamed:?}");
    }

    fn app_sources(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(app_sources(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
        found
    }
}

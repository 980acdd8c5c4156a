//! Who may see each kind of event of the audit trail and the ledger.

use super::is_program_admin;
use crate::caller::Caller;
use store::EventReaders;

/// Who may see each kind of event, beside the person who acted and the admins of their organisation. An
/// event is visible only to those who may see every fact in it (its object, its actor, its details); others
/// get "not found", as for an event that does not exist. A kind missing here is seen by no one, so a new
/// kind stays hidden until it is given its readers. `EventReaders` says what each entry means.
pub const EVENT_KINDS: &[(&str, EventReaders)] = &[
    // Review program.
    ("notice.file", EventReaders::NoticeFiling),
    ("notice.moved", EventReaders::NoticeReaders),
    ("notice.launched", EventReaders::NoticeReaders),
    ("notice.withdrawn", EventReaders::NoticeReaders),
    ("notice.edit", EventReaders::NoticeDeveloper),
    ("assignment.create", EventReaders::Assignment),
    ("assignment.delete", EventReaders::Assignment),
    ("finding.file", EventReaders::AgencyWork),
    ("finding.status", EventReaders::AgencyWork),
    ("finding.respond", EventReaders::AgencyWork),
    ("finding.share", EventReaders::AgencyWork),
    ("finding.edit", EventReaders::AgencyWork),
    ("assessment.draft", EventReaders::AgencyWork),
    ("assessment.publish", EventReaders::AgencyWork),
    // Model access gateway.
    ("connection.create", EventReaders::Connection),
    ("connection.update", EventReaders::Connection),
    ("connection.delete", EventReaders::Connection),
    ("gateway_token.create", EventReaders::GatewayToken),
    ("gateway_token.revoke", EventReaders::GatewayToken),
    // Evaluation runs: seen as the run is.
    ("eval_run.start", EventReaders::EvalRun),
    ("eval_run.cancel", EventReaders::EvalRun),
    ("eval_run.stop", EventReaders::EvalRun),
    ("eval_run.complete", EventReaders::EvalRun),
    ("eval_run.import", EventReaders::EvalRun),
    // People and organisations.
    ("organization.create", EventReaders::Organization),
    ("organization.activate", EventReaders::Organization),
    ("organization.deactivate", EventReaders::Organization),
    ("invitation.create", EventReaders::Organization),
    ("invitation.accept", EventReaders::Person),
    ("invitation.revoke", EventReaders::Organization),
    ("user.create", EventReaders::Person),
    ("user.activate", EventReaders::Person),
    ("user.deactivate", EventReaders::Person),
    ("user.role", EventReaders::Person),
    ("user.password", EventReaders::Person),
    ("password_reset.request", EventReaders::Person),
    ("password_reset.complete", EventReaders::Person),
    ("session.login", EventReaders::Person),
    ("session.logout", EventReaders::Person),
    ("session.end", EventReaders::Person),
    ("token.create", EventReaders::ApiTokenHolder),
    ("token.revoke", EventReaders::ApiTokenHolder),
    // Webhooks: the acting admin and their organisation's admins (as every event), and program
    // administrators; an endpoint disabled for failing is about its organisation, whose admins are told.
    ("webhook.create", EventReaders::ProgramAdmins),
    ("webhook.update", EventReaders::ProgramAdmins),
    ("webhook.delete", EventReaders::ProgramAdmins),
    ("webhook.auto_disable", EventReaders::Organization),
    // The program and the service.
    ("policy.window_days", EventReaders::ProgramAdmins),
    ("policy.launch_horizon_days", EventReaders::ProgramAdmins),
    ("policy.reminder_days", EventReaders::ProgramAdmins),
    ("policy.dedup_join_threshold", EventReaders::ProgramAdmins),
    ("policy.dedup_suggest_threshold", EventReaders::ProgramAdmins),
    ("policy.intake_reports_per_day", EventReaders::ProgramAdmins),
    ("master_key.register", EventReaders::ProgramAdmins),
    ("master_key.rotate", EventReaders::ProgramAdmins),
    ("ledger.key", EventReaders::Everyone),
    ("job.retry", EventReaders::ProgramAdmins),
    // The clearinghouse: events about a report or a case are read by whoever may read it (TLP, embargo).
    ("report.file", EventReaders::Report),
    ("report.forward", EventReaders::Report),
    ("report.attach", EventReaders::Report),
    ("report.tlp_clients", EventReaders::Report),
    ("case.open", EventReaders::Case),
    ("case.join", EventReaders::Case),
    ("case.merge", EventReaders::Case),
    ("case.split", EventReaders::Case),
    ("case.tlp_clients", EventReaders::Case),
    // Clearinghouse cases: whoever may read the case (its TLP marking and embargo). Their details name
    // organisations, reports and dates of the case, never a post's words or a statement (read on the case).
    // Publication and its fan-out are events of the case too: the fan-out's recipient list is what makes
    // dissemination provable, to everyone who may read the advisory.
    ("case.transition", EventReaders::Case),
    ("case.participant_add", EventReaders::Case),
    ("case.participant_remove", EventReaders::Case),
    ("case.vendor_status", EventReaders::Case),
    ("case.post", EventReaders::Case),
    ("case.embargo", EventReaders::Case),
    ("case.cve", EventReaders::Case),
    ("case.publish", EventReaders::Case),
    ("advisory.publish", EventReaders::Case),
    ("advisory.fanout", EventReaders::Case),
    // An organisation's own settings: its admins (and program administrators).
    ("vendor_policy.update", EventReaders::Organization),
    ("subscription.create", EventReaders::Organization),
    ("subscription.delete", EventReaders::Organization),
    // Federation peers: the coordinators' settings (never the credential), read by program administrators.
    ("federation_peer.create", EventReaders::ProgramAdmins),
    ("federation_peer.update", EventReaders::ProgramAdmins),
    ("federation_peer.delete", EventReaders::ProgramAdmins),
    // STIX objects an organisation posts to TAXII collections, and their deletion: about the organisation
    // that posted them (the details name the collection, the status and the object ids, all its own).
    ("taxii.post", EventReaders::Organization),
    ("taxii.delete", EventReaders::Organization),
    // TAXII sharing communities and collections defined by filters: program administrators (the details
    // name member organisations).
    ("taxii_community.create", EventReaders::ProgramAdmins),
    ("taxii_community.update", EventReaders::ProgramAdmins),
    ("taxii_collection.create", EventReaders::ProgramAdmins),
    ("taxii_collection.delete", EventReaders::ProgramAdmins),
];

/// The readers of a kind of event; `None` for a kind no one may see.
pub fn event_readers(action: &str) -> Option<EventReaders> {
    EVENT_KINDS
        .iter()
        .find(|(kind, _)| *kind == action)
        .map(|(_, readers)| *readers)
}

/// Listing the whole audit trail: program administrators. Anyone may list the events of one object, which
/// then holds those they may see.
pub fn can_list_whole_trail(caller: &Caller) -> bool {
    is_program_admin(caller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Files whose dotted names are not event kinds though they reuse the families: this table, the names of
    /// notification kinds and of job kinds.
    const OTHER_VOCABULARIES: &[&str] = &["policy/events.rs", "notifications/mod.rs", "jobs/kinds.rs"];

    /// The crate's sources, every file under `src/` but `OTHER_VOCABULARIES`: every event kind written is a
    /// string literal in one of them. Read from disk so that a new module is covered without being listed.
    fn sources() -> Vec<(std::path::PathBuf, String)> {
        let mut pending = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut out = Vec::new();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("the crate's sources are readable") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !OTHER_VOCABULARIES.iter().any(|other| path.ends_with(other))
                {
                    let text = std::fs::read_to_string(&path).expect("a source file is UTF-8");
                    out.push((path, text));
                }
            }
        }
        assert!(out.len() > 20, "found only {} sources", out.len());
        out
    }

    /// String literals of the sources that look like event kinds of a known family (`notice.…`), but for the
    /// values of `&str` constants: the names of job kinds and settings (an event kind is written where the
    /// event is made).
    fn kinds_in_sources() -> BTreeSet<String> {
        let families: BTreeSet<&str> = EVENT_KINDS
            .iter()
            .filter_map(|(kind, _)| kind.split_once('.').map(|(family, _)| family))
            .collect();
        let mut found = BTreeSet::new();
        let sources = sources();
        let lines = sources
            .iter()
            .flat_map(|(_, source)| source.lines())
            .filter(|line| !(line.contains("const ") && line.contains(": &str = \"")));
        for line in lines {
            for literal in line.split('"').skip(1).step_by(2) {
                let well_formed = literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
                if let Some((family, _)) = literal.split_once('.')
                    && well_formed
                    && families.contains(family)
                {
                    found.insert(literal.to_owned());
                }
            }
        }
        found
    }

    #[test]
    fn every_kind_of_event_written_has_its_readers_and_no_other_is_listed() {
        let listed: Vec<&str> = EVENT_KINDS.iter().map(|(kind, _)| *kind).collect();
        let unique: BTreeSet<&str> = listed.iter().copied().collect();
        assert_eq!(unique.len(), listed.len(), "a kind is listed twice");
        let written = kinds_in_sources();
        for kind in &written {
            assert!(
                event_readers(kind).is_some(),
                "{kind} is written but has no readers"
            );
        }
        for kind in &listed {
            assert!(written.contains(*kind), "{kind} is listed but never written");
        }
        assert_eq!(
            event_readers("notice.forged"),
            None,
            "an unknown kind is seen by no one"
        );
    }

    #[test]
    fn events_naming_other_agencies_or_the_upstream_go_only_to_those_who_may_know() {
        use EventReaders::*;
        // (kind, readers): the decisions the authorisation matrix tests, stated once more here so that a
        // change to the table is a change to this test too.
        let cases = [
            // The filing lists every agency the notice is shared with.
            ("notice.file", NoticeFiling),
            // Date changes say nothing a reader of the notice does not see in its history.
            ("notice.moved", NoticeReaders),
            ("notice.launched", NoticeReaders),
            ("notice.withdrawn", NoticeReaders),
            // An edit names the agencies shared with before and after, and the evaluators whose access ended.
            ("notice.edit", NoticeDeveloper),
            // An assignment names an agency's evaluator (id and e-mail address).
            ("assignment.create", Assignment),
            ("assignment.delete", Assignment),
            // Findings and assessments list the agencies they are shared with.
            ("finding.file", AgencyWork),
            // A finding's later events are read as the finding is (a response's text is not in its event;
            // a share lists agencies, so only those it names alone see it, as at filing). A draft's event is
            // its agency's until the draft is published.
            ("finding.status", AgencyWork),
            ("finding.respond", AgencyWork),
            ("finding.share", AgencyWork),
            ("finding.edit", AgencyWork),
            ("assessment.draft", AgencyWork),
            ("assessment.publish", AgencyWork),
            // Connection settings are the developer's.
            ("connection.create", Connection),
            ("connection.update", Connection),
            ("connection.delete", Connection),
            ("gateway_token.create", GatewayToken),
            ("gateway_token.revoke", GatewayToken),
            // A run is its evaluator's work product, read as it is.
            ("eval_run.start", EvalRun),
            ("eval_run.cancel", EvalRun),
            ("eval_run.stop", EvalRun),
            ("eval_run.complete", EvalRun),
            ("eval_run.import", EvalRun),
            ("organization.create", Organization),
            ("organization.activate", Organization),
            ("organization.deactivate", Organization),
            ("invitation.create", Organization),
            ("invitation.accept", Person),
            ("invitation.revoke", Organization),
            ("user.create", Person),
            ("user.activate", Person),
            ("user.deactivate", Person),
            ("user.role", Person),
            ("user.password", Person),
            ("password_reset.request", Person),
            ("password_reset.complete", Person),
            ("session.login", Person),
            ("session.logout", Person),
            ("session.end", Person),
            ("token.create", ApiTokenHolder),
            ("token.revoke", ApiTokenHolder),
            // Webhook URLs are their organisation's (events carry only the host).
            ("webhook.create", ProgramAdmins),
            ("webhook.update", ProgramAdmins),
            ("webhook.delete", ProgramAdmins),
            // The disabling is the service's act about the organisation: its admins are told.
            ("webhook.auto_disable", Organization),
            ("policy.window_days", ProgramAdmins),
            ("policy.launch_horizon_days", ProgramAdmins),
            ("policy.reminder_days", ProgramAdmins),
            ("policy.dedup_join_threshold", ProgramAdmins),
            ("policy.dedup_suggest_threshold", ProgramAdmins),
            ("policy.intake_reports_per_day", ProgramAdmins),
            ("master_key.register", ProgramAdmins),
            ("master_key.rotate", ProgramAdmins),
            // The verifier key is public at /ledger/key.
            ("ledger.key", Everyone),
            ("job.retry", ProgramAdmins),
            // A report's events are its readers' (TLP 2.0, embargo); a case's, the case's.
            ("report.file", Report),
            ("report.forward", Report),
            ("report.attach", Report),
            ("report.tlp_clients", Report),
            ("case.open", Case),
            ("case.join", Case),
            ("case.merge", Case),
            ("case.split", Case),
            ("case.tlp_clients", Case),
            // A case's events are read as the case is; its vendors' policies and the subscriptions are the
            // organisations' own.
            ("case.transition", Case),
            ("case.participant_add", Case),
            ("case.participant_remove", Case),
            ("case.vendor_status", Case),
            ("case.post", Case),
            ("case.embargo", Case),
            ("case.cve", Case),
            ("case.publish", Case),
            ("advisory.publish", Case),
            ("advisory.fanout", Case),
            ("vendor_policy.update", Organization),
            ("subscription.create", Organization),
            ("subscription.delete", Organization),
            // A peer's settings are the clearinghouse's; its credential is in no event.
            ("federation_peer.create", ProgramAdmins),
            ("federation_peer.update", ProgramAdmins),
            ("federation_peer.delete", ProgramAdmins),
            ("taxii.post", Organization),
            ("taxii.delete", Organization),
            ("taxii_community.create", ProgramAdmins),
            ("taxii_community.update", ProgramAdmins),
            ("taxii_collection.create", ProgramAdmins),
            ("taxii_collection.delete", ProgramAdmins),
        ];
        assert_eq!(cases.len(), EVENT_KINDS.len(), "every kind has a case");
        for (kind, readers) in cases {
            assert_eq!(event_readers(kind), Some(readers), "{kind}");
        }
        // No event that names agencies, people of an agency or the upstream is open to every reader of the
        // notice.
        for (kind, readers) in EVENT_KINDS {
            if readers == &NoticeReaders {
                assert!(kind.starts_with("notice."), "{kind}");
            }
        }
    }
}

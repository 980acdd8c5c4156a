//! Who sees which events: every kind of event the service writes, as every persona, through every read path
//! of events (receipts, the audit list of an object, the whole trail). An event is visible only to those who
//! may see every fact in it; to anyone else it is "not found", exactly like an event that does not exist.
//! Also: errors that are our failure are answered as such, not as "not found" or "reload and retry".

use crate::support::*;
use crate::web::{PASSWORD, Web};
use accounts::Secret;
use app::Clock;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use store::AuditEvent;
use uuid::Uuid;

mod checks;
mod failures;
mod ledger_pages;
mod rows_clearinghouse;
mod rows_notices;
mod rows_people;
mod rows_platform;

/// The personas of the table's columns, in order.
const COLUMNS: [&str; 13] = [
    "program admin",
    "coordinator",
    "developer admin",
    "developer member",
    "other developer",
    "agency admin",
    "evaluator",
    "second evaluator",
    "other agency admin",
    "other evaluator",
    "third agency admin",
    "vendor",
    "operator",
];

fn personas(w: &World, third: &Persona) -> Vec<Persona> {
    let all = vec![
        w.program_admin.clone(),
        w.coordinator.clone(),
        w.dev_admin.clone(),
        w.dev_member.clone(),
        w.other_dev.clone(),
        w.agency_admin.clone(),
        w.evaluator.clone(),
        w.evaluator2.clone(),
        w.other_agency_admin.clone(),
        w.other_evaluator.clone(),
        third.clone(),
        w.vendor.clone(),
        w.operator.clone(),
    ];
    for (p, name) in all.iter().zip(COLUMNS) {
        assert_eq!(p.name, name);
    }
    all
}

/// The one event with this action among `events`.
fn only(events: &[AuditEvent], action: &str) -> AuditEvent {
    let found: Vec<&AuditEvent> = events.iter().filter(|e| e.action == action).collect();
    assert_eq!(
        found.len(),
        1,
        "{action} in {:?}",
        events.iter().map(|e| &e.action).collect::<Vec<_>>()
    );
    found[0].clone()
}

/// A problem document without what names the request itself.
fn problem_shape(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("instance");
    }
    body
}

/// Files a notice through the API as `dev` with this body's sharing.
async fn notice_shared(t: &TestApp, dev: &Persona, sharing: Value) -> Uuid {
    let launch = t.clock_now() + chrono::Duration::days(40);
    let mut body = json!({
        "model_name": "Orion", "model_version": "1.0", "planned_launch_at": launch.to_rfc3339(),
        "model_card": "# Orion", "confirm_duplicate": true,
    });
    for (key, value) in sharing.as_object().unwrap() {
        body[key] = value.clone();
    }
    let reply = t.post(dev, "/api/v1/notices", body).await;
    id_of(reply.ok())
}

/// The table of events the test builds, and the position in the trail up to which it has read.
struct Table<'a> {
    t: &'a TestApp,
    /// The position of the last event read.
    step: i64,
    /// (what, event, who sees it: one column per persona, `+` sees, `.` does not)
    rows: Vec<(&'static str, AuditEvent, &'static str)>,
}

impl<'a> Table<'a> {
    /// An empty table that reads the trail from its present end.
    async fn new(t: &'a TestApp) -> Self {
        let step = t.audit_seq().await;
        Table {
            t,
            step,
            rows: Vec::new(),
        }
    }

    /// The events written since the last read.
    async fn events(&mut self) -> Vec<AuditEvent> {
        let events = self.t.audit_after(self.step).await;
        self.step = events.last().map_or(self.step, |e| e.seq);
        events
    }

    /// A row for the one event of `kind` the step just taken wrote.
    async fn row(&mut self, what: &'static str, kind: &str, want: &'static str) {
        let event = only(&self.events().await, kind);
        self.push(what, event, want);
    }

    /// A row for `event`.
    fn push(&mut self, what: &'static str, event: AuditEvent, want: &'static str) {
        self.rows.push((what, event, want));
    }
}

#[tokio::test]
async fn every_kind_of_event_goes_to_those_who_may_see_every_fact_in_it_and_no_one_else() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mark = t.audit_seq().await;
    let third_agency = t.org("agency", "Third Agency").await;
    let third = t
        .person(
            "third agency admin",
            "Third Agency",
            "admin@third.example",
            "admin",
        )
        .await;
    let made = t.audit_after(mark).await;
    let everyone = personas(&w, &third);
    let mut table = Table::new(&t).await;
    table.push(
        "the third agency is created",
        only(&made, "organization.create"),
        "+ . . . . . . . . . + . .",
    );
    table.push(
        "its admin is created",
        only(&made, "user.create"),
        "+ . . . . . . . . . + . .",
    );
    let notices = rows_notices::rows(&mut table, &w, third_agency).await;
    rows_people::rows(&mut table, &w).await;
    rows_platform::rows(&mut table, &w, &notices).await;
    rows_clearinghouse::rows(&mut table, &w, notices.broad).await;
    checks::every_row_as_every_persona(&t, &w, &everyone, &table.rows).await;
}

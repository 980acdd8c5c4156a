//! The review window and the notice states, table-driven: where the window opens and closes for each way a
//! notice is filed or changed, and which state the notice is in as the clock crosses every transition.
//! Nothing here is a review decision: every change is the developer's, and the states only follow the dates.

use crate::support::*;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const SECOND: i64 = 1;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

const STATES: [&str; 4] = ["scheduled", "in_review", "launched", "withdrawn"];

/// A moment to check, in seconds after filing, with the state and whole days left expected then.
type Checkpoint = (i64, &'static str, i64);

fn after(start: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    start + Duration::seconds(seconds)
}

fn notice_path(id: Uuid) -> String {
    format!("/api/v1/notices/{id}")
}

/// Moves the clock to the checkpoint and checks the notice there: as the developer and the agency read it,
/// and as the state filter of the list (computed in SQL from the stored window) sees it.
async fn check_at(t: &TestApp, w: &World, id: Uuid, filed: DateTime<Utc>, point: Checkpoint, label: &str) {
    let (offset, state, days_left) = point;
    t.clock.set(after(filed, offset));
    let context = format!("{label}, {offset}s after filing");
    for reader in [&w.dev_admin, &w.evaluator] {
        let notice = t.get(reader, &notice_path(id)).await;
        assert_eq!(notice.ok()["state"], state, "{context}, read by {}", reader.name);
        assert_eq!(
            notice.body["days_left"], days_left,
            "{context}, read by {}",
            reader.name
        );
    }
    for filter in STATES {
        let listed = t
            .get(&w.dev_admin, &format!("/api/v1/notices?state={filter}"))
            .await;
        let ids: Vec<Uuid> = listed.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(
            ids.contains(&id),
            filter == state,
            "{context}: listed under state={filter}"
        );
    }
}

/// Checks the window and state a notice reports, with times as offsets from its filing.
fn check_window(
    notice: &Value,
    filed: DateTime<Utc>,
    opens: i64,
    closes: i64,
    state: &str,
    days_left: i64,
    label: &str,
) {
    assert_eq!(time_of(notice, "filed_at"), Some(filed), "{label}: {notice}");
    assert_eq!(
        time_of(notice, "window_opens_at"),
        Some(after(filed, opens)),
        "{label}: window_opens_at"
    );
    assert_eq!(
        time_of(notice, "window_closes_at"),
        Some(after(filed, closes)),
        "{label}: window_closes_at"
    );
    assert_eq!(notice["state"], state, "{label}: state");
    assert_eq!(notice["days_left"], days_left, "{label}: days_left");
    assert_eq!(notice["window_days"], 30, "{label}: window_days");
}

struct Filing {
    label: &'static str,
    launch_in: i64,
    opens: i64,
    state: &'static str,
    days_left: i64,
    later: &'static [Checkpoint],
}

#[tokio::test]
async fn the_window_opens_at_most_window_days_before_launch_and_closes_at_launch() {
    let cases = [
        Filing {
            label: "filed 45 days before launch",
            launch_in: 45 * DAY,
            opens: 15 * DAY,
            state: "scheduled",
            days_left: 45,
            later: &[
                (15 * DAY - SECOND, "scheduled", 31),
                (15 * DAY, "in_review", 30),
                (45 * DAY - SECOND, "in_review", 1),
                (45 * DAY, "launched", 0),
                (60 * DAY, "launched", 0),
            ],
        },
        Filing {
            label: "filed 31 days before launch",
            launch_in: 31 * DAY,
            opens: DAY,
            state: "scheduled",
            days_left: 31,
            later: &[
                (DAY - SECOND, "scheduled", 31),
                (DAY, "in_review", 30),
                (31 * DAY - SECOND, "in_review", 1),
                (31 * DAY, "launched", 0),
            ],
        },
        Filing {
            label: "filed 30 days before launch",
            launch_in: 30 * DAY,
            opens: 0,
            state: "in_review",
            days_left: 30,
            later: &[
                (29 * DAY, "in_review", 1),
                (30 * DAY - SECOND, "in_review", 1),
                (30 * DAY, "launched", 0),
            ],
        },
        Filing {
            label: "filed 10 days before launch",
            launch_in: 10 * DAY,
            opens: 0,
            state: "in_review",
            days_left: 10,
            later: &[
                (9 * DAY + SECOND, "in_review", 1),
                (10 * DAY, "launched", 0),
                (11 * DAY, "launched", 0),
            ],
        },
        Filing {
            label: "filed an hour before launch",
            launch_in: HOUR,
            opens: 0,
            state: "in_review",
            days_left: 1,
            later: &[(HOUR - SECOND, "in_review", 1), (HOUR, "launched", 0)],
        },
    ];
    for case in cases {
        let t = spawn_app().await;
        let w = World::new(&t).await;
        let filed = t.clock_now();
        let notice = t
            .file_notice_at(&w.dev_admin, after(filed, case.launch_in), &[w.agency])
            .await;
        check_window(
            &notice,
            filed,
            case.opens,
            case.launch_in,
            case.state,
            case.days_left,
            case.label,
        );
        assert_eq!(
            time_of(&notice, "planned_launch_at"),
            Some(after(filed, case.launch_in))
        );
        let id = id_of(&notice);
        let read = t.get(&w.dev_admin, &notice_path(id)).await;
        assert_eq!(read.ok(), &notice, "{}: read back as filed", case.label);
        check_at(&t, &w, id, filed, (0, case.state, case.days_left), case.label).await;
        for point in case.later {
            check_at(&t, &w, id, filed, *point, case.label).await;
        }
    }
}

#[derive(Clone, Copy)]
enum Act {
    /// Move the planned launch to this many seconds after filing, with an optional reason.
    Move(i64, Option<&'static str>),
    LaunchNow,
    Withdraw(Option<&'static str>),
}

struct Change {
    label: &'static str,
    launch_in: i64,
    /// How long after filing the developer acts.
    acts_after: i64,
    act: Act,
    /// After the change, as offsets from filing.
    planned: i64,
    opens: i64,
    closes: i64,
    state: &'static str,
    days_left: i64,
    later: &'static [Checkpoint],
}

async fn act(t: &TestApp, dev: &Persona, id: Uuid, act: Act, filed: DateTime<Utc>) -> Reply {
    match act {
        Act::Move(to, reason) => {
            let mut body = json!({"planned_launch_at": after(filed, to).to_rfc3339()});
            if let Some(reason) = reason {
                body["reason"] = json!(reason);
            }
            t.put(dev, &format!("{}/launch", notice_path(id)), body).await
        }
        Act::LaunchNow => {
            t.call(
                reqwest::Method::POST,
                &format!("{}/launch", notice_path(id)),
                Some(&dev.token),
                None,
            )
            .await
        }
        Act::Withdraw(reason) => {
            let body = reason.map(|r| json!({ "reason": r }));
            t.call(
                reqwest::Method::POST,
                &format!("{}/withdraw", notice_path(id)),
                Some(&dev.token),
                body,
            )
            .await
        }
    }
}

#[tokio::test]
async fn moving_launching_and_withdrawing_move_the_window() {
    let cases = [
        Change {
            label: "scheduled, moved later",
            launch_in: 45 * DAY,
            acts_after: 0,
            act: Act::Move(60 * DAY, Some("partner integration slipped")),
            planned: 60 * DAY,
            opens: 30 * DAY,
            closes: 60 * DAY,
            state: "scheduled",
            days_left: 60,
            later: &[
                (30 * DAY - SECOND, "scheduled", 31),
                (30 * DAY, "in_review", 30),
                (60 * DAY - SECOND, "in_review", 1),
                (60 * DAY, "launched", 0),
            ],
        },
        Change {
            label: "scheduled, moved earlier but still outside the window",
            launch_in: 45 * DAY,
            acts_after: 0,
            act: Act::Move(40 * DAY, None),
            planned: 40 * DAY,
            opens: 10 * DAY,
            closes: 40 * DAY,
            state: "scheduled",
            days_left: 40,
            later: &[
                (10 * DAY - SECOND, "scheduled", 31),
                (10 * DAY, "in_review", 30),
                (40 * DAY, "launched", 0),
            ],
        },
        Change {
            label: "scheduled, moved earlier into the window",
            launch_in: 45 * DAY,
            acts_after: 5 * DAY,
            act: Act::Move(25 * DAY, Some("ready early")),
            planned: 25 * DAY,
            opens: 0,
            closes: 25 * DAY,
            state: "in_review",
            days_left: 20,
            later: &[(25 * DAY - SECOND, "in_review", 1), (25 * DAY, "launched", 0)],
        },
        Change {
            label: "in review, moved later back out of the window",
            launch_in: 20 * DAY,
            acts_after: 2 * DAY,
            act: Act::Move(50 * DAY, None),
            planned: 50 * DAY,
            opens: 20 * DAY,
            closes: 50 * DAY,
            state: "scheduled",
            days_left: 48,
            later: &[
                (20 * DAY - SECOND, "scheduled", 31),
                (20 * DAY, "in_review", 30),
                (50 * DAY - SECOND, "in_review", 1),
                (50 * DAY, "launched", 0),
            ],
        },
        Change {
            label: "in review, moved later within the window",
            launch_in: 20 * DAY,
            acts_after: 2 * DAY,
            act: Act::Move(30 * DAY, None),
            planned: 30 * DAY,
            opens: 0,
            closes: 30 * DAY,
            state: "in_review",
            days_left: 28,
            later: &[(30 * DAY - SECOND, "in_review", 1), (30 * DAY, "launched", 0)],
        },
        Change {
            label: "in review, moved earlier",
            launch_in: 20 * DAY,
            acts_after: 2 * DAY,
            act: Act::Move(5 * DAY, None),
            planned: 5 * DAY,
            opens: 0,
            closes: 5 * DAY,
            state: "in_review",
            days_left: 3,
            later: &[(5 * DAY - SECOND, "in_review", 1), (5 * DAY, "launched", 0)],
        },
        Change {
            label: "launched early while in review",
            launch_in: 20 * DAY,
            acts_after: 5 * DAY,
            act: Act::LaunchNow,
            planned: 20 * DAY,
            opens: 0,
            closes: 5 * DAY,
            state: "launched",
            days_left: 0,
            later: &[(10 * DAY, "launched", 0), (40 * DAY, "launched", 0)],
        },
        Change {
            label: "launched early while scheduled",
            launch_in: 45 * DAY,
            acts_after: 2 * DAY,
            act: Act::LaunchNow,
            planned: 45 * DAY,
            opens: 2 * DAY,
            closes: 2 * DAY,
            state: "launched",
            days_left: 0,
            later: &[(15 * DAY, "launched", 0), (45 * DAY, "launched", 0)],
        },
        Change {
            label: "withdrawn while in review",
            launch_in: 20 * DAY,
            acts_after: 5 * DAY,
            act: Act::Withdraw(Some("model cancelled")),
            planned: 20 * DAY,
            opens: 0,
            closes: 5 * DAY,
            state: "withdrawn",
            days_left: 0,
            later: &[(20 * DAY, "withdrawn", 0), (60 * DAY, "withdrawn", 0)],
        },
        Change {
            label: "withdrawn while scheduled",
            launch_in: 45 * DAY,
            acts_after: 2 * DAY,
            act: Act::Withdraw(None),
            planned: 45 * DAY,
            opens: 2 * DAY,
            closes: 2 * DAY,
            state: "withdrawn",
            days_left: 0,
            later: &[(15 * DAY, "withdrawn", 0), (45 * DAY, "withdrawn", 0)],
        },
    ];
    for case in cases {
        let t = spawn_app().await;
        let w = World::new(&t).await;
        let filed = t.clock_now();
        let notice = t
            .file_notice_at(&w.dev_admin, after(filed, case.launch_in), &[w.agency])
            .await;
        let id = id_of(&notice);
        t.clock.set(after(filed, case.acts_after));
        let changed = act(&t, &w.dev_member, id, case.act, filed).await;
        assert_eq!(changed.status, StatusCode::OK, "{}: {}", case.label, changed.body);
        let label = case.label;
        check_window(
            &changed.body,
            filed,
            case.opens,
            case.closes,
            case.state,
            case.days_left,
            label,
        );
        assert_eq!(
            time_of(&changed.body, "planned_launch_at"),
            Some(after(filed, case.planned)),
            "{label}: planned_launch_at"
        );
        let acted_at = Some(after(filed, case.acts_after));
        let (launched_at, withdrawn_at, reason) = match case.act {
            Act::Move(..) => (None, None, None),
            Act::LaunchNow => (acted_at, None, None),
            Act::Withdraw(reason) => (None, acted_at, reason),
        };
        assert_eq!(time_of(&changed.body, "launched_at"), launched_at, "{label}");
        assert_eq!(time_of(&changed.body, "withdrawn_at"), withdrawn_at, "{label}");
        assert_eq!(changed.body["withdraw_reason"], json!(reason), "{label}");
        let read = t.get(&w.dev_admin, &notice_path(id)).await;
        assert_eq!(read.ok(), &changed.body, "{label}: read back as changed");
        check_at(
            &t,
            &w,
            id,
            filed,
            (case.acts_after, case.state, case.days_left),
            label,
        )
        .await;
        for point in case.later {
            check_at(&t, &w, id, filed, *point, label).await;
        }
    }
}

#[tokio::test]
async fn a_planned_launch_in_the_past_is_refused_when_filing_and_when_moving() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let open = id_of(&t.file_notice(&w.dev_admin, 20, &[w.agency]).await);
    t.clock.advance(Duration::days(3));
    let before = t.get(&w.dev_admin, &notice_path(open)).await.body;
    let counts = t.db_counts().await;
    // (what, seconds from now)
    let cases = [
        ("file", -DAY),
        ("file", -SECOND),
        ("file", 0),
        ("move", -10 * DAY),
        ("move", -SECOND),
        ("move", 0),
    ];
    for (what, offset) in cases {
        let at = after(t.clock_now(), offset).to_rfc3339();
        let reply = match what {
            "file" => {
                let body = json!({
                    "model_name": "Orion", "model_version": "2", "planned_launch_at": at,
                    "shared_with": [w.agency],
                });
                t.post(&w.dev_admin, "/api/v1/notices", body).await
            }
            _ => {
                let path = format!("{}/launch", notice_path(open));
                t.put(&w.dev_admin, &path, json!({ "planned_launch_at": at }))
                    .await
            }
        };
        let problem = reply.problem(422, "invalid-field");
        assert_eq!(problem["field"], "planned_launch_at", "{what} at now{offset:+}s");
        assert!(
            problem["detail"].as_str().unwrap().contains("future"),
            "{problem}"
        );
        assert_eq!(
            t.db_counts().await,
            counts,
            "{what} at now{offset:+}s changed the database"
        );
    }
    let after_all = t.get(&w.dev_admin, &notice_path(open)).await;
    assert_eq!(
        after_all.body, before,
        "the refused moves left the notice as it was"
    );
}

#[tokio::test]
async fn a_launched_or_withdrawn_notice_can_no_longer_be_moved_launched_or_withdrawn() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // (how the notice closed, the action then tried)
    let closings = ["launched early", "launched on its date", "withdrawn"];
    let acts = [
        ("move", Act::Move(90 * DAY, None)),
        ("launch", Act::LaunchNow),
        ("withdraw", Act::Withdraw(Some("too late"))),
    ];
    for closing in closings {
        for (name, action) in acts {
            let filed = t.clock_now();
            let id = id_of(&t.file_notice(&w.dev_admin, 10, &[w.agency]).await);
            t.clock.advance(Duration::days(1));
            match closing {
                "launched early" => act(&t, &w.dev_admin, id, Act::LaunchNow, filed).await,
                "withdrawn" => act(&t, &w.dev_admin, id, Act::Withdraw(None), filed).await,
                _ => {
                    t.clock.advance(Duration::days(9));
                    t.get(&w.dev_admin, &notice_path(id)).await
                }
            }
            .ok();
            let before = t.get(&w.dev_admin, &notice_path(id)).await.body;
            let counts = t.db_counts().await;
            let reply = act(&t, &w.dev_admin, id, action, filed).await;
            let problem = reply.problem(409, "conflict");
            assert!(problem.get("field").is_none(), "{closing}, {name}: {problem}");
            assert_eq!(t.db_counts().await, counts, "{closing}, {name}");
            let now = t.get(&w.dev_admin, &notice_path(id)).await.body;
            assert_eq!(now, before, "{closing}, {name}: the notice is unchanged");
        }
    }
}

#[tokio::test]
async fn the_history_lists_every_date_change_in_order_with_its_reason() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let t0 = t.clock_now();
    let id = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.clock.set(after(t0, DAY));
    act(
        &t,
        &w.dev_admin,
        id,
        Act::Move(50 * DAY, Some("partner delay")),
        t0,
    )
    .await
    .ok();
    t.clock.set(after(t0, 2 * DAY));
    act(&t, &w.dev_member, id, Act::Move(35 * DAY, None), t0)
        .await
        .ok();
    t.clock.set(after(t0, 3 * DAY));
    act(&t, &w.dev_admin, id, Act::LaunchNow, t0).await.ok();

    let other = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.clock.set(after(t0, 4 * DAY));
    act(&t, &w.dev_member, other, Act::Withdraw(Some("model retired")), t0)
        .await
        .ok();

    let at = |s: i64| after(t0, s);
    let none = None::<&str>;
    // Per notice: (kind, previous launch, new launch, reason, changed by, changed at).
    let expected = [
        (
            id,
            vec![
                ("filed", None, at(40 * DAY), none, &w.dev_admin, at(0)),
                (
                    "moved",
                    Some(at(40 * DAY)),
                    at(50 * DAY),
                    Some("partner delay"),
                    &w.dev_admin,
                    at(DAY),
                ),
                (
                    "moved",
                    Some(at(50 * DAY)),
                    at(35 * DAY),
                    none,
                    &w.dev_member,
                    at(2 * DAY),
                ),
                (
                    "launched",
                    Some(at(35 * DAY)),
                    at(3 * DAY),
                    none,
                    &w.dev_admin,
                    at(3 * DAY),
                ),
            ],
        ),
        (
            other,
            vec![
                ("filed", None, at(43 * DAY), none, &w.dev_admin, at(3 * DAY)),
                (
                    "withdrawn",
                    Some(at(43 * DAY)),
                    at(43 * DAY),
                    Some("model retired"),
                    &w.dev_member,
                    at(4 * DAY),
                ),
            ],
        ),
    ];
    for (notice, rows) in expected {
        // The developer and the agency it is shared with read the same history.
        for reader in [&w.dev_admin, &w.evaluator] {
            let history = t.get(reader, &format!("{}/history", notice_path(notice))).await;
            let items = history.ok()["items"].as_array().unwrap().clone();
            assert_eq!(items.len(), rows.len(), "{}", history.body);
            for (item, (kind, previous, new, reason, by, when)) in items.iter().zip(&rows) {
                let context = format!("{kind} read by {}: {item}", reader.name);
                assert_eq!(item["kind"], *kind, "{context}");
                assert_eq!(time_of(item, "previous_launch_at"), *previous, "{context}");
                assert_eq!(time_of(item, "new_launch_at"), Some(*new), "{context}");
                assert_eq!(item["reason"], json!(reason), "{context}");
                assert_eq!(item["changed_by"], json!(by.user_id), "{context}");
                assert_eq!(time_of(item, "changed_at"), Some(*when), "{context}");
            }
        }
    }
}

#[tokio::test]
async fn a_window_days_change_applies_to_notices_filed_after_it_and_is_recorded_on_each() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let t0 = t.clock_now();
    let policy = t.get(&w.dev_admin, "/api/v1/policy").await;
    assert_eq!(policy.ok()["window_days"], 30);
    let old = t.file_notice(&w.dev_admin, 100, &[w.agency]).await;
    assert_eq!(old["window_days"], 30);
    assert_eq!(time_of(&old, "window_opens_at"), Some(after(t0, 70 * DAY)));

    let set = t
        .put(&w.program_admin, "/api/v1/policy", json!({"window_days": 90}))
        .await;
    assert_eq!(set.ok()["window_days"], 90);
    let policy = t.get(&w.evaluator, "/api/v1/policy").await;
    assert_eq!(policy.ok()["window_days"], 90);

    let new = t.file_notice(&w.dev_admin, 100, &[w.agency]).await;
    assert_eq!(new["window_days"], 90);
    assert_eq!(time_of(&new, "window_opens_at"), Some(after(t0, 10 * DAY)));
    assert_eq!(new["state"], "scheduled");

    // The earlier notice keeps the policy it was filed under, also when its launch moves.
    let old_id = id_of(&old);
    let reread = t.get(&w.dev_admin, &notice_path(old_id)).await;
    assert_eq!(reread.ok()["window_days"], 30);
    assert_eq!(
        time_of(&reread.body, "window_opens_at"),
        Some(after(t0, 70 * DAY))
    );
    let moved = act(&t, &w.dev_admin, old_id, Act::Move(120 * DAY, None), t0).await;
    assert_eq!(moved.ok()["window_days"], 30);
    assert_eq!(time_of(&moved.body, "window_opens_at"), Some(after(t0, 90 * DAY)));
    // And the later one keeps 90 after a move.
    let new_id = id_of(&new);
    let moved = act(&t, &w.dev_admin, new_id, Act::Move(120 * DAY, None), t0).await;
    assert_eq!(moved.ok()["window_days"], 90);
    assert_eq!(time_of(&moved.body, "window_opens_at"), Some(after(t0, 30 * DAY)));

    // A shorter policy later: a notice filed under it gets that one.
    t.put(&w.program_admin, "/api/v1/policy", json!({"window_days": 14}))
        .await
        .ok();
    let short = t.file_notice(&w.dev_admin, 100, &[w.agency]).await;
    assert_eq!(short["window_days"], 14);
    assert_eq!(time_of(&short, "window_opens_at"), Some(after(t0, 86 * DAY)));
    let windows: Vec<(Uuid, i64)> = t.get(&w.dev_admin, "/api/v1/notices").await.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (id_of(n), n["window_days"].as_i64().unwrap()))
        .collect();
    for (id, days) in [(old_id, 30), (new_id, 90), (id_of(&short), 14)] {
        assert!(windows.contains(&(id, days)), "{windows:?}");
    }
}

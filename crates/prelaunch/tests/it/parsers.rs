//! What the outside world sends to the parsers behind the routes, at their edges: tile paths naming indexes
//! no tree reaches, times beyond four-digit years, cursors that no list handed out. The parsers' own property
//! tests (`ledger::tile`, `app::program`, `app::page`, `review::markdown`) cover the rest of their inputs;
//! these check the answer a caller gets.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn tile_paths_beyond_any_tree_are_not_found() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    t.post(&w.program_admin, "/api/v1/ledger/checkpoints", json!({}))
        .await
        .ok();
    let absent = t.call(Method::GET, "/ledger/tile/0/x001/000", None, None).await;
    absent.problem(404, "not-found");
    // The last index: its first hash's position does not fit in 64 bits.
    let last = "x018/x446/x744/x073/x709/x551/615";
    for path in [
        format!("/ledger/tile/0/{last}"),
        format!("/ledger/tile/0/{last}.p/1"),
        format!("/ledger/tile/7/{last}"),
        format!("/ledger/tile/entries/{last}.p/255"),
        "/ledger/tile/0/x072/x057/x594/x037/x927/936".to_owned(),
    ] {
        let reply = t.call(Method::GET, &path, None, None).await;
        reply.problem(404, "not-found");
        assert_eq!(reply.body, absent.body, "{path}");
    }
}

#[tokio::test]
async fn launch_times_beyond_four_digit_years_are_refused_naming_the_field() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let before = t.db_counts().await;
    for launch in [
        // Year 10000 in UTC, though 9999 where it was written.
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:30:00-01:00",
        "+10000-01-01T00:00",
        "99999-01-01T00:00:00Z",
        "2027-13-01T00:00:00Z",
        "tomorrow",
    ] {
        let filed = t
            .post(
                &w.dev_admin,
                "/api/v1/notices",
                json!({"model_name": "Vega", "model_version": "1", "planned_launch_at": launch,
                       "shared_with_all": true}),
            )
            .await;
        let problem = filed.problem(422, "invalid-field");
        assert_eq!(problem["field"], "planned_launch_at", "{launch}");
        let moved = t
            .put(
                &w.dev_admin,
                &format!("/api/v1/notices/{notice}/launch"),
                json!({"planned_launch_at": launch, "reason": "later"}),
            )
            .await;
        let problem = moved.problem(422, "invalid-field");
        assert_eq!(problem["field"], "planned_launch_at", "{launch}");
    }
    assert_eq!(t.db_counts().await, before, "nothing was written");
}

#[tokio::test]
async fn cursors_no_list_handed_out_are_refused_naming_the_field() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    // Each list read by someone who may read it: the audit trail by the program admin, the rest by the developer.
    let (admin, dev) = (&w.program_admin, &w.dev_admin);
    let lists = [
        (dev, "/api/v1/notices".to_owned()),
        (dev, "/api/v1/organizations".to_owned()),
        (dev, "/api/v1/tokens".to_owned()),
        (admin, "/api/v1/audit".to_owned()),
        (dev, format!("/api/v1/notices/{notice}/history")),
        (dev, format!("/api/v1/notices/{notice}/findings")),
    ];
    let long = "A".repeat(401);
    let cursors = [
        "not a cursor",
        "%00",
        "fHw",                                 // "||"
        "MjAyNy0wMS0wMVQwMDowMDowMCswMDowMHw", // a time and no id
        "_-_-",
        &long,
    ];
    for (who, list) in &lists {
        for cursor in cursors {
            let path = format!("{list}?cursor={}", urlencode(cursor));
            let reply = t.get(who, &path).await;
            let problem = reply.problem(422, "invalid-field");
            assert_eq!(problem["field"], "cursor", "{path}");
        }
    }
}

/// Percent-encodes every byte but unreserved ones.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

//! What the outside world sends to the parsers behind the routes, at their edges: tile paths naming indexes
//! no tree reaches, cursors that no list handed out (times are in `launch_dates`). The parsers' own property
//! tests (`ledger::tile`, `app::page`, `review::dates`, `review::markdown`) cover the rest of their inputs;
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

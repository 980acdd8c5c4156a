//! Weaknesses of the review program's reads, each fixed with a case here: a notice list paged while windows
//! open and close keeps every notice exactly once; the audit export names each event's person.

use crate::support::*;
use crate::web::{Member, Web};
use chrono::Duration;
use uuid::Uuid;

/// The ids of a notice list's page and its next cursor.
async fn notice_page(
    t: &TestApp,
    who: &Persona,
    limit: usize,
    cursor: Option<&str>,
) -> (Vec<Uuid>, Option<String>) {
    let path = match cursor {
        Some(c) => format!("/api/v1/notices?limit={limit}&cursor={c}"),
        None => format!("/api/v1/notices?limit={limit}"),
    };
    let reply = t.get(who, &path).await;
    let ids = reply.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    (ids, reply.body["next_cursor"].as_str().map(str::to_owned))
}

/// Notices change group as time passes (a scheduled window opens, an open one closes). A reader paging the list
/// while that happens sees every notice once: the groups are decided at the instant of the first page. Before,
/// each page decided them at its own now, so a notice already listed came again in its new group and one that
/// moved to a group already passed was never listed.
#[tokio::test]
async fn notice_pages_keep_each_notice_once_while_windows_open_and_close() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Windows of 30 days: `a` is open and closes in 10 days; `b` and `c` open in 10 and 20 days.
    let a = id_of(&t.file_notice(&w.dev_admin, 10, &[w.agency]).await);
    let b = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let c = id_of(&t.file_notice(&w.dev_admin, 50, &[w.agency]).await);

    let (first, cursor) = notice_page(&t, &w.dev_admin, 2, None).await;
    assert_eq!(first, vec![a, b], "open windows first, then upcoming ones");
    let cursor = cursor.expect("a further page");

    // `a`'s window closes (it launches) and `b`'s and `c`'s open.
    t.clock.advance(Duration::days(25));
    let mut rest = Vec::new();
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let (ids, next) = notice_page(&t, &w.dev_admin, 2, Some(&c)).await;
        rest.extend(ids);
        cursor = next;
    }
    assert_eq!(rest, vec![c], "the rest of the list as the first page saw it");

    // A new listing decides the groups at the new now.
    let (fresh, _) = notice_page(&t, &w.dev_admin, 10, None).await;
    assert_eq!(fresh, vec![b, c, a]);
}

/// The audit export reads its events a page (200) at a time and names each event's person; the people of a page
/// are read in one batch. Across pages, each row still names the person who acted.
#[tokio::test]
async fn audit_export_names_each_events_person_across_pages() {
    let t = spawn_app().await;
    let w = crate::accessibility::world(&t).await;
    let people = [&w.dev_admin, &w.other_dev, &w.dev_member];
    for _ in 0..70 {
        for who in people {
            t.file_notice(who, 40, &[w.agency]).await;
        }
    }
    let admin = Web::sign_in(
        &t,
        &Member {
            email: w.program_admin.email.clone(),
        },
    )
    .await;
    let csv = admin.get("/audit.csv?action=notice.file").await;
    csv.assert(200);
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).skip(1).collect();
    assert_eq!(lines.len(), 210, "{}", csv.body);
    for who in people {
        let cell = format!(",\"{}\",", who.email);
        let rows = lines.iter().filter(|l| l.contains(&cell)).count();
        assert_eq!(rows, 70, "{}'s filings", who.email);
    }
}

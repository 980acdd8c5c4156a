//! The clearinghouse's metrics page over real HTTP without script: the same numbers as the API, for the same
//! readers, with nothing yet, on a known set, with a huge count and per vendor; its charts bounded whatever the
//! data.

use crate::cases::{Report, file_report, open_case, transition};
use crate::reports::uuid_sql;
use crate::support::*;
use crate::web::{Web, assert_accessible, signed_in};
use crate::web_clearinghouse_settings::{api, attrs};
use chrono::Duration;
use serde_json::Value;
use uuid::Uuid;

/// The SVG charts on a page: each `<svg class="chart …">…</svg>`.
fn charts(html: &str) -> Vec<&str> {
    html.match_indices("<svg class=\"chart")
        .map(|(at, _)| {
            let rest = &html[at..];
            &rest[..rest.find("</svg>").unwrap()]
        })
        .collect()
}

/// Every chart has the fixed canvas and at most one bar, one name and one value per stage.
fn assert_bounded(html: &str) {
    let found = charts(html);
    assert!(!found.is_empty(), "no chart:\n{html}");
    for svg in found {
        assert!(
            svg.contains("width=\"360\" height=\"180\" viewBox=\"0 0 360 180\""),
            "{svg}"
        );
        assert!(svg.matches("<rect").count() <= 6, "{svg}");
        assert_eq!(svg.matches("<text").count(), 12, "{svg}");
        assert_eq!(svg.matches("<line").count(), 1, "{svg}");
        for width in attrs(svg, "width", "") {
            assert!(width.parse::<f64>().unwrap() <= 360.0, "{svg}");
        }
    }
}

/// A table row's cells after its heading: `<th scope="row">Received</th><td>4</td><td>100%</td>`.
fn row<'a>(html: &'a str, table: &str, name: &str) -> Vec<&'a str> {
    let table_at = html.find(&format!("id=\"{table}\"")).unwrap();
    let rest = &html[table_at..];
    let at = rest
        .find(&format!("<th scope=\"row\">{name}</th>"))
        .unwrap_or_else(|| panic!("no row {name} in {table}"));
    let rest = &rest[at..rest[at..].find("</tr>").unwrap() + at];
    rest.split("<td>")
        .skip(1)
        .map(|c| &c[..c.find("</td>").unwrap()])
        .collect()
}

const STAGES: [(&str, &str); 6] = [
    ("Received", "received"),
    ("Unique", "unique"),
    ("Confirmed", "confirmed"),
    ("Vendors notified", "vendors_notified"),
    ("Fixed", "fixed"),
    ("Published", "published"),
];

fn grouped(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The page's table for `table` shows the API's funnel exactly.
fn assert_same_numbers(html: &str, table: &str, funnel: &Value) {
    for (name, key) in STAGES {
        let cells = row(html, table, name);
        assert_eq!(cells[0], grouped(funnel[key].as_i64().unwrap()), "{table} {name}");
    }
}

#[tokio::test]
async fn the_metrics_page_with_nothing_yet_and_for_whom() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let desk = signed_in(
        &t,
        "Clearinghouse",
        "desk@clearinghouse.example",
        "member",
        "Cora",
    )
    .await;
    let page = desk.get("/clearinghouse/metrics").await;
    page.assert(200);
    assert_accessible("/clearinghouse/metrics", &page.body);
    assert!(
        page.body
            .contains("href=\"/clearinghouse/metrics\" aria-current=\"page\"")
    );
    assert!(page.body.contains("id=\"program-empty\""));
    assert!(page.body.contains("id=\"no-vendors\""));
    assert!(page.body.contains("No reports received yet"));
    assert_bounded(&page.body);
    let svg = charts(&page.body)[0];
    assert_eq!(svg.matches("<rect").count(), 0, "zeros draw no bars");
    for (name, _) in STAGES {
        assert_eq!(row(&page.body, "program-table", name), ["0", "—"], "{name}");
    }
    let api_program = t.get(&w.coordinator, "/api/v1/clearinghouse/metrics").await.ok()["program"].clone();
    assert_same_numbers(&page.body, "program-table", &api_program);
    assert!(!page.body.contains("received_to_triaged") && !page.body.contains("vendors_notified"));

    // Who may see it is what the API decides: coordinators and program administrators.
    let admin = Web::sign_in(
        &t,
        &crate::web::member(&t, "Clearinghouse", "chief@clearinghouse.example", "admin", "Chi").await,
    )
    .await;
    admin.get("/clearinghouse/metrics").await.assert(200);
    for (org, email, role) in [
        ("Router Vendor", "lead@vendor.example", "admin"),
        ("Grid Operator", "lead@grid.example", "admin"),
        ("Frontier Lab", "boss@lab.example", "admin"),
        ("Cyber Evaluation Agency", "ev@agency.example", "member"),
    ] {
        let web = signed_in(&t, org, email, role, "Someone").await;
        web.get("/clearinghouse/metrics").await.assert(403);
        assert_eq!(api(&web, "/api/v1/clearinghouse/metrics").await.0, 403);
        assert!(
            !web.get("/")
                .await
                .body
                .contains("href=\"/clearinghouse/metrics\"")
        );
    }
    let public = Web::new(&t).get("/clearinghouse/metrics").await;
    assert_eq!((public.status.as_u16(), public.location()), (303, "/login"));
    desk.get("/clearinghouse/metrics?vendor=acme").await.assert(400);
}

#[tokio::test]
async fn the_metrics_page_shows_the_apis_numbers_per_program_and_per_vendor() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let start = t.clock_now();
    // The known set of the API's test: case A with two reports (one a duplicate, found by AI) triaged after
    // a day, vendors notified after 3, fixed after 10, published after 12; case B triaged after 2 days.
    let a = open_case(&t, &w.coordinator, "clear", &[w.vendor.org_id]).await;
    let first = file_report(&t, &Report::new(a, &w.dev_admin, start)).await;
    let mut dup = Report::new(a, &w.other_dev, start);
    dup.ai_found = true;
    dup.duplicate_of = Some(first);
    file_report(&t, &dup).await;
    let b = open_case(&t, &w.coordinator, "clear", &[]).await;
    file_report(&t, &Report::new(b, &w.dev_admin, start)).await;
    let at = |days: i64| start + Duration::days(days);
    for (day, case, to) in [
        (1, a, "triaged"),
        (2, b, "triaged"),
        (3, a, "vendors_notified"),
        (10, a, "fixed"),
        (12, a, "published"),
    ] {
        t.clock.set(at(day));
        transition(&t, &w.coordinator, case, to).await.ok();
    }
    let desk = signed_in(
        &t,
        "Clearinghouse",
        "desk@clearinghouse.example",
        "member",
        "Cora",
    )
    .await;
    let page = desk.get("/clearinghouse/metrics").await;
    page.assert(200);
    assert_accessible("/clearinghouse/metrics", &page.body);
    assert_bounded(&page.body);
    let api_metrics = t
        .get(&w.coordinator, "/api/v1/clearinghouse/metrics")
        .await
        .ok()
        .clone();
    assert_same_numbers(&page.body, "program-table", &api_metrics["program"]);
    assert_eq!(row(&page.body, "program-table", "Unique"), ["2", "67%"]);
    for shown in [
        "<dt>Received to triaged</dt><dd>36 hours</dd>",
        "<dt>Vendors notified to fixed</dt><dd>7 days</dd>",
        "<dt>Received to published</dt><dd>12 days</dd>",
        "33% (1 of 3 reports)",
    ] {
        assert!(page.body.contains(shown), "{shown} missing:\n{}", page.body);
    }
    // Bars as long as their values: received (3) spans the plot, published (1) a third of it.
    let svg = charts(&page.body)[0];
    let widths: Vec<f64> = attrs(svg, "width", "")
        .iter()
        .skip(1)
        .map(|w| w.parse().unwrap())
        .collect();
    assert_eq!(widths.len(), 6, "{svg}");
    assert!(
        (widths[0] - 204.0).abs() < 0.1 && (widths[5] - 68.0).abs() < 0.1,
        "{widths:?}"
    );
    // The vendor list, and one vendor's funnel beside the program's.
    assert!(page.body.contains(&format!(
        "<option value=\"{}\">Router Vendor</option>",
        w.vendor.org_id
    )));
    let path = format!("/clearinghouse/metrics?vendor={}", w.vendor.org_id);
    assert!(page.body.contains(&format!("href=\"{path}\">Router Vendor</a>")));
    let vendor_row = format!("<a href=\"{path}\">Router Vendor</a>");
    assert_eq!(row(&page.body, "vendors", &vendor_row), ["1", "1", "0", "1"]);
    let one = desk.get(&path).await;
    one.assert(200);
    assert_accessible(&path, &one.body);
    assert!(one.body.contains(&format!(
        "<option value=\"{}\" selected>Router Vendor</option>",
        w.vendor.org_id
    )));
    assert!(one.body.contains("id=\"vendor-title\">Router Vendor</h2>"));
    assert_eq!(charts(&one.body).len(), 2);
    assert_bounded(&one.body);
    let api_vendor = t
        .get(
            &w.coordinator,
            &format!("/api/v1/clearinghouse/metrics?vendor={}", w.vendor.org_id),
        )
        .await
        .ok()["vendor"]
        .clone();
    assert_same_numbers(&one.body, "vendor-table", &api_vendor);
    assert_eq!(row(&one.body, "vendor-table", "Received"), ["2", "100%"]);
    // A vendor with no cases: zeros, sensibly.
    let none = desk
        .get(&format!("/clearinghouse/metrics?vendor={}", Uuid::now_v7()))
        .await;
    none.assert(200);
    assert!(none.body.contains("id=\"vendor-empty\""));
    assert_bounded(&none.body);
}

#[tokio::test]
async fn a_huge_count_keeps_the_chart_bounded() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let case = open_case(&t, &w.coordinator, "clear", &[w.vendor.org_id]).await;
    let seed = file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    // 150,000 copies of the seed, each a duplicate of it and found by AI, written in one statement.
    const COPIES: i64 = 150_000;
    let id = match backend() {
        Backend::Sqlite => "randomblob(16)",
        Backend::Postgres => "gen_random_uuid()",
    };
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {COPIES}) \
         INSERT INTO reports (id, kind, case_id, title, description, tlp, org_id, reporter_id, finder_kind, \
         finder_name, ai_found, cwe, cvss_v3, cvss_v3_score, severity, duplicate_of, created_at, modified_at, \
         version) SELECT {id}, r.kind, r.case_id, r.title, r.description, r.tlp, r.org_id, r.reporter_id, \
         r.finder_kind, r.finder_name, TRUE, r.cwe, r.cvss_v3, r.cvss_v3_score, r.severity, r.id, r.created_at, \
         r.modified_at, r.version FROM n, reports r WHERE r.id = {}",
        uuid_sql(seed)
    );
    execute(&t, &sql).await;
    transition(&t, &w.coordinator, case, "triaged").await.ok();

    let desk = signed_in(
        &t,
        "Clearinghouse",
        "desk@clearinghouse.example",
        "member",
        "Cora",
    )
    .await;
    let page = desk.get("/clearinghouse/metrics").await;
    page.assert(200);
    assert_bounded(&page.body);
    let api_program = t.get(&w.coordinator, "/api/v1/clearinghouse/metrics").await.ok()["program"].clone();
    assert_eq!(api_program["received"], COPIES + 1);
    assert_same_numbers(&page.body, "program-table", &api_program);
    assert_eq!(row(&page.body, "program-table", "Received"), ["150,001", "100%"]);
    assert_eq!(row(&page.body, "program-table", "Unique"), ["1", "under 0.1%"]);
    assert!(
        page.body.contains("100% (150,000 of 150,001 reports)"),
        "{}",
        page.body
    );
    let svg = charts(&page.body)[0];
    assert!(svg.contains(">150k</text>"), "{svg}");
    // The tiny stages are still drawn, one unit wide at least, inside the canvas.
    assert_eq!(
        svg.matches("<rect").count(),
        3,
        "received, unique, confirmed: {svg}"
    );
    let path = format!("/clearinghouse/metrics?vendor={}", w.vendor.org_id);
    let one = desk.get(&path).await;
    one.assert(200);
    assert_eq!(charts(&one.body).len(), 2);
    assert_bounded(&one.body);
    assert_eq!(row(&one.body, "vendor-table", "Received"), ["150,001", "100%"]);
}

async fn execute(t: &TestApp, sql: &str) {
    use sqlx::Connection;
    match backend() {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&t.database_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&t.database_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

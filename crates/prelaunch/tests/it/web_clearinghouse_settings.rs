//! The clearinghouse's settings pages over real HTTP without script: an organisation's subscriptions (created,
//! listed and deleted by form with CSRF, errors on their field, refused as the API refuses), a vendor's
//! disclosure policy, and the report page's duplicate shown only within the reader's TLP, candidates only to
//! coordinators. The metrics page is `web_clearinghouse_metrics.rs`.

use crate::cases::transition;
use crate::support::*;
use crate::web::{Web, assert_accessible, signed_in};
use serde_json::{Value, json};
use uuid::Uuid;

/// The API's answer to a signed-in browser (the session cookie is a credential of the API too).
pub(crate) async fn api(web: &Web, path: &str) -> (u16, Value) {
    let page = web.get(path).await;
    (
        page.status.as_u16(),
        serde_json::from_str(&page.body).unwrap_or(Value::Null),
    )
}

/// Every value of `attr="…"` in `html` whose value starts with `prefix`.
pub(crate) fn attrs<'a>(html: &'a str, attr: &str, prefix: &str) -> Vec<&'a str> {
    let marker = format!("{attr}=\"{prefix}");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at + attr.len() + 2..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

#[tokio::test]
async fn an_admin_manages_subscriptions_from_the_form() {
    let t = spawn_app().await;
    World::new(&t).await;
    let admin = signed_in(&t, "Grid Operator", "lead@grid.example", "admin", "Olu").await;
    let page = admin.get("/subscriptions").await;
    page.assert(200);
    assert_accessible("/subscriptions", &page.body);
    assert!(
        page.body
            .contains("href=\"/subscriptions\" aria-current=\"page\"")
    );
    assert!(page.body.contains("id=\"no-subscriptions\""));
    for shown in [
        "Food and agriculture",
        "Defense industrial base",
        "High or above",
        "Any sector",
    ] {
        assert!(page.body.contains(shown), "{shown} missing");
    }
    assert!(!page.body.contains(">food_and_agriculture<"));

    let made = admin
        .submit(
            "/subscriptions",
            "/subscriptions",
            &[
                ("sector", "energy"),
                ("product_prefix", "pkg:npm/acme"),
                ("min_severity", "high"),
            ],
        )
        .await;
    made.assert(303);
    assert_eq!(made.location(), "/subscriptions?created=1");
    let page = admin.get(made.location()).await;
    for shown in [
        "Subscription added.",
        "<td>Energy</td>",
        "<code>pkg:npm/acme</code>",
        "High or above",
    ] {
        assert!(page.body.contains(shown), "{shown} missing:\n{}", page.body);
    }
    // The API lists the same subscription.
    let (status, listed) = api(&admin, "/api/v1/subscriptions").await;
    assert_eq!(status, 200);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            &items[0]["sector"],
            &items[0]["product_prefix"],
            &items[0]["min_severity"]
        ),
        (&json!("energy"), &json!("pkg:npm/acme"), &json!("high"))
    );
    let id = items[0]["id"].as_str().unwrap().to_owned();

    // A mistake is shown on its field, the values kept, nothing stored.
    // (field, sector, product prefix, minimum severity, a value the form keeps)
    let cases = [
        ("sector", "moon", "pkg:npm/acme", "", "pkg:npm/acme"),
        ("product_prefix", "", "npm:acme", "", "npm:acme"),
        (
            "product_prefix",
            "water",
            "https://acme.example",
            "low",
            "https://acme.example",
        ),
        ("min_severity", "", "pkg:npm/acme", "severe", "pkg:npm/acme"),
    ];
    for (field, sector, prefix, severity, kept) in cases {
        let page = admin
            .submit(
                "/subscriptions",
                "/subscriptions",
                &[
                    ("sector", sector),
                    ("product_prefix", prefix),
                    ("min_severity", severity),
                ],
            )
            .await;
        page.assert_form_error(field, kept);
        assert_accessible("/subscriptions", &page.body);
    }
    assert_eq!(
        api(&admin, "/api/v1/subscriptions").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Without the form's token, or with another, nothing happens.
    for csrf in [None, Some("plc_forged")] {
        let mut fields = vec![("sector", "water")];
        if let Some(token) = csrf {
            fields.push(("csrf", token));
        }
        admin.post("/subscriptions", &fields).await.assert(403);
        admin
            .post(&format!("/subscriptions/{id}/delete"), &fields)
            .await
            .assert(403);
    }
    assert_eq!(
        api(&admin, "/api/v1/subscriptions").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Another organisation's admin cannot remove it: it is not there for them.
    let other = signed_in(&t, "Frontier Lab", "boss@lab.example", "admin", "Bea").await;
    let csrf = other.get("/subscriptions").await.assert(200).csrf();
    other
        .post(&format!("/subscriptions/{id}/delete"), &[("csrf", &csrf)])
        .await
        .assert(404);

    // The delete button on the list removes it.
    let page = admin.get("/subscriptions").await;
    let actions = attrs(&page.body, "action", "/subscriptions/");
    assert_eq!(actions, [format!("/subscriptions/{id}/delete")]);
    let gone = admin.submit("/subscriptions", actions[0], &[]).await;
    gone.assert(303);
    assert_eq!(gone.location(), "/subscriptions?deleted=1");
    let page = admin.get(gone.location()).await;
    assert!(page.body.contains("Subscription removed."));
    assert!(page.body.contains("id=\"no-subscriptions\""));
    assert_eq!(api(&admin, "/api/v1/subscriptions").await.1["items"], json!([]));
}

#[tokio::test]
async fn those_the_api_refuses_subscriptions_are_refused_the_page() {
    let t = spawn_app().await;
    World::new(&t).await;
    // Members (not admins) of any kind of organisation: refused, as the API refuses them.
    for (org, email) in [
        ("Grid Operator", "night@grid.example"),
        ("Router Vendor", "analyst@vendor.example"),
        ("Frontier Lab", "dev@lab.example"),
    ] {
        let member = signed_in(&t, org, email, "member", "Mo").await;
        let page = member.get("/subscriptions").await;
        page.assert(403);
        assert!(
            page.body
                .contains("Only an organisation&#39;s admins manage its subscriptions"),
            "{}",
            page.body
        );
        assert_eq!(
            api(&member, "/api/v1/subscriptions").await.0,
            403,
            "{org} through the API"
        );
        let home = member.get("/").await;
        assert!(
            !home.body.contains("href=\"/subscriptions\""),
            "{org}: the menu offers it"
        );
        let csrf = home.csrf();
        member
            .post("/subscriptions", &[("csrf", &csrf), ("sector", "energy")])
            .await
            .assert(403);
    }
    assert_eq!(
        crate::reports::scalar(&t, "SELECT COUNT(*) FROM subscriptions").await,
        0
    );
    // Not signed in: off to the sign-in page.
    let public = Web::new(&t).get("/subscriptions").await;
    public.assert(303);
    assert_eq!(public.location(), "/login");
}

fn policy_form<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("embargo_days", "45"),
        ("ai_found_public", "true"),
        ("reports_per_day", "20"),
        ("products", "pkg:npm/acme\r\ncpe:2.3:a:acme\r\n"),
    ]
}

#[tokio::test]
async fn a_vendor_admin_sets_the_disclosure_policy_and_others_are_refused() {
    let t = spawn_app().await;
    World::new(&t).await;
    let admin = signed_in(&t, "Router Vendor", "lead@vendor.example", "admin", "Vic").await;
    let page = admin.get("/vendor-policy").await;
    page.assert(200);
    assert_accessible("/vendor-policy", &page.body);
    assert!(
        page.body
            .contains("href=\"/vendor-policy\" aria-current=\"page\"")
    );
    assert!(page.body.contains("Not set yet"));
    assert!(page.body.contains("default of 90 days"));

    let saved = admin
        .submit("/vendor-policy", "/vendor-policy", &policy_form())
        .await;
    saved.assert(303);
    assert_eq!(saved.location(), "/vendor-policy?saved=1");
    let page = admin.get(saved.location()).await;
    assert!(page.body.contains("Your disclosure policy is saved."));
    assert!(page.body.contains("Last changed"));
    assert_eq!(page.input_value("id=\"embargo_days\""), "45");
    assert_eq!(page.input_value("id=\"reports_per_day\""), "20");
    assert!(
        page.body
            .contains("name=\"ai_found_public\" value=\"true\" checked")
    );
    assert!(
        !page
            .body
            .contains("name=\"require_reproducer\" value=\"true\" checked")
    );
    assert!(page.body.contains("pkg:npm/acme\ncpe:2.3:a:acme"));
    let (status, stored) = api(&admin, "/api/v1/vendor-policy").await;
    assert_eq!(status, 200);
    let expected = json!({
        "embargo_days": 45, "ai_found_public": true, "require_reproducer": false, "reports_per_day": 20,
        "products": ["pkg:npm/acme", "cpe:2.3:a:acme"],
    });
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&stored[key], want, "{key}");
    }

    // Mistakes land on their field with the values kept; the stored policy is unchanged.
    // (field, value, the field the error is shown on, a value kept)
    let cases = [
        ("embargo_days", "0", "embargo_days", "20"),
        ("embargo_days", "400", "embargo_days", "400"),
        ("embargo_days", "soon", "embargo_days", "soon"),
        ("reports_per_day", "0", "reports_per_day", "45"),
        ("reports_per_day", "100001", "reports_per_day", "45"),
        ("products", "acme", "products", "45"),
    ];
    for (field, bad, shown_on, kept) in cases {
        let mut fields = policy_form();
        for pair in fields.iter_mut() {
            if pair.0 == field {
                pair.1 = bad;
            }
        }
        let page = admin.submit("/vendor-policy", "/vendor-policy", &fields).await;
        page.assert_form_error(shown_on, kept);
        assert_accessible("/vendor-policy", &page.body);
    }
    let (_, after) = api(&admin, "/api/v1/vendor-policy").await;
    assert_eq!(after, stored, "a refused form changed the policy");

    // Blank numbers are the defaults: the program's embargo, no limit.
    let cleared = admin
        .submit(
            "/vendor-policy",
            "/vendor-policy",
            &[
                ("embargo_days", ""),
                ("reports_per_day", ""),
                ("require_reproducer", "true"),
            ],
        )
        .await;
    cleared.assert(303);
    let (_, now) = api(&admin, "/api/v1/vendor-policy").await;
    assert_eq!(
        (
            &now["embargo_days"],
            &now["reports_per_day"],
            &now["require_reproducer"],
            &now["products"]
        ),
        (&Value::Null, &Value::Null, &json!(true), &json!([]))
    );

    // A member of the vendor may not read it through the API, so not here either; nor anyone of another
    // kind of organisation, admin or not.
    for (org, email, role) in [
        ("Router Vendor", "analyst@vendor.example", "member"),
        ("Grid Operator", "lead@grid.example", "admin"),
        ("Frontier Lab", "boss@lab.example", "admin"),
        ("Clearinghouse", "desk@clearinghouse.example", "member"),
    ] {
        let web = signed_in(&t, org, email, role, "Someone").await;
        let (status, _) = api(&web, "/api/v1/vendor-policy").await;
        assert_eq!(status, 403, "{org} {role} through the API");
        let page = web.get("/vendor-policy").await;
        page.assert(403);
        assert!(
            page.body
                .contains("Only the admins of a vendor organisation manage its disclosure policy")
        );
        let home = web.get("/").await;
        assert!(
            !home.body.contains("href=\"/vendor-policy\""),
            "{org} {role}: the menu offers it"
        );
        let csrf = home.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(policy_form());
        web.post("/vendor-policy", &fields).await.assert(403);
    }
    let (_, last) = api(&admin, "/api/v1/vendor-policy").await;
    assert_eq!(last, now);
    // Without the form's token nothing changes either.
    admin.post("/vendor-policy", &policy_form()).await.assert(403);
    assert_eq!(api(&admin, "/api/v1/vendor-policy").await.1, now);
}

const VECTOR: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

/// One report, unlike the others: (title, description, purl, CWE).
type Subject = (&'static str, &'static str, &'static str, &'static str);

const SUBJECTS: [Subject; 5] = [
    (
        "Heap overflow in the request parser",
        "A long header overflows a fixed buffer in the router's request parser.",
        "pkg:npm/acme/router@1.2.0",
        "CWE-787",
    ),
    (
        "Use after free in the session cache",
        "Evicting a session while a reply is pending frees memory the reply handler still reads.",
        "pkg:pypi/session-cache@2.0.0",
        "CWE-416",
    ),
    (
        "Integer overflow in the image decoder",
        "Multiplying width by height wraps around and the decoder allocates too small a pixel buffer.",
        "pkg:cargo/imgdec@0.9.0",
        "CWE-190",
    ),
    (
        "Path traversal in the archive extractor",
        "Entries named with dot-dot segments are written outside the destination directory on unpacking.",
        "pkg:maven/org.acme/unzip@3.1.0",
        "CWE-22",
    ),
    (
        "SQL injection in the search endpoint",
        "The sort parameter is pasted into the ORDER BY clause, so a crafted value runs arbitrary queries.",
        "pkg:golang/acme/search@1.4.0",
        "CWE-89",
    ),
];

/// The web form's report about `s`, marked `tlp`.
fn report_form(s: &Subject, tlp: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("title", s.0),
        ("description", s.1),
        ("tlp", tlp),
        ("product", s.2),
        ("versions", ">=1.0.0, <5.0.0"),
        ("cwe", s.3),
        ("cvss_v3", VECTOR),
        ("cvss_v4", ""),
        ("ai_found", "true"),
    ]
}

/// The same report through the API, as Frontier Lab's admin files it.
fn original(w: &World, s: &Subject, tlp: &str) -> Value {
    let mut body = json!({
        "kind": "vulnerability",
        "title": s.0,
        "description": s.1,
        "tlp": tlp,
        "affected": [{"purl": s.2, "versions": ">=1.0.0, <5.0.0"}],
        "cwe": s.3,
        "cvss_v3": VECTOR,
        "ai_found": true,
    });
    if tlp == "red" {
        body["people"] = json!([w.dev_admin.user_id]);
    }
    body
}

struct Filed {
    tlp: &'static str,
    title: &'static str,
    original: Uuid,
    duplicate: Uuid,
    case: Uuid,
    reference: String,
}

#[tokio::test]
async fn a_duplicate_shows_its_original_only_within_the_readers_tlp() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let finder = signed_in(&t, "Other Lab", "finder@other.example", "member", "Fin").await;
    let desk = signed_in(
        &t,
        "Clearinghouse",
        "desk@clearinghouse.example",
        "member",
        "Cora",
    )
    .await;
    // (marking of the original, whether its case moved on to publication, the duplicate's finder reads the
    // original, a coordinator does). The duplicate's finder is of another organisation and joined the case
    // without being notified (notifying a case tells its vendors, not the finders of its duplicates), so reads
    // nothing of it under embargo; once published, the marking decides as for any member: CLEAR and GREEN
    // yes, AMBER only for named clients, AMBER+STRICT no.
    let rows = [
        ("clear", false, false, true),
        ("clear", true, true, true),
        ("green", false, false, true),
        ("green", true, true, true),
        ("amber", false, false, true),
        ("amber", true, false, true),
        ("amber+strict", false, false, true),
        ("amber+strict", true, false, true),
        // A RED case is read by its named people only, so no coordinator moves it: it stays under embargo.
        ("red", false, false, false),
        ("red", true, false, false),
    ];
    let mut filed = Vec::new();
    let markings = ["clear", "green", "amber", "amber+strict", "red"];
    for (tlp, subject) in markings.into_iter().zip(&SUBJECTS) {
        let x = t
            .post(&w.dev_admin, "/api/v1/reports", original(&w, subject, tlp))
            .await;
        let original: Uuid = x.ok()["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(x.body["joined"], false, "{tlp}: {}", x.body);
        let case: Uuid = x.body["case_id"].as_str().unwrap().parse().unwrap();
        let reference = x.body["case_reference"].as_str().unwrap().to_owned();
        let y = finder
            .submit("/reports/new", "/reports", &report_form(subject, "amber"))
            .await;
        y.assert(303);
        let duplicate: Uuid = y.location().strip_prefix("/reports/").unwrap().parse().unwrap();
        let (_, seen) = api(&desk, &format!("/api/v1/reports/{duplicate}")).await;
        assert_eq!(seen["duplicate"], true, "{tlp}: {seen}");
        assert_eq!(
            seen["case_id"],
            json!(case),
            "{tlp}: the duplicate joined the original's case"
        );
        filed.push(Filed {
            tlp,
            title: subject.0,
            original,
            duplicate,
            case,
            reference,
        });
    }
    for published in [false, true] {
        if published {
            for f in filed.iter().filter(|f| f.tlp != "red") {
                for to in ["triaged", "vendors_notified", "published"] {
                    transition(&t, &w.coordinator, f.case, to).await.ok();
                }
                let state = t.get(&w.coordinator, &format!("/api/v1/cases/{}", f.case)).await;
                assert_eq!(state.ok()["state"], "published", "{}", state.body);
            }
        }
        for f in &filed {
            let (x, y) = (f.original, f.duplicate);
            let (_, _, finder_reads, desk_reads) =
                rows.iter().find(|r| r.0 == f.tlp && r.1 == published).unwrap();
            for (who, web, reads, coordinator) in [
                ("finder", &finder, *finder_reads, false),
                ("coordinator", &desk, *desk_reads, true),
            ] {
                let case_label = format!("{}, published {published}, {who}", f.tlp);
                // The API: the original named only within the reader's TLP; candidates never in the answer.
                let (status, body) = api(web, &format!("/api/v1/reports/{y}")).await;
                assert_eq!(status, 200, "{case_label}");
                assert_eq!(body["duplicate"], true, "{case_label}");
                let expected = if reads { json!(x) } else { Value::Null };
                assert_eq!(body["duplicate_of"], expected, "{case_label}");
                assert!(
                    body.get("candidates").is_none() && body.get("duplicates").is_none(),
                    "{case_label}"
                );
                // The page: the original and its case only within the reader's TLP.
                let page = web.get(&format!("/reports/{y}")).await;
                page.assert(200);
                assert_accessible("/reports/{id}", &page.body);
                assert!(page.body.contains("Possible duplicate"), "{case_label}");
                if reads {
                    let link = format!("href=\"/reports/{x}\" id=\"duplicate-of\">{}</a>", f.title);
                    assert!(page.body.contains(&link), "{case_label}:\n{}", page.body);
                    let case = format!(
                        "href=\"/cases/{}\" id=\"duplicate-case\">{}</a>",
                        f.case, f.reference
                    );
                    assert!(page.body.contains(&case), "{case_label}:\n{}", page.body);
                } else {
                    assert!(
                        page.body.contains("an earlier report you cannot read"),
                        "{case_label}"
                    );
                    assert!(!page.body.contains("id=\"duplicate-of\""), "{case_label}");
                    assert!(
                        !page.body.contains(&x.to_string()),
                        "{case_label}: the original's id shown"
                    );
                }
                // Candidates with scores for coordinators only, and only those they may read.
                if coordinator {
                    let at = page
                        .body
                        .find("id=\"candidates\"")
                        .unwrap_or_else(|| panic!("{case_label}: no candidates:\n{}", page.body));
                    let section = &page.body[at..at + page.body[at..].find("</section>").unwrap()];
                    let listed = section.contains(&format!("href=\"/reports/{x}\">Report {x}</a>"));
                    assert_eq!(listed, reads, "{case_label}:\n{section}");
                    if listed {
                        assert!(section.contains("%</td>"), "{case_label}: no score:\n{section}");
                    }
                } else {
                    assert!(!page.body.contains("id=\"candidates\""), "{case_label}");
                    assert!(!page.body.contains("Candidate duplicates"), "{case_label}");
                }
            }
        }
    }
}

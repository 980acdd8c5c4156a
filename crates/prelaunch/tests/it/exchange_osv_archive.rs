//! The bounds on `/osv/all.zip`: the public archive is cached (byte-identical across requests) until a record
//! the public may read changes, and concurrent downloads each get a whole archive or the documented 503
//! (`/problems/unavailable` with `Retry-After`), never another failure nor a truncated archive.

use crate::exchange_osv::{SHAPES, Shape, publish, zip_entries};
use crate::support::*;
use reqwest::StatusCode;
use std::collections::BTreeSet;

async fn download(t: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = t.client.get(t.url("/osv/all.zip"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn public_zip(t: &TestApp) -> Vec<u8> {
    let response = download(t, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    response.bytes().await.unwrap().to_vec()
}

/// The entry count a zip's end-of-central-directory record gives, if the zip ends with one.
fn entry_count(zip: &[u8]) -> Option<u16> {
    let end = zip.len().checked_sub(22)?;
    let eocd = &zip[end..];
    (eocd[..4] == *b"PK\x05\x06").then(|| u16::from_le_bytes([eocd[10], eocd[11]]))
}

#[tokio::test]
async fn the_public_archive_is_cached_until_a_publication_and_concurrent_downloads_are_whole_or_503() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    publish(&t, &w, &SHAPES[0]).await;
    publish(
        &t,
        &w,
        &Shape {
            tlp: "green",
            ..SHAPES[2]
        },
    )
    .await;

    let first = public_zip(&t).await;
    assert_eq!(public_zip(&t).await, first, "served from the cache");
    assert_eq!(zip_entries(&first).await.len(), 1, "only the TLP:CLEAR record");
    // A signed-in reader gets their own archive, with the GREEN record too.
    let own = download(&t, Some(&w.coordinator.token)).await;
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.headers()["cache-control"], "private, no-store");
    assert_eq!(entry_count(&own.bytes().await.unwrap()), Some(2));

    // A new publication shows at once.
    publish(&t, &w, &SHAPES[1]).await;
    let second = public_zip(&t).await;
    assert_ne!(second, first);
    let names: BTreeSet<String> = zip_entries(&second).await.into_keys().collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(public_zip(&t).await, second);

    // Another publication, then many downloads at once, public and signed in.
    publish(&t, &w, &SHAPES[4]).await;
    let tokens = [
        None,
        Some(w.coordinator.token.as_str()),
        Some(w.vendor.token.as_str()),
    ];
    let answers = futures_util::future::join_all((0..12).map(|n| {
        let token = tokens[n % tokens.len()];
        let t = &t;
        async move {
            let response = download(t, token).await;
            let status = response.status();
            let retry_after = response.headers().get("retry-after").cloned();
            let kind = response.headers().get("content-type").cloned();
            (token, status, retry_after, kind, response.bytes().await.unwrap())
        }
    }))
    .await;
    let mut public = BTreeSet::new();
    for (token, status, retry_after, kind, body) in answers {
        match status {
            StatusCode::OK => {
                let count = entry_count(&body);
                let want = if token.is_some() { 4 } else { 3 };
                assert_eq!(count, Some(want), "a whole archive ({} bytes)", body.len());
                if token.is_none() {
                    public.insert(body.to_vec());
                }
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry_after.is_some(), "503 without Retry-After");
                assert_eq!(kind.unwrap(), "application/problem+json");
                let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(problem["type"], "/problems/unavailable", "{problem}");
                assert!(
                    problem["detail"].as_str().unwrap().contains("OSV archives"),
                    "{problem}"
                );
            }
            other => panic!("{other}: {}", String::from_utf8_lossy(&body)),
        }
    }
    assert!(public.len() <= 1, "every public download the same archive");
}

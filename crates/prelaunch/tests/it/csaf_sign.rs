//! The CSAF provider's OpenPGP signatures, checked with GnuPG (`gpg`, Debian's gnupg, installed by
//! scripts/test.sh): in a temporary GNUPGHOME it imports the public key the metadata names (whose fingerprint
//! must be the metadata's) and verifies a served document's detached signature byte for byte; a document
//! changed by one byte fails; the `.asc` files are read under the document's TLP rule.

use crate::csaf::{fetch, json_of, path_of, provider_path, publish, schema_errors, shapes};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A throw-away GnuPG home, removed when dropped.
struct GnuPg {
    home: PathBuf,
    /// The time gpg believes it is (the test clock's, which runs ahead of the machine's).
    now: i64,
}

impl GnuPg {
    fn new(now: i64) -> GnuPg {
        let home = std::env::temp_dir().join(format!("prelaunch-gpg-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&home).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        GnuPg { home, now }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--no-tty", "--status-fd", "1"])
            .args(["--faked-system-time", &format!("{}!", self.now)])
            .args(args)
            .output()
            .expect("gpg (Debian package gnupg) runs; scripts/test.sh installs it")
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.home.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// gpg's verdict on `data` against the detached `signature`: its status lines when it succeeds.
    fn verify(&self, signature: &[u8], data: &[u8]) -> Result<String, String> {
        let sig = self.file("doc.json.asc", signature);
        let doc = self.file("doc.json", data);
        let out = self.run(&["--verify", &sig, &doc]);
        let status = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(status)
        } else {
            Err(format!("{status}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

impl Drop for GnuPg {
    fn drop(&mut self) {
        // gpg-agent may still be running for this home; ask it to stop before removing the directory.
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .output();
        let _ = std::fs::remove_dir_all(Path::new(&self.home));
    }
}

#[tokio::test]
async fn served_csaf_documents_verify_with_gpg_under_the_published_key() {
    // The provider metadata's schema requires https URLs: the server says it is reached at one.
    let t = spawn_configured(&fresh_database_url().await, |c| {
        c.public_url = "https://clearinghouse.example".into();
    })
    .await;
    let w = World::new(&t).await;
    let shapes = shapes();
    let clear = publish(&t, &w, &shapes[0]).await;
    let amber = publish(&t, &w, &shapes[3]).await;
    let clear_path = provider_path(&t, &w, clear, "white").await;
    let amber_path = provider_path(&t, &w, amber, "amber").await;

    // The metadata names one key, by URL and fingerprint, and still passes its schema.
    let (status, metadata) = fetch(&t, None, "/.well-known/csaf/provider-metadata.json").await;
    assert_eq!(status, StatusCode::OK);
    let metadata = json_of(&metadata);
    assert_eq!(
        schema_errors("provider_json_schema.json", std::slice::from_ref(&metadata))[0],
        json!([])
    );
    let keys = metadata["public_openpgp_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{metadata:#}");
    let fingerprint = keys[0]["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint.len(), 40, "a v4 fingerprint: {fingerprint}");
    let key_url = keys[0]["url"].as_str().unwrap();
    assert_eq!(
        key_url,
        format!("https://clearinghouse.example/.well-known/csaf/openpgp/{fingerprint}.asc")
    );

    // The public key is public; gpg imports it and finds the metadata's fingerprint.
    let (status, public_key) = fetch(&t, None, &path_of(key_url)).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(public_key.clone()).unwrap();
    assert!(text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "{text}");
    assert!(!text.contains("PRIVATE"), "only the public key is published");
    let gpg = GnuPg::new(t.clock_now().timestamp() + 60);
    let key_file = gpg.file("provider.asc", &public_key);
    let imported = gpg.run(&["--import", &key_file]);
    assert!(
        imported.status.success(),
        "gpg --import: {}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let listed = gpg.run(&["--with-colons", "--fingerprint", "--list-keys"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    let fprs: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .map(|l| l.split(':').nth(9).unwrap())
        .collect();
    assert_eq!(fprs, [fingerprint.as_str()], "{listed}");
    // An unknown fingerprint, or another name, is no file.
    for path in [
        "/.well-known/csaf/openpgp/0000000000000000000000000000000000000000.asc".to_owned(),
        format!("/.well-known/csaf/openpgp/{fingerprint}.txt"),
    ] {
        assert_eq!(fetch(&t, None, &path).await.0, StatusCode::NOT_FOUND, "{path}");
    }

    // The CLEAR document's signature verifies, byte for byte, made by that key; fetched again it is the same.
    let (status, doc) = fetch(&t, None, &clear_path).await;
    assert_eq!(status, StatusCode::OK);
    let (status, signature) = fetch(&t, None, &format!("{clear_path}.asc")).await;
    assert_eq!(status, StatusCode::OK);
    let armoured = String::from_utf8(signature.clone()).unwrap();
    assert!(
        armoured.starts_with("-----BEGIN PGP SIGNATURE-----"),
        "{armoured}"
    );
    let verdict = gpg
        .verify(&signature, &doc)
        .unwrap_or_else(|e| panic!("gpg --verify: {e}"));
    assert!(
        verdict.contains(&format!("[GNUPG:] VALIDSIG {fingerprint} ")),
        "{verdict}"
    );
    assert_eq!(fetch(&t, None, &format!("{clear_path}.asc")).await.1, signature);

    // Tampered documents fail: one byte changed, one byte added, the other advisory's document.
    let mut changed = doc.clone();
    let at = changed.iter().position(|b| *b == b'e').unwrap();
    changed[at] = b'E';
    let mut longer = doc.clone();
    longer.push(b'\n');
    let (_, other) = fetch(&t, Some(&w.coordinator), &amber_path).await;
    for (what, data) in [("changed", changed), ("longer", longer), ("another", other)] {
        let verdict = gpg.verify(&signature, &data);
        let error = verdict.expect_err(what);
        assert!(error.contains("[GNUPG:] BADSIG"), "{what}: {error}");
    }

    // The signature of a TLP:AMBER document is read like the document: the entitled verify it, anyone else
    // gets the same 404 as for a document that does not exist.
    let readers: [(&str, Option<&Persona>, bool); 4] = [
        ("the public", None, false),
        ("a member outside the case", Some(&w.other_agency_admin), false),
        ("the case's vendor", Some(&w.vendor), true),
        ("the coordinator", Some(&w.coordinator), true),
    ];
    for (who, persona, entitled) in readers {
        let (status, signature) = fetch(&t, persona, &format!("{amber_path}.asc")).await;
        if !entitled {
            assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{who}");
        let (_, doc) = fetch(&t, persona, &amber_path).await;
        let verdict = gpg
            .verify(&signature, &doc)
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        assert!(verdict.contains(&fingerprint), "{who}: {verdict}");
    }

    // The feeds link each document's signature.
    let (_, feed) = fetch(&t, None, "/.well-known/csaf/white/csaf-feed-tlp-white.json").await;
    let feed = json_of(&feed);
    let links = &feed["feed"]["entry"][0]["link"];
    let signature_link = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "signature")
        .unwrap_or_else(|| panic!("{links:#}"));
    assert_eq!(
        path_of(signature_link["href"].as_str().unwrap()),
        format!("{clear_path}.asc")
    );
    assert_eq!(
        schema_errors("ROLIE_feed_json_schema.json", std::slice::from_ref(&feed))[0],
        json!([])
    );

    // A second server over the same database (another process) signs with the same stored key.
    let sibling = t.sibling().await;
    let (_, again) = fetch(&sibling, None, "/.well-known/csaf/provider-metadata.json").await;
    assert_eq!(
        json_of(&again)["public_openpgp_keys"][0]["fingerprint"],
        json!(fingerprint)
    );
}

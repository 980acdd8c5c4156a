//! `prelaunch ledger verify`: check a receipt offline, check a log's consistency with a saved checkpoint,
//! follow a log as a monitor, or recheck the stored ledger of a database.

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ledger::monitor::Monitor;
use ledger::receipt::Receipt;
use ledger::tile::{self, Tile};
use ledger::{Checkpoint, VerifierKey};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct VerifyArgs {
    /// A receipt (`.tlog-proof`) to check offline, with `--key`.
    #[arg(long)]
    receipt: Option<PathBuf>,
    /// The log's verifier key (`name+id+key`), or a file holding it.
    #[arg(long)]
    key: Option<String>,
    /// The service's base URL, for checking or following its log.
    #[arg(long)]
    url: Option<String>,
    /// A checkpoint saved earlier; with `--url`, checks that the log's latest is consistent with it.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// With `--url`: rebuild the tree from the published tiles and keep following it.
    #[arg(long)]
    follow: bool,
    /// With `--follow`: stop after one pass.
    #[arg(long)]
    once: bool,
    /// With `--follow`: seconds between passes.
    #[arg(long, default_value_t = 10)]
    interval: u64,
}

fn read_key(arg: Option<&str>) -> Result<VerifierKey> {
    let text =
        arg.ok_or_else(|| anyhow!("--key is required: the log's verifier key, as served at /ledger/key"))?;
    let text = match std::fs::read_to_string(text) {
        Ok(contents) => contents,
        Err(_) => text.to_owned(),
    };
    VerifierKey::parse(text.trim()).context("reading the verifier key")
}

struct Log {
    client: reqwest::Client,
    base: String,
}

impl Log {
    fn new(url: &str) -> Result<Log> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Log {
            client,
            base: url.trim_end_matches('/').to_owned(),
        })
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response> {
        let response = self
            .client
            .get(format!("{}/ledger/{path}", self.base))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("GET /ledger/{path}: {}", response.status());
        }
        Ok(response)
    }

    async fn text(&self, path: &str) -> Result<String> {
        Ok(self.get(path).await?.text().await?)
    }

    async fn bytes(&self, path: &str) -> Result<Vec<u8>> {
        Ok(self.get(path).await?.bytes().await?.to_vec())
    }
}

pub async fn verify(args: VerifyArgs) -> Result<()> {
    if let Some(path) = &args.receipt {
        let key = read_key(args.key.as_deref())?;
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let receipt = Receipt::parse(&text)?;
        let checkpoint = receipt
            .verify(&key)
            .map_err(|e| anyhow!("the receipt does not verify: {e}"))?;
        println!(
            "ok: entry {} is in the log {} of size {}",
            receipt.index, checkpoint.origin, checkpoint.size
        );
        println!("{}", String::from_utf8_lossy(&receipt.event));
        return Ok(());
    }
    let url = args
        .url
        .as_deref()
        .ok_or_else(|| anyhow!("give --receipt, or --url with --checkpoint or --follow"))?;
    let log = Log::new(url)?;
    let key = read_key(args.key.as_deref())?;
    if let Some(path) = &args.checkpoint {
        let saved_note =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let saved = Checkpoint::parse(key.verify(&saved_note)?)?;
        let latest = Checkpoint::parse(key.verify(&log.text("checkpoint").await?)?)?;
        if latest.size < saved.size || latest.origin != saved.origin {
            bail!(
                "ALARM: the log's latest checkpoint (size {}) cannot extend the saved one (size {})",
                latest.size,
                saved.size
            );
        }
        if saved.size > 0 {
            let proof: serde_json::Value = log
                .get(&format!(
                    "proof/consistency?old={}&new={}",
                    saved.size, latest.size
                ))
                .await?
                .json()
                .await?;
            let hashes = proof
                .get("proof")
                .and_then(|p| p.as_array())
                .ok_or_else(|| anyhow!("malformed consistency proof"))?
                .iter()
                .map(|h| {
                    let bytes = base64::Engine::decode(
                        &base64::engine::general_purpose::STANDARD,
                        h.as_str().unwrap_or(""),
                    )?;
                    Ok(ledger::merkle::hash_from_slice(&bytes)?)
                })
                .collect::<Result<Vec<_>>>()?;
            ledger::merkle::verify_consistency(saved.size, latest.size, &saved.root, &latest.root, &hashes)
                .map_err(|e| anyhow!("ALARM: the log is not consistent with the saved checkpoint: {e}"))?;
        }
        println!(
            "ok: size {} is consistent with the saved size {}",
            latest.size, saved.size
        );
        return Ok(());
    }
    if !args.follow {
        bail!("with --url, give --checkpoint FILE or --follow");
    }
    let origin = key.name().to_owned();
    let mut monitor = Monitor::new(key, &origin);
    loop {
        let note = log.text("checkpoint").await?;
        let checkpoint = monitor
            .read_checkpoint(&note)
            .map_err(|e| anyhow!("ALARM: {e}"))?;
        for entries in monitor.tiles_to(checkpoint.size) {
            let Tile::Entries { index, width } = entries else {
                continue;
            };
            let hashes = Tile::Hashes {
                level: 0,
                index,
                width,
            };
            let bundle = log.bytes(&entries.path()).await?;
            let leaf_hashes = log.bytes(&hashes.path()).await?;
            monitor
                .add_tile(entries, &bundle, &leaf_hashes)
                .map_err(|e| anyhow!("ALARM: {e}"))?;
        }
        let size = checkpoint.size;
        monitor.confirm(checkpoint).map_err(|e| anyhow!("ALARM: {e}"))?;
        println!(
            "ok: rebuilt {size} entries; the signed root matches ({} tiles wide)",
            size.div_ceil(tile::WIDTH)
        );
        if args.once {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

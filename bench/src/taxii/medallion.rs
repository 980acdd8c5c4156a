//! medallion: its data file, a gunicorn process per size, and one pass against it.

use super::*;

const MEDALLION_USER: &str = "bench";
const MEDALLION_PASSWORD: &str = "bench-password";
const MEDALLION_COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

/// Writes medallion's data file: the discovery and API root resources and one collection of the first
/// `size` objects with their manifest (`date_added`, `version`).
fn write_medallion_data(path: &Path, seed: u64, size: usize, base: &str) -> Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let head = json!({
        "title": "bench",
        "default": format!("{base}/api1/"),
        "api_roots": [format!("{base}/api1/")],
    });
    let info = json!({
        "title": "bench",
        "versions": [TAXII],
        "max_content_length": 10_485_760,
    });
    write!(
        out,
        "{{\"/discovery\": {head}, \"api1\": {{\"information\": {info}, \"status\": [], \"collections\": [{{\
         \"id\": \"{MEDALLION_COLLECTION}\", \"title\": \"bench\", \"can_read\": true, \"can_write\": false, \
         \"media_types\": [\"application/stix+json;version=2.1\"], \"objects\": ["
    )?;
    let mut manifest = Vec::with_capacity(size);
    for i in 0..size {
        let g = object(seed, i);
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(g.body.as_bytes())?;
        manifest.push(json!({
            "id": g.stix_id,
            "date_added": stix::timestamp(g.added),
            "version": stix::timestamp(g.modified),
            "media_type": "application/stix+json;version=2.1",
        }));
    }
    out.write_all(b"], \"manifest\": ")?;
    serde_json::to_writer(&mut out, &manifest)?;
    out.write_all(b"}]}}")?;
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// medallion at one size: its data file written, gunicorn started on it, ready, then one pass, all within
/// `--medallion-timeout`.
pub(super) async fn medallion(
    args: &TaxiiArgs,
    client: &reqwest::Client,
    work: &Path,
    size: usize,
    expect: (usize, u64),
) -> Result<Medallion> {
    let venv = args
        .medallion_venv
        .as_ref()
        .context("--medallion-venv (or MEDALLION_VENV) names no environment; bench/run.sh makes one")?;
    let port = procs::free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let data = work.join(format!("medallion-{size}.json"));
    let data_bytes = write_medallion_data(&data, args.seed, size, &base)?;
    let config = work.join(format!("medallion-{size}.conf.json"));
    std::fs::write(
        &config,
        json!({
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": data,
                // Its `next` sessions expire this long after the first page; a pass may take longer than
                // the default 30 s.
                "session_timeout": 86_400,
                "check_interval": 3_600,
            },
            "users": {MEDALLION_USER: MEDALLION_PASSWORD},
            "taxii": {"max_page_size": args.limit},
        })
        .to_string(),
    )?;

    // One gunicorn worker with a thread per client: the memory backend keeps the `next` sessions in the
    // process, so a second worker would not know the tokens the first gave.
    let mut command = tokio::process::Command::new(venv.join("bin/gunicorn"));
    command
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--workers", "1", "--worker-class", "gthread"])
        .arg("--threads")
        .arg(args.clients.to_string())
        .arg("--timeout")
        .arg((args.medallion_timeout + 60).to_string())
        .args(["--log-level", "warning"])
        .arg(format!("medallion:load_app({:?})", config.display().to_string()));
    let deadline = Instant::now() + Duration::from_secs(args.medallion_timeout);
    let started = Instant::now();
    let mut proc = Proc::start("medallion", command, &work.join(format!("medallion-{size}.log")))?;
    proc.drain_stdout();
    let pid = proc.pid;
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(procs::rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let basic = HeaderValue::from_str(&format!(
        "Basic {}",
        base64_encode(&format!("{MEDALLION_USER}:{MEDALLION_PASSWORD}"))
    ))?;
    let outcome = async {
        ready(client, &format!("{base}/taxii2/"), &basic, deadline).await?;
        let load_seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "medallion at {size}: ready in {load_seconds:.1} s ({:.0} MiB data file)",
            data_bytes as f64 / 1_048_576.0
        );
        let pass = pass(
            client,
            Target {
                objects: format!("{base}/api1/collections/{MEDALLION_COLLECTION}/objects/"),
                authorization: basic.clone(),
            },
            args,
            expect,
            deadline,
        )
        .await?;
        anyhow::Ok((load_seconds, pass))
    }
    .await;
    sampler.abort();
    proc.stop(Duration::from_secs(5)).await;
    let _ = std::fs::remove_file(&data);
    let (load_seconds, pass) = outcome?;
    Ok(Medallion::Measured {
        load_seconds,
        pass,
        peak_rss_kib: peak.load(Ordering::Relaxed),
        data_bytes,
    })
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Polls `url` (with the credential) until it answers 200, until `deadline`.
async fn ready(client: &reqwest::Client, url: &str, auth: &HeaderValue, deadline: Instant) -> Result<()> {
    while Instant::now() < deadline {
        let answered = client
            .get(url)
            .header(ACCEPT, TAXII)
            .header(AUTHORIZATION, auth.clone())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok();
        if answered == Some(200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("timed out loading: {url} did not answer 200 in time")
}

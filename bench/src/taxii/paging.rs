//! Paging: every client pages the collection with `limit` and `next`, and checks what it saw.

use super::objects::id_hash;
use super::*;

/// Where and how a pass pages.
pub(super) struct Target {
    /// The collection's objects URL (ending in `/objects/`).
    pub(super) objects: String,
    pub(super) authorization: HeaderValue,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    more: bool,
    next: Option<String>,
    #[serde(default)]
    objects: Vec<Id>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// What one client saw.
struct ClientPass {
    pages: Vec<Duration>,
    objects: usize,
    hash: u64,
    timed_out: bool,
}

/// What all clients saw in one pass.
pub struct Pass {
    pub seconds: f64,
    pub objects: usize,
    pub pages: usize,
    pub p50: Duration,
    pub p99: Duration,
    /// The slowest first page of a client (the first page is where medallion filters and sorts).
    pub first_max: Duration,
    pub timed_out: bool,
}

impl Pass {
    pub(super) fn per_second(&self) -> f64 {
        self.objects as f64 / self.seconds.max(f64::EPSILON)
    }
}

async fn client_pass(
    client: reqwest::Client,
    target: Arc<Target>,
    limit: usize,
    max_pages: usize,
    deadline: Instant,
) -> Result<ClientPass> {
    let mut out = ClientPass {
        pages: Vec::new(),
        objects: 0,
        hash: 0,
        timed_out: false,
    };
    let mut next: Option<String> = None;
    while out.pages.len() < max_pages {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            out.timed_out = true;
            break;
        }
        let mut url = format!("{}?limit={limit}", target.objects);
        if let Some(n) = &next {
            url.push_str("&next=");
            url.push_str(n);
        }
        let start = Instant::now();
        let sent = client
            .get(&url)
            .header(ACCEPT, TAXII)
            .header(AUTHORIZATION, target.authorization.clone())
            .timeout(left)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                out.timed_out = true;
                break;
            }
            Err(e) => return Err(e.into()),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) if e.is_timeout() => {
                out.timed_out = true;
                break;
            }
            Err(e) => return Err(e.into()),
        };
        out.pages.push(start.elapsed());
        if !status.is_success() {
            bail!("{url} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        let page: Envelope = serde_json::from_slice(&body).context("a page that is not an envelope")?;
        for o in &page.objects {
            out.objects += 1;
            out.hash = out.hash.wrapping_add(id_hash(&o.id));
        }
        match (page.more, page.next) {
            (true, Some(n)) => next = Some(n),
            (true, None) => bail!("a page says more follow but gives no next"),
            (false, _) => break,
        }
    }
    Ok(out)
}

/// Every client pages the collection from its start; checks each saw `expect` (count, hash sum) when it
/// finished in time.
pub(super) async fn pass(
    client: &reqwest::Client,
    target: Target,
    args: &TaxiiArgs,
    expect: (usize, u64),
    deadline: Instant,
) -> Result<Pass> {
    let target = Arc::new(target);
    let max_pages = args.pages.unwrap_or(usize::MAX);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.clients {
        tasks.spawn(client_pass(
            client.clone(),
            target.clone(),
            args.limit,
            max_pages,
            deadline,
        ));
    }
    let mut clients = Vec::new();
    while let Some(done) = tasks.join_next().await {
        clients.push(done??);
    }
    let seconds = start.elapsed().as_secs_f64();
    let timed_out = clients.iter().any(|c| c.timed_out);
    if !timed_out {
        for (k, c) in clients.iter().enumerate() {
            if (c.objects, c.hash) != expect {
                bail!(
                    "client {k} saw {} objects (id hash {:x}), expected {} ({:x})",
                    c.objects,
                    c.hash,
                    expect.0,
                    expect.1
                );
            }
        }
    }
    let mut pages: Vec<Duration> = clients.iter().flat_map(|c| c.pages.iter().copied()).collect();
    let first_max = clients
        .iter()
        .filter_map(|c| c.pages.first().copied())
        .max()
        .unwrap_or_default();
    pages.sort();
    Ok(Pass {
        seconds,
        objects: clients.iter().map(|c| c.objects).sum(),
        pages: pages.len(),
        p50: crate::load::percentile(&pages, 0.50),
        p99: crate::load::percentile(&pages, 0.99),
        first_max,
        timed_out,
    })
}

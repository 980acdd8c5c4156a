//! The load driver: a fixed number of concurrent clients, each sending one request after another over a
//! kept-alive connection for a fixed time, and the latency figures of what they measured.

use anyhow::{Result, bail};
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderValue};
use std::time::{Duration, Instant};

/// How a scenario's requests are signed in.
#[derive(Clone)]
pub enum Auth {
    Bearer(String),
    /// A browser session cookie value.
    Session(String),
}

/// One kind of request, measured on its own.
#[derive(Clone)]
pub struct Scenario {
    pub name: String,
    pub caller: &'static str,
    pub path: String,
    pub auth: Auth,
}

impl Scenario {
    fn request(&self, client: &reqwest::Client, base: &str) -> Result<reqwest::RequestBuilder> {
        let (name, value) = match &self.auth {
            Auth::Bearer(token) => (AUTHORIZATION, format!("Bearer {token}")),
            Auth::Session(cookie) => (COOKIE, format!("{}={cookie}", server::extract::SESSION_COOKIE)),
        };
        Ok(client
            .get(format!("{base}{}", self.path))
            .header(name, HeaderValue::from_str(&value)?))
    }

    /// Sends the request once, returning the status and the body.
    pub async fn once(&self, client: &reqwest::Client, base: &str) -> Result<(u16, Vec<u8>)> {
        let response = self.request(client, base)?.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await?.to_vec()))
    }
}

/// Latency figures of one measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub requests: usize,
    pub errors: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub per_second: f64,
    /// Mean response body size, to show what a page weighs.
    pub bytes: usize,
}

/// The nearest-rank percentile of sorted samples.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).saturating_sub(1);
    sorted.get(rank).copied().unwrap_or_default()
}

impl Stats {
    fn of(mut samples: Vec<Duration>, errors: usize, bytes: usize, elapsed: Duration) -> Stats {
        samples.sort_unstable();
        Stats {
            requests: samples.len(),
            errors,
            p50: percentile(&samples, 0.50),
            p90: percentile(&samples, 0.90),
            p99: percentile(&samples, 0.99),
            max: samples.last().copied().unwrap_or_default(),
            per_second: samples.len() as f64 / elapsed.as_secs_f64(),
            bytes: bytes / samples.len().max(1),
        }
    }

    /// The median of each figure over several runs, taken figure by figure.
    pub fn median(runs: &[Stats]) -> Stats {
        fn mid<T: Copy + PartialOrd + Default>(mut values: Vec<T>) -> T {
            values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            values.get(values.len() / 2).copied().unwrap_or_default()
        }
        Stats {
            requests: mid(runs.iter().map(|s| s.requests).collect()),
            errors: runs.iter().map(|s| s.errors).sum(),
            p50: mid(runs.iter().map(|s| s.p50).collect()),
            p90: mid(runs.iter().map(|s| s.p90).collect()),
            p99: mid(runs.iter().map(|s| s.p99).collect()),
            max: mid(runs.iter().map(|s| s.max).collect()),
            per_second: mid(runs.iter().map(|s| s.per_second).collect()),
            bytes: mid(runs.iter().map(|s| s.bytes).collect()),
        }
    }
}

/// Runs `clients` concurrent loops of the scenario for `warmup` (not counted), then for `duration`.
pub async fn measure(
    client: &reqwest::Client,
    base: &str,
    scenario: &Scenario,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Stats> {
    run(client, base, scenario, clients, warmup).await?;
    run(client, base, scenario, clients, duration).await
}

async fn run(
    client: &reqwest::Client,
    base: &str,
    scenario: &Scenario,
    clients: usize,
    duration: Duration,
) -> Result<Stats> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (client, base, scenario) = (client.clone(), base.to_owned(), scenario.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let (mut errors, mut bytes) = (0, 0);
            while Instant::now() < deadline {
                let sent = Instant::now();
                let (status, body) = scenario.once(&client, &base).await?;
                samples.push(sent.elapsed());
                bytes += body.len();
                if status != 200 {
                    errors += 1;
                }
            }
            anyhow::Ok((samples, errors, bytes))
        }));
    }
    let (mut samples, mut errors, mut bytes) = (Vec::new(), 0, 0);
    for task in tasks {
        let (s, e, b) = task.await??;
        samples.extend(s);
        errors += e;
        bytes += b;
    }
    let elapsed = started.elapsed();
    if samples.is_empty() {
        bail!("{}: no request completed", scenario.name);
    }
    Ok(Stats::of(samples, errors, bytes, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let cases = [(0.50, 50), (0.90, 90), (0.99, 99), (1.0, 100), (0.001, 1)];
        for (p, ms) in cases {
            assert_eq!(percentile(&samples, p), Duration::from_millis(ms), "p{p}");
        }
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn the_median_is_taken_figure_by_figure() {
        let ms = Duration::from_millis;
        let run = |p99, per_second, errors| Stats {
            p99: ms(p99),
            per_second,
            errors,
            ..Stats::default()
        };
        let median = Stats::median(&[run(30, 900.0, 0), run(10, 1000.0, 1), run(20, 800.0, 0)]);
        assert_eq!(median.p99, ms(20));
        assert_eq!(median.per_second, 900.0);
        assert_eq!(median.errors, 1, "errors add up over runs");
    }
}

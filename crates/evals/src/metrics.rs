//! Metrics over scores: accuracy with its standard error (the sample standard deviation over √n, as Inspect's
//! `stderr`) and a Wilson score interval; reducers that turn a sample's epochs into one value (mean, max, mode,
//! pass@k, at-least-k); and grouping by a metadata field.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The normal quantile of a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// What a set of values (one per sample, each in 0..=1) comes to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Samples counted.
    pub n: usize,
    /// Their mean.
    pub accuracy: f64,
    /// The standard error of the mean: sample standard deviation (n − 1) over √n; 0 below two samples.
    pub stderr: f64,
    /// The 95% Wilson score interval of the mean.
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Summary {
    /// Summarises `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let (ci_low, ci_high) = wilson(mean, n, Z_95);
        Some(Summary {
            n,
            accuracy: mean,
            stderr: stderr(values, mean),
            ci_low,
            ci_high,
        })
    }
}

fn stderr(values: &[f64], mean: f64) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    variance.sqrt() / (n as f64).sqrt()
}

/// The Wilson score interval for a proportion `p` observed over `n` trials at normal quantile `z`
/// (partial credit counts as its fraction of a success).
pub fn wilson(p: f64, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = p.clamp(0.0, 1.0);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The unbiased estimate of pass@k from `n` attempts of which `c` were correct (Chen et al. 2021):
/// 1 − C(n − c, k) / C(n, k), computed as a product so large `n` does not overflow. `None` when `k` is 0 or
/// more than `n`.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    if n - c < k {
        return Some(1.0);
    }
    let miss: f64 = ((n - c + 1)..=n).map(|i| 1.0 - k as f64 / i as f64).product();
    Some(1.0 - miss)
}

/// Two runs compared on the items both scored: each pair is (A's value, B's value) of one sample's epoch.
/// The difference is B − A; its interval is the mean difference ± z · the standard error of the differences
/// (their sample standard deviation over √n), the paired analysis of "Adding error bars to evals" (Miller,
/// 2024), which removes the variance the two runs share through their common questions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Paired {
    /// Pairs counted.
    pub n: usize,
    pub mean_a: f64,
    pub mean_b: f64,
    /// The mean of B − A over the pairs.
    pub mean_difference: f64,
    /// The standard error of the mean difference; 0 below two pairs.
    pub stderr: f64,
    /// The 95% interval of the mean difference.
    pub ci_low: f64,
    pub ci_high: f64,
    /// Pairs where both, only A, only B, or neither is correct (a value of at least 1).
    pub both_right: usize,
    pub only_a: usize,
    pub only_b: usize,
    pub both_wrong: usize,
}

/// The paired comparison of `pairs` (A's value, B's value); `None` when there are none (no overlap).
pub fn paired(pairs: &[(f64, f64)]) -> Option<Paired> {
    let n = pairs.len();
    if n == 0 {
        return None;
    }
    let differences: Vec<f64> = pairs.iter().map(|(a, b)| b - a).collect();
    let mean = |values: &mut dyn Iterator<Item = f64>| values.sum::<f64>() / n as f64;
    let mean_difference = mean(&mut differences.iter().copied());
    let stderr = stderr(&differences, mean_difference);
    let (mut both_right, mut only_a, mut only_b, mut both_wrong) = (0, 0, 0, 0);
    for (a, b) in pairs {
        match (*a >= 1.0, *b >= 1.0) {
            (true, true) => both_right += 1,
            (true, false) => only_a += 1,
            (false, true) => only_b += 1,
            (false, false) => both_wrong += 1,
        }
    }
    Some(Paired {
        n,
        mean_a: mean(&mut pairs.iter().map(|p| p.0)),
        mean_b: mean(&mut pairs.iter().map(|p| p.1)),
        mean_difference,
        stderr,
        ci_low: mean_difference - Z_95 * stderr,
        ci_high: mean_difference + Z_95 * stderr,
        both_right,
        only_a,
        only_b,
        both_wrong,
    })
}

/// How a sample's epochs become the one value its metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reducer {
    /// The mean of the epochs (Inspect's default).
    Mean,
    /// The best epoch.
    Max,
    /// The most frequent value (the lower on a tie).
    Mode,
    /// The chance that at least one of k epochs drawn from those run is correct (values ≥ 1 count as correct).
    PassAtK(usize),
    /// 1 when at least k epochs are correct, else 0.
    AtLeastK(usize),
}

impl Reducer {
    /// The name Inspect logs give the reducer: `mean`, `max`, `mode`, `pass_at_2`, `at_least_2`.
    pub fn name(&self) -> String {
        match self {
            Reducer::Mean => "mean".into(),
            Reducer::Max => "max".into(),
            Reducer::Mode => "mode".into(),
            Reducer::PassAtK(k) => format!("pass_at_{k}"),
            Reducer::AtLeastK(k) => format!("at_least_{k}"),
        }
    }

    /// Parses a reducer's name as [`Reducer::name`] writes it.
    pub fn parse(name: &str) -> Option<Reducer> {
        let number = |rest: &str| rest.parse::<usize>().ok().filter(|k| *k > 0);
        match name {
            "mean" => Some(Reducer::Mean),
            "max" => Some(Reducer::Max),
            "mode" => Some(Reducer::Mode),
            _ => {
                if let Some(k) = name.strip_prefix("pass_at_") {
                    number(k).map(Reducer::PassAtK)
                } else {
                    name.strip_prefix("at_least_")
                        .and_then(number)
                        .map(Reducer::AtLeastK)
                }
            }
        }
    }

    /// One sample's epochs reduced; `None` when there are none, or pass@k asks for more epochs than ran.
    pub fn reduce(&self, epochs: &[f64]) -> Option<f64> {
        if epochs.is_empty() {
            return None;
        }
        let correct = epochs.iter().filter(|v| **v >= 1.0).count();
        match *self {
            Reducer::Mean => Some(epochs.iter().sum::<f64>() / epochs.len() as f64),
            Reducer::Max => epochs.iter().copied().reduce(f64::max),
            Reducer::Mode => {
                let mut sorted = epochs.to_vec();
                sorted.sort_by(f64::total_cmp);
                let mut best = (0usize, None);
                let mut run = (0usize, None::<f64>);
                for v in sorted {
                    run = match run {
                        (count, Some(prev)) if prev == v => (count + 1, Some(v)),
                        _ => (1, Some(v)),
                    };
                    if run.0 > best.0 {
                        best = run;
                    }
                }
                best.1
            }
            Reducer::PassAtK(k) => pass_at_k(epochs.len(), correct, k),
            Reducer::AtLeastK(k) => Some(if correct >= k { 1.0 } else { 0.0 }),
        }
    }
}

/// Values grouped by a key (a metadata field's value; samples without it under `None`), each group summarised.
pub fn grouped<'a>(
    values: impl IntoIterator<Item = (Option<&'a str>, f64)>,
) -> BTreeMap<Option<String>, Summary> {
    let mut groups: BTreeMap<Option<String>, Vec<f64>> = BTreeMap::new();
    for (key, value) in values {
        groups.entry(key.map(str::to_string)).or_default().push(value);
    }
    groups
        .into_iter()
        .filter_map(|(key, values)| Summary::of(&values).map(|s| (key, s)))
        .collect()
}

#[cfg(test)]
mod tests;

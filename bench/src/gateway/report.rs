//! The report of `bench gateway run`: Markdown tables of latency, what each proxy adds over the direct call,
//! memory and errors, and the rate ladder's sustainable rates.

use super::*;

pub(super) fn sustainable<'a>(base: &Figures, rungs: &'a [(f64, Figures)]) -> Option<&'a (f64, Figures)> {
    let own = base.outcome.p(0.99) * 2;
    rungs
        .iter()
        .take_while(|(_, f)| f.outcome.error_count() == 0 && f.outcome.p(0.99) <= own)
        .last()
}

/// The highest rate with no error and a p99 within `bar`, counting up from the lowest.
pub(super) fn rate_within(rungs: &[(f64, Figures)], bar: Duration) -> Option<f64> {
    rungs
        .iter()
        .take_while(|(_, f)| f.outcome.error_count() == 0 && f.outcome.p(0.99) <= bar)
        .last()
        .map(|(rate, _)| *rate)
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub(super) fn signed_ms(d: f64) -> String {
    format!("{:+.2}", d * 1000.0)
}

pub(super) fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

pub(super) fn line(f: &Figures) -> String {
    let o = &f.outcome;
    let ttft = o
        .ttft_p(0.5)
        .map(|t| format!(" ttft p50 {}", ms(t)))
        .unwrap_or_default();
    format!(
        "{:>7.0}/s p50 {} p99 {} max {}{ttft} errors {:?} lag p99 {} rss {} MiB",
        o.per_second,
        ms(o.p(0.5)),
        ms(o.p(0.99)),
        ms(o.p(1.0)),
        o.errors,
        ms(o.send_lag_p99),
        mib(f.rss_peak_kib)
    )
}

/// The median of values (the upper one of an even count).
pub(super) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// The median over runs of one figure, in seconds.
pub(super) fn med(runs: &[Figures], figure: impl Fn(&Figures) -> Option<f64>) -> Option<f64> {
    let values: Vec<f64> = runs.iter().filter_map(figure).collect();
    (!values.is_empty()).then(|| median(values))
}

pub(super) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub(super) fn cell(v: Option<f64>) -> String {
    v.map(|s| format!("{:.2}", s * 1000.0))
        .unwrap_or_else(|| "–".into())
}

/// What `through` adds over `direct` in one figure: the median over runs of the run-by-run difference.
pub(super) fn added(
    direct: &[Figures],
    through: &[Figures],
    figure: impl Fn(&Figures) -> Option<f64>,
) -> Option<f64> {
    let diffs: Vec<f64> = direct
        .iter()
        .zip(through)
        .filter_map(|(d, t)| Some(figure(t)? - figure(d)?))
        .collect();
    (!diffs.is_empty()).then(|| median(diffs))
}

pub(super) fn report(
    args: &RunArgs,
    matrix: &Matrix,
    idle: &[(&str, u64)],
    after: &[(&str, u64, Option<u64>)],
    ladder: Option<&Ladder>,
) {
    let shape = args.shape;
    println!(
        "\n### Latency: open loop, {} s per rate after {} s warm-up, median of {} runs\n",
        args.duration, args.warmup, args.runs
    );
    println!(
        "Mock upstream: {:.1} ms to answer (or to a stream's first chunk); streams of {} chunks {:.1} ms apart. \
         Latency from each request's scheduled time to the last byte; TTFT to the first byte of the body.\n",
        shape.service_us as f64 / 1000.0,
        shape.chunks,
        shape.gap_us as f64 / 1000.0
    );
    println!(
        "| calls | rate/s | target | answered/s | p50 ms | p90 ms | p99 ms | max ms | TTFT p50 | TTFT p99 | errors | RSS peak MiB |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ((mode, rate, target), runs) in matrix {
        let errors: usize = runs.iter().map(|f| f.outcome.error_count()).sum();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for f in runs {
            for (kind, n) in &f.outcome.errors {
                *kinds.entry(kind.as_str()).or_default() += n;
            }
        }
        let errors = if errors == 0 {
            "0".to_owned()
        } else {
            let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            kinds.join(", ")
        };
        println!(
            "| {} | {rate} | {target} | {:.0} | {} | {} | {} | {} | {} | {} | {errors} | {} |",
            mode.label(),
            med(runs, |f| Some(f.outcome.per_second)).unwrap_or_default(),
            cell(med(runs, |f| Some(secs(f.outcome.p(0.5))))),
            cell(med(runs, |f| Some(secs(f.outcome.p(0.9))))),
            cell(med(runs, |f| Some(secs(f.outcome.p(0.99))))),
            cell(med(runs, |f| Some(secs(f.outcome.p(1.0))))),
            cell(med(runs, |f| f.outcome.ttft_p(0.5).map(secs))),
            cell(med(runs, |f| f.outcome.ttft_p(0.99).map(secs))),
            mib(med(runs, |f| Some(f.rss_peak_kib as f64)).unwrap_or_default() as u64),
        );
    }

    println!(
        "\n### Added latency: through the proxy minus direct (ms; median over runs of each run's difference)\n"
    );
    let proxies: Vec<&str> = ["prelaunch", "litellm"]
        .into_iter()
        .filter(|p| matrix.keys().any(|(_, _, t)| t == p))
        .collect();
    let mut head = "| calls | rate/s |".to_owned();
    let mut rule = "|---|---:|".to_owned();
    for p in &proxies {
        head.push_str(&format!(" {p} +p50 | {p} +p99 | {p} +TTFT p50 | {p} +TTFT p99 |"));
        rule.push_str("---:|---:|---:|---:|");
    }
    println!("{head}\n{rule}");
    let mut rows: Vec<(Mode, u64)> = matrix.keys().map(|(m, r, _)| (*m, *r)).collect();
    rows.dedup();
    for (mode, rate) in &rows {
        let Some(direct) = matrix.get(&(*mode, *rate, "direct")) else {
            continue;
        };
        let mut row = format!("| {} | {rate} |", mode.label());
        for p in &proxies {
            let through = matrix
                .get(&(*mode, *rate, *p))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let figure = |q: f64| added(direct, through, move |f| Some(secs(f.outcome.p(q))));
            let ttft = |q: f64| added(direct, through, move |f| f.outcome.ttft_p(q).map(secs));
            let show = |v: Option<f64>| v.map(signed_ms).unwrap_or_else(|| "–".into());
            row.push_str(&format!(
                " {} | {} | {} | {} |",
                show(figure(0.5)),
                show(figure(0.99)),
                show(ttft(0.5)),
                show(ttft(0.99))
            ));
        }
        println!("{row}");
    }

    println!("\n### Memory (resident set, MiB; a proxy's workers included)\n");
    println!(
        "| process | idle, after the first calls | at the end of the runs | peak sampled under load | VmHWM |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, idle_kib) in idle {
        let peak = matrix
            .iter()
            .filter(|((_, _, t), _)| t == name)
            .flat_map(|(_, runs)| runs.iter().map(|f| f.rss_peak_kib))
            .max()
            .unwrap_or_default();
        let (end, hwm) = after
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, end, hwm)| (*end, *hwm))
            .unwrap_or_default();
        let process = if *name == "direct" { "mock upstream" } else { name };
        println!(
            "| {process} | {} | {} | {} | {} |",
            mib(*idle_kib),
            mib(end),
            mib(peak),
            hwm.map(mib).unwrap_or_else(|| "–".into())
        );
    }

    let Some(ladder) = ladder else {
        return;
    };
    println!(
        "\n### Sustainable rate: non-streaming calls, {} s per rate after 1 s warm-up, one run\n",
        args.ladder_duration
    );
    println!(
        "Sustainable: the highest rate tried with no error and a p99 within twice the p99 at {}/s.\n",
        args.baseline_rate
    );
    println!(
        "| target | p99 at {}/s | sustainable rate/s | p99 there | first rate that failed | its p99 | its errors |",
        args.baseline_rate
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut litellm_bar = None;
    for (name, base, rungs) in &ladder.rungs {
        let best = sustainable(base, rungs);
        let failed = rungs.iter().find(|(rate, _)| best.is_none_or(|(b, _)| rate > b));
        if *name == "litellm" {
            litellm_bar = best.map(|(rate, f)| (*rate, f.outcome.p(0.99)));
        }
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            ms(base.outcome.p(0.99)),
            best.map(|(r, _)| format!("{r:.0}"))
                .unwrap_or_else(|| "none".into()),
            best.map(|(_, f)| ms(f.outcome.p(0.99)))
                .unwrap_or_else(|| "–".into()),
            failed
                .map(|(r, _)| format!("{r:.0}"))
                .unwrap_or_else(|| "none".into()),
            failed
                .map(|(_, f)| ms(f.outcome.p(0.99)))
                .unwrap_or_else(|| "–".into()),
            failed
                .map(|(_, f)| f.outcome.error_count().to_string())
                .unwrap_or_else(|| "–".into()),
        );
    }
    if let Some((rate, bar)) = litellm_bar {
        for (name, _, rungs) in &ladder.rungs {
            if *name == "litellm" {
                continue;
            }
            let top = rungs.iter().map(|(r, _)| *r).fold(0.0, f64::max);
            match rate_within(rungs, bar) {
                Some(r) => println!(
                    "\nAt LiteLLM's p99 at its sustainable rate ({} ms at {rate:.0}/s), {name} sustains {r:.0}/s{}: \
                     {:.1}× LiteLLM's rate.",
                    ms(bar),
                    if r >= top { " (the highest rate tried)" } else { "" },
                    r / rate
                ),
                None => println!(
                    "\n{name} does not reach LiteLLM's p99 ({} ms) at any rate tried.",
                    ms(bar)
                ),
            }
        }
    }
}

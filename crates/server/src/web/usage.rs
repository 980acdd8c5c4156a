//! A notice's gateway usage as the caller may see it: an evaluator their own calls, an agency admin their
//! evaluators', the developer the aggregate for its model. Totals, three charts per day (calls, tokens, mean
//! latency) with the same numbers in a table, and, for the agency, the calls themselves.

use super::chart::{self, Chart};
use super::form::QueryFields;
use super::gateway::{NoticeHead, Section};
use super::notices::{path_id, person_name};
use super::render::{Frame, WebResult, html};
use super::session::WebCaller;
use super::view::when;
use app::gateway::{CallView, UsageTotals, UsageView};
use app::{App, Caller, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use std::collections::HashMap;
use uuid::Uuid;

/// Days the charts show at most: the latest ones.
const CHART_DAYS: usize = 60;

/// "12,345".
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "240 ms", "3.5 ms", "1.20 s".
pub fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

struct Totals {
    calls: String,
    errors: String,
    input_tokens: String,
    output_tokens: String,
    mean_latency: String,
}

impl From<&UsageTotals> for Totals {
    fn from(t: &UsageTotals) -> Self {
        Totals {
            calls: grouped(t.calls),
            errors: grouped(t.errors),
            input_tokens: grouped(t.input_tokens),
            output_tokens: grouped(t.output_tokens),
            mean_latency: if t.calls > 0 {
                millis(t.mean_latency_ms)
            } else {
                "—".to_owned()
            },
        }
    }
}

/// A day's or an evaluator's totals, as one row of a table.
struct TotalsRow {
    label: String,
    totals: Totals,
}

struct CallRow {
    at: String,
    who: String,
    model: String,
    endpoint: String,
    status: String,
    ok: bool,
    input_tokens: String,
    output_tokens: String,
    latency: String,
    ttft: String,
}

/// A chart with its heading and legend.
struct Figure {
    id: &'static str,
    title: &'static str,
    /// (the class of the series' shapes, what they show).
    legend: Vec<(&'static str, &'static str)>,
    chart: Chart,
}

#[derive(Template)]
#[template(path = "gateway_usage.html")]
struct UsagePage {
    frame: Frame,
    head: NoticeHead,
    lead: &'static str,
    totals: Totals,
    figures: Vec<Figure>,
    days: Vec<TotalsRow>,
    evaluators: Vec<TotalsRow>,
    /// Individual calls, for the evaluating agency; `None` for the developer, who sees the aggregate only.
    calls: Option<Vec<CallRow>>,
    calls_next: Option<String>,
}

/// The three charts, over every day from the first call to the last (at most the latest `CHART_DAYS`).
fn figures(usage: &UsageView) -> Vec<Figure> {
    let days: Vec<&str> = usage.by_day.iter().map(|d| d.day.as_str()).collect();
    let calendar = chart::calendar(&days, CHART_DAYS);
    let by_day: HashMap<String, &UsageTotals> =
        usage.by_day.iter().map(|d| (d.day.clone(), &d.totals)).collect();
    let series = |value: fn(&UsageTotals) -> f64| -> Vec<f64> {
        calendar
            .iter()
            .map(|d| {
                by_day
                    .get(&d.format("%Y-%m-%d").to_string())
                    .map_or(0.0, |t| value(t))
            })
            .collect()
    };
    let span = match (calendar.first(), calendar.last()) {
        (Some(first), Some(last)) => format!("{} to {}", first.format("%-d %b %Y"), last.format("%-d %b %Y")),
        _ => String::new(),
    };
    vec![
        Figure {
            id: "calls-chart",
            title: "Calls per day",
            legend: vec![
                ("chart-bar-ok", "Answered"),
                ("chart-bar-error", "Failed or refused"),
            ],
            chart: chart::stacked_bars(
                format!("Calls per day, {span}: answered and failed"),
                &calendar,
                &[
                    ("chart-bar-ok", series(|t| (t.calls - t.errors) as f64)),
                    ("chart-bar-error", series(|t| t.errors as f64)),
                ],
            ),
        },
        Figure {
            id: "tokens-chart",
            title: "Tokens per day",
            legend: vec![("chart-bar-input", "Input"), ("chart-bar-output", "Output")],
            chart: chart::stacked_bars(
                format!("Tokens per day, {span}: input and output"),
                &calendar,
                &[
                    ("chart-bar-input", series(|t| t.input_tokens as f64)),
                    ("chart-bar-output", series(|t| t.output_tokens as f64)),
                ],
            ),
        },
        Figure {
            id: "latency-chart",
            title: "Mean latency per day (ms)",
            legend: Vec::new(),
            chart: chart::line(
                format!("Mean latency per day in milliseconds, {span}"),
                &calendar,
                &series(|t| t.mean_latency_ms),
            ),
        },
    ]
}

fn call_row(c: &CallView, who: String) -> CallRow {
    let tokens = |n: Option<i64>| n.map_or_else(|| "—".to_owned(), grouped);
    CallRow {
        at: when(c.started_at),
        who,
        model: c.model.clone(),
        endpoint: format!("{}{}", c.endpoint, if c.stream { ", streamed" } else { "" }),
        status: match &c.error_code {
            Some(code) => format!("{} {code}", c.status),
            None => c.status.to_string(),
        },
        ok: (200..300).contains(&c.status),
        input_tokens: tokens(c.input_tokens),
        output_tokens: tokens(c.output_tokens),
        latency: millis(c.latency_ms),
        ttft: c.ttft_ms.map_or_else(|| "—".to_owned(), millis),
    }
}

async fn names(app: &App, caller: &Caller, ids: impl Iterator<Item = Uuid>) -> HashMap<Uuid, String> {
    let mut names = HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(entry) = names.entry(id) {
            entry.insert(person_name(app, caller, Some(id), "A former evaluator").await);
        }
    }
    names
}

pub async fn usage(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let id = path_id(&raw)?;
    let n = app.get_notice(&caller, id).await?;
    let usage = app.gateway_usage(&caller, id).await?;
    let (lead, listed) = match usage.scope {
        "aggregate" => (
            "Every call evaluators made to your model through the gateway, in aggregate. Who made which call is the evaluating agencies' to know.",
            false,
        ),
        "agency" => (
            "The calls your agency's evaluators made to this model through the gateway.",
            true,
        ),
        _ => ("The calls you made to this model through the gateway.", true),
    };
    let (calls, calls_next) = if listed {
        let page = app
            .list_gateway_calls(
                &caller,
                id,
                &PageRequest {
                    cursor: q.optional("calls").map(str::to_owned),
                    limit: None,
                },
            )
            .await?;
        let names = names(&app, &caller, page.items.iter().map(|c| c.user_id)).await;
        let rows = page
            .items
            .iter()
            .map(|c| call_row(c, names.get(&c.user_id).cloned().unwrap_or_default()))
            .collect();
        (Some(rows), page.next_cursor)
    } else {
        (None, None)
    };
    let evaluators = match (&usage.by_evaluator, usage.scope) {
        (Some(rows), "agency") => {
            let names = names(&app, &caller, rows.iter().map(|e| e.user_id)).await;
            rows.iter()
                .map(|e| TotalsRow {
                    label: names.get(&e.user_id).cloned().unwrap_or_default(),
                    totals: Totals::from(&e.totals),
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let page = UsagePage {
        frame: Frame::signed_in(&caller, "notices", format!("Gateway usage · {}", n.model_name)),
        head: NoticeHead::new(&caller, &n, Section::Usage),
        lead,
        totals: Totals::from(&usage.totals),
        figures: if usage.by_day.is_empty() {
            Vec::new()
        } else {
            figures(&usage)
        },
        days: usage
            .by_day
            .iter()
            .rev()
            .map(|d| TotalsRow {
                label: chrono::NaiveDate::parse_from_str(&d.day, "%Y-%m-%d")
                    .map_or_else(|_| d.day.clone(), |day| day.format("%-d %b %Y").to_string()),
                totals: Totals::from(&d.totals),
            })
            .collect(),
        evaluators,
        calls,
        calls_next,
    };
    Ok(html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_234_567, "1,234,567"),
            (-4200, "-4,200"),
        ];
        for (n, text) in cases {
            assert_eq!(grouped(n), text);
        }
        let times = [(3.46, "3.5 ms"), (240.4, "240 ms"), (1200.0, "1.20 s")];
        for (ms, text) in times {
            assert_eq!(millis(ms), text);
        }
    }
}

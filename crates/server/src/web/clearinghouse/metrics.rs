//! The clearinghouse's metrics page: the same numbers as `GET /api/v1/clearinghouse/metrics`, from the same
//! `App::clearinghouse_metrics`, for the same readers. Each funnel (the program's, and one vendor's when
//! chosen) is a bounded horizontal bar chart (`chart::horizontal_bars`) with a table of the same numbers, the
//! median times between stages and the share found by AI.

use super::super::chart::{self, Chart};
use super::super::form::QueryFields;
use super::super::render::{Frame, WebError, WebResult, html, plural};
use super::super::session::WebCaller;
use super::super::usage::grouped;
use super::super::view::Choice;
use app::App;
use app::clearinghouse::metrics::{FunnelView, VendorLine};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

/// One stage of a funnel as the table shows it.
struct StageRow {
    name: &'static str,
    count: String,
    /// Of those received, as a percentage; "—" when nothing was received.
    share: String,
}

struct MedianRow {
    name: &'static str,
    value: String,
}

/// A funnel with its chart, table, medians and share found by AI.
struct FunnelBlock {
    id: &'static str,
    title: String,
    chart: Chart,
    stages: Vec<StageRow>,
    medians: Vec<MedianRow>,
    ai_share: String,
    empty: bool,
}

struct VendorRow {
    id: String,
    name: String,
    cases: String,
    notified: String,
    fixed: String,
    published: String,
}

impl From<&VendorLine> for VendorRow {
    fn from(v: &VendorLine) -> Self {
        VendorRow {
            id: v.org_id.to_string(),
            name: v.name.clone(),
            cases: grouped(v.cases),
            notified: grouped(v.notified),
            fixed: grouped(v.fixed),
            published: grouped(v.published),
        }
    }
}

#[derive(Template)]
#[template(path = "clearinghouse_metrics.html")]
struct MetricsPage {
    frame: Frame,
    program: FunnelBlock,
    vendor: Option<FunnelBlock>,
    vendors: Vec<VendorRow>,
    choices: Vec<Choice>,
    chosen: String,
}

/// "45 seconds", "3 hours", "1.5 days"; "—" when no case went through both stages.
pub fn duration_text(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "—".to_owned();
    };
    let one = |value: f64, unit: &str| {
        let text = format!("{value:.1}");
        let text = text.trim_end_matches(".0");
        if text == "1" {
            format!("1 {unit}")
        } else {
            format!("{text} {unit}s")
        }
    };
    if s < 60.0 {
        plural(s.round() as i64, "second")
    } else if s < 3600.0 {
        one(s / 60.0, "minute")
    } else if s < 86_400.0 * 2.0 {
        one(s / 3600.0, "hour")
    } else {
        one(s / 86_400.0, "day")
    }
}

/// "50%", "0.1%", "under 0.1%", "—" when nothing was received.
fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".to_owned();
    }
    let p = part as f64 * 100.0 / whole as f64;
    if p > 0.0 && p < 0.1 {
        "under 0.1%".to_owned()
    } else if p >= 10.0 || (p - p.round()).abs() < 0.05 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

fn block(id: &'static str, title: String, f: &FunnelView) -> FunnelBlock {
    let stages = [
        ("Received", f.received, "chart-bar-input"),
        ("Unique", f.unique, "chart-bar-input"),
        ("Confirmed", f.confirmed, "chart-bar-ok"),
        ("Vendors notified", f.vendors_notified, "chart-bar-ok"),
        ("Fixed", f.fixed, "chart-bar-output"),
        ("Published", f.published, "chart-bar-output"),
    ];
    let said = stages
        .iter()
        .map(|(name, n, _)| format!("{} {}", name.to_lowercase(), grouped(*n)))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<(&str, f64, &'static str)> = stages
        .iter()
        .map(|(name, n, class)| (*name, *n as f64, *class))
        .collect();
    let m = &f.median_seconds;
    FunnelBlock {
        id,
        chart: chart::horizontal_bars(format!("{title}: {said}"), &rows),
        title,
        stages: stages
            .iter()
            .map(|(name, n, _)| StageRow {
                name,
                count: grouped(*n),
                share: percent(*n, f.received),
            })
            .collect(),
        medians: [
            ("Received to triaged", m.received_to_triaged),
            ("Triaged to vendors notified", m.triaged_to_vendors_notified),
            ("Vendors notified to fixed", m.vendors_notified_to_fixed),
            ("Fixed to published", m.fixed_to_published),
            ("Received to published", m.received_to_published),
        ]
        .into_iter()
        .map(|(name, s)| MedianRow {
            name,
            value: duration_text(s),
        })
        .collect(),
        ai_share: if f.received == 0 {
            "No reports received yet".to_owned()
        } else {
            format!(
                "{} ({} of {} reports)",
                percent(f.ai_found, f.received),
                grouped(f.ai_found),
                grouped(f.received)
            )
        },
        empty: f.received == 0 && f.confirmed == 0,
    }
}

pub async fn metrics(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let vendor = match q.optional("vendor") {
        None => None,
        Some(v) => Some(v.parse::<Uuid>().map_err(|_| {
            WebError::new(
                StatusCode::BAD_REQUEST,
                "The vendor in the address is not one this page offered. Choose one from the list.",
            )
        })?),
    };
    let metrics = app.clearinghouse_metrics(&caller, vendor).await?;
    let name = |id: Uuid| {
        metrics
            .vendors
            .iter()
            .find(|v| v.org_id == id)
            .map_or_else(|| "The chosen vendor".to_owned(), |v| v.name.clone())
    };
    let view = MetricsPage {
        frame: Frame::signed_in(&caller, "metrics", "Clearinghouse metrics"),
        program: block("program", "The whole program".to_owned(), &metrics.program),
        vendor: match (vendor, &metrics.vendor) {
            (Some(id), Some(f)) => Some(block("vendor", name(id), f)),
            _ => None,
        },
        vendors: metrics.vendors.iter().map(VendorRow::from).collect(),
        choices: metrics
            .vendors
            .iter()
            .map(|v| Choice::new(v.org_id.to_string(), v.name.clone()))
            .collect(),
        chosen: vendor.map(|v| v.to_string()).unwrap_or_default(),
    };
    Ok(html(StatusCode::OK, &view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_shares_read_naturally() {
        let cases = [
            (None, "—"),
            (Some(f64::NAN), "—"),
            (Some(0.0), "0 seconds"),
            (Some(45.0), "45 seconds"),
            (Some(90.0), "1.5 minutes"),
            (Some(3600.0), "1 hour"),
            (Some(1.5 * 86_400.0), "36 hours"),
            (Some(12.0 * 86_400.0), "12 days"),
            (Some(1e12), "11574074.1 days"),
        ];
        for (seconds, text) in cases {
            assert_eq!(duration_text(seconds), text, "{seconds:?}");
        }
        let shares = [
            (0, 0, "—"),
            (0, 4, "0%"),
            (2, 4, "50%"),
            (1, 3, "33%"),
            (1, 1000, "0.1%"),
            (1, 1_000_000_000, "under 0.1%"),
        ];
        for (part, whole, text) in shares {
            assert_eq!(percent(part, whole), text, "{part}/{whole}");
        }
    }
}

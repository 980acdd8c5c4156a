//! Geometry of the small charts: bars per day (stacked when a day has several parts), a line per day, and
//! horizontal bars for a few named rows (the clearinghouse's funnel), in SVG user units of a fixed `WIDTH` ×
//! `HEIGHT` canvas that the stylesheet scales to fit. Whatever the data, a chart holds at most a bounded number
//! of shapes. Values are shown as attributes, never inline style, and every chart repeats a table on its page.

use chrono::{Duration, NaiveDate};

/// About the width a chart is shown at, three to a row, so that its text keeps the page's size.
pub const WIDTH: f64 = 360.0;
pub const HEIGHT: f64 = 180.0;
/// Room on the left for the value labels, and below for the day labels.
const LEFT: f64 = 40.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;
const MAX_DAY_LABELS: usize = 5;
/// Horizontal bars: room on the left for the rows' names, on the right for their values; at most `MAX_ROWS`
/// rows, each name at most `MAX_ROW_LABEL` characters.
const ROW_LABELS: f64 = 104.0;
const VALUE_LABELS: f64 = 52.0;
pub const MAX_ROWS: usize = 12;
const MAX_ROW_LABEL: usize = 18;

/// A number formatted as an SVG coordinate.
fn at(value: f64) -> String {
    format!("{value:.1}")
}

/// A piece of a bar, classed by the series it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Rect {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub class: &'static str,
}

/// A label at a point.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub x: String,
    pub y: String,
    pub text: String,
}

/// A horizontal gridline with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub y: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    pub x: String,
    pub y: String,
}

/// One chart, ready for the template: what to draw and what it says to screen readers.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub label: String,
    /// The SVG `viewBox`: the canvas in user units.
    pub view_box: String,
    pub rects: Vec<Rect>,
    /// `points` of a polyline; empty for bar charts.
    pub line: String,
    pub dots: Vec<Dot>,
    pub grid: Vec<Grid>,
    pub days: Vec<Label>,
    /// Horizontal bars: each row's name (left) and value (at the end of its bar); empty otherwise.
    pub rows: Vec<Label>,
    pub values: Vec<Label>,
    /// The canvas, for the `width` and `height` attributes.
    pub width: String,
    pub height: String,
    /// The baseline's y.
    pub base: String,
    pub left: String,
    pub right: String,
}

/// The smallest "round" number (1, 2 or 5 times a power of ten) at or above `value`; 1 for nothing.
pub fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// "950", "12.5k", "3.2M", "4.1B", "9.2e18": compact enough for an axis, however large.
pub fn compact(value: f64) -> String {
    let trim = |text: String| text.trim_end_matches(".0").to_owned();
    if value >= 1e15 {
        format!("{value:.1e}")
    } else if value >= 1e12 {
        trim(format!("{:.1}", value / 1e12)) + "T"
    } else if value >= 1e9 {
        trim(format!("{:.1}", value / 1e9)) + "B"
    } else if value >= 1_000_000.0 {
        trim(format!("{:.1}", value / 1_000_000.0)) + "M"
    } else if value >= 10_000.0 {
        trim(format!("{:.0}", value / 1_000.0)) + "k"
    } else if value >= 1_000.0 {
        trim(format!("{:.1}", value / 1_000.0)) + "k"
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else if value < 10.0 {
        // Small scales (latencies under a millisecond) need their second decimal: 0.25, not 0.2.
        format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        format!("{value:.1}")
    }
}

/// Every day from the first to the last of `days` (ISO dates, in order), at most `max` of the latest; days
/// that do not parse are left out.
pub fn calendar(days: &[&str], max: usize) -> Vec<NaiveDate> {
    let parsed: Vec<NaiveDate> = days
        .iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect();
    let (Some(first), Some(last)) = (parsed.iter().min(), parsed.iter().max()) else {
        return Vec::new();
    };
    let span = usize::try_from((*last - *first).num_days()).unwrap_or(0) + 1;
    let start = if span > max {
        *last - Duration::days(i64::try_from(max).unwrap_or(1) - 1)
    } else {
        *first
    };
    start.iter_days().take_while(|d| d <= last).take(max).collect()
}

struct Frame {
    max: f64,
    slot: f64,
}

impl Frame {
    fn new(days: usize, max: f64) -> Frame {
        Frame {
            max: nice_ceiling(max),
            slot: (WIDTH - LEFT - RIGHT) / days.max(1) as f64,
        }
    }

    fn y(&self, value: f64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        HEIGHT - BOTTOM - (value / self.max).clamp(0.0, 1.0) * plot
    }

    fn centre(&self, i: usize) -> f64 {
        LEFT + self.slot * (i as f64 + 0.5)
    }

    fn chart(&self, label: String, days: &[NaiveDate]) -> Chart {
        let grid = [0.0, 0.5, 1.0]
            .iter()
            .map(|f| Grid {
                y: at(self.y(self.max * f)),
                label: compact(self.max * f),
            })
            .collect();
        let step = days.len().div_ceil(MAX_DAY_LABELS).max(1);
        let day_labels = days
            .iter()
            .enumerate()
            .filter(|(i, _)| (days.len() - 1 - i).is_multiple_of(step))
            .map(|(i, d)| Label {
                x: at(self.centre(i)),
                y: at(HEIGHT - 6.0),
                text: d.format("%-d %b").to_string(),
            })
            .collect();
        Chart {
            label,
            view_box: format!("0 0 {WIDTH} {HEIGHT}"),
            rects: Vec::new(),
            line: String::new(),
            dots: Vec::new(),
            grid,
            days: day_labels,
            rows: Vec::new(),
            values: Vec::new(),
            width: format!("{WIDTH}"),
            height: format!("{HEIGHT}"),
            base: at(HEIGHT - BOTTOM),
            left: at(LEFT),
            right: at(WIDTH - RIGHT),
        }
    }
}

/// Bars per day, each stacked from its series' values in order (`(class, values)`, one value per day).
pub fn stacked_bars(label: String, days: &[NaiveDate], series: &[(&'static str, Vec<f64>)]) -> Chart {
    let total = |i: usize| -> f64 { series.iter().filter_map(|(_, v)| v.get(i)).sum() };
    let max = (0..days.len()).map(total).fold(0.0, f64::max);
    let frame = Frame::new(days.len(), max);
    let mut chart = frame.chart(label, days);
    let width = (frame.slot * 0.7).max(1.0);
    for i in 0..days.len() {
        let mut below = 0.0;
        for (class, values) in series {
            let value = values.get(i).copied().unwrap_or(0.0);
            if value <= 0.0 {
                continue;
            }
            let top = frame.y(below + value);
            chart.rects.push(Rect {
                x: at(frame.centre(i) - width / 2.0),
                y: at(top),
                width: at(width),
                height: at((frame.y(below) - top).max(0.5)),
                class,
            });
            below += value;
        }
    }
    chart
}

/// A line through one value per day, with a dot on each.
pub fn line(label: String, days: &[NaiveDate], values: &[f64]) -> Chart {
    let max = values.iter().copied().fold(0.0, f64::max);
    let frame = Frame::new(days.len(), max);
    let mut chart = frame.chart(label, days);
    let points: Vec<(f64, f64)> = values
        .iter()
        .take(days.len())
        .enumerate()
        .map(|(i, v)| (frame.centre(i), frame.y(*v)))
        .collect();
    chart.line = points
        .iter()
        .map(|(x, y)| format!("{},{}", at(*x), at(*y)))
        .collect::<Vec<_>>()
        .join(" ");
    chart.dots = points.iter().map(|(x, y)| Dot { x: at(*x), y: at(*y) }).collect();
    chart
}

/// One horizontal bar per row (`(name, value, class)`), in order from the top, scaled so the largest value
/// spans the plot; at most `MAX_ROWS` rows are drawn. Zero, negative and non-finite values draw no bar but keep
/// their row, name and value.
pub fn horizontal_bars(label: String, rows: &[(&str, f64, &'static str)]) -> Chart {
    let rows = rows.get(..rows.len().min(MAX_ROWS)).unwrap_or_default();
    let finite = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
    let max = rows.iter().map(|(_, v, _)| finite(*v)).fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let plot = WIDTH - ROW_LABELS - VALUE_LABELS;
    let slot = (HEIGHT - 2.0 * TOP) / rows.len().max(1) as f64;
    let thickness = (slot * 0.66).max(1.0);
    let mut chart = Chart {
        label,
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        rects: Vec::new(),
        line: String::new(),
        dots: Vec::new(),
        grid: Vec::new(),
        days: Vec::new(),
        rows: Vec::new(),
        values: Vec::new(),
        width: format!("{WIDTH}"),
        height: format!("{HEIGHT}"),
        base: at(HEIGHT - TOP),
        left: at(ROW_LABELS),
        right: at(WIDTH - VALUE_LABELS),
    };
    for (i, (name, value, class)) in rows.iter().enumerate() {
        let value = finite(*value);
        let centre = TOP + slot * (i as f64 + 0.5);
        let length = if value > 0.0 {
            ((value / max).clamp(0.0, 1.0) * plot).max(1.0)
        } else {
            0.0
        };
        if length > 0.0 {
            chart.rects.push(Rect {
                x: at(ROW_LABELS),
                y: at(centre - thickness / 2.0),
                width: at(length),
                height: at(thickness),
                class,
            });
        }
        let name: String = if name.chars().count() > MAX_ROW_LABEL {
            name.chars().take(MAX_ROW_LABEL - 1).chain(['…']).collect()
        } else {
            (*name).to_owned()
        };
        chart.rows.push(Label {
            x: at(ROW_LABELS - 6.0),
            y: at(centre + 4.0),
            text: name,
        });
        chart.values.push(Label {
            x: at(ROW_LABELS + length + 4.0),
            y: at(centre + 4.0),
            text: compact(value),
        });
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, d).unwrap()
    }

    #[test]
    fn scales_round_up_to_readable_numbers() {
        let cases = [
            (0.0, 1.0),
            (0.4, 0.5),
            (1.0, 1.0),
            (3.0, 5.0),
            (7.0, 10.0),
            (18.0, 20.0),
            (1234.0, 2000.0),
            (50_000.0, 50_000.0),
        ];
        for (value, ceiling) in cases {
            assert!((nice_ceiling(value) - ceiling).abs() < 1e-9, "{value}");
        }
        let labels = [
            (0.0, "0"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (12.5, "12.5"),
            (950.0, "950"),
            (1500.0, "1.5k"),
            (2000.0, "2k"),
            (12_600.0, "13k"),
            (3_200_000.0, "3.2M"),
            (4_100_000_000.0, "4.1B"),
            (2.5e12, "2.5T"),
            (9.2e18, "9.2e18"),
            (1e300, "1.0e300"),
        ];
        for (value, text) in labels {
            assert_eq!(compact(value), text, "{value}");
        }
    }

    #[test]
    fn the_calendar_fills_gaps_and_keeps_the_latest_days() {
        let days = calendar(&["2027-01-02", "2027-01-05"], 30);
        assert_eq!(days, [day(2), day(3), day(4), day(5)]);
        let latest = calendar(&["2027-01-01", "2027-01-20"], 5);
        assert_eq!(latest.first(), Some(&day(16)));
        assert_eq!(latest.last(), Some(&day(20)));
        assert!(calendar(&[], 30).is_empty());
        assert!(calendar(&["not a day"], 30).is_empty());
    }

    #[test]
    fn a_chart_is_as_large_whatever_the_span_of_its_days() {
        // Days thousands of years apart give as many days, bars and labels as a month does.
        for days in [
            vec!["2027-01-01", "2027-01-31"],
            vec!["1970-01-01", "9999-12-31"],
            vec!["0001-01-01", "2027-01-01", "9999-12-31"],
        ] {
            let calendar = calendar(&days, 30);
            assert_eq!(calendar.len(), 30, "{days:?}");
            let values = vec![1.0; calendar.len()];
            let bars = stacked_bars("calls".into(), &calendar, &[("ok", values.clone())]);
            assert_eq!(bars.rects.len(), 30);
            assert!(bars.days.len() <= MAX_DAY_LABELS);
            let line = line("latency".into(), &calendar, &values);
            assert_eq!(line.dots.len(), 30);
        }
    }

    #[test]
    fn bars_stack_from_the_baseline_and_the_tallest_reaches_the_scale() {
        let days = [day(1), day(2)];
        let chart = stacked_bars(
            "tokens".into(),
            &days,
            &[("in", vec![10.0, 0.0]), ("out", vec![10.0, 5.0])],
        );
        // Max 20 → scale 20; the plot spans y 10..156.
        assert_eq!(chart.grid.last().unwrap().label, "20");
        assert_eq!(chart.rects.len(), 3, "an empty part is not drawn");
        let first_in = &chart.rects[0];
        assert_eq!((first_in.class, first_in.y.as_str()), ("in", "83.0"));
        assert_eq!(first_in.height, "73.0");
        let first_out = &chart.rects[1];
        assert_eq!(
            (first_out.y.as_str(), first_out.height.as_str()),
            ("10.0", "73.0")
        );
        let second = &chart.rects[2];
        assert_eq!((second.class, second.y.as_str()), ("out", "119.5"));
        assert_eq!(chart.days.len(), 2);
        assert_eq!(chart.days[0].text, "1 Jan");
    }

    #[test]
    fn a_line_has_a_point_per_day_and_labels_are_thinned() {
        let days: Vec<NaiveDate> = (1..=20).map(day).collect();
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let chart = line("latency".into(), &days, &values);
        assert_eq!(chart.dots.len(), 20);
        assert_eq!(chart.line.split(' ').count(), 20);
        assert!(chart.days.len() <= MAX_DAY_LABELS);
        assert_eq!(
            chart.days.last().unwrap().text,
            "20 Jan",
            "the latest day is labelled"
        );
        assert_eq!(
            chart.dots.last().unwrap().y,
            "10.0",
            "the largest value touches the top"
        );
    }

    #[test]
    fn horizontal_bars_stay_in_the_canvas_whatever_the_values() {
        let names = [
            "Received",
            "Unique",
            "Confirmed",
            "Vendors notified",
            "Fixed",
            "Published",
        ];
        let cases: [[f64; 6]; 5] = [
            [0.0; 6],
            [4.0, 3.0, 2.0, 1.0, 1.0, 1.0],
            [i64::MAX as f64, 1.0, 0.0, 0.0, 0.0, 0.0],
            [f64::NAN, f64::INFINITY, -5.0, 1e300, 2.0, 0.0],
            [1.0; 6],
        ];
        for values in cases {
            let rows: Vec<(&str, f64, &'static str)> = names
                .iter()
                .zip(values)
                .map(|(n, v)| (*n, v, "chart-bar-ok"))
                .collect();
            let chart = horizontal_bars("funnel".into(), &rows);
            assert_eq!((chart.width.as_str(), chart.height.as_str()), ("360", "180"));
            assert_eq!(chart.rows.len(), 6, "{values:?}");
            assert_eq!(chart.values.len(), 6);
            assert!(chart.rects.len() <= 6);
            for r in &chart.rects {
                let (x, y): (f64, f64) = (r.x.parse().unwrap(), r.y.parse().unwrap());
                let (w, h): (f64, f64) = (r.width.parse().unwrap(), r.height.parse().unwrap());
                assert!(x >= 0.0 && y >= 0.0 && w >= 1.0 && h > 0.0, "{r:?}");
                assert!(
                    x + w <= WIDTH - VALUE_LABELS + 0.05 && y + h <= HEIGHT,
                    "{r:?} {values:?}"
                );
            }
            for l in chart.values.iter().chain(&chart.rows) {
                let x: f64 = l.x.parse().unwrap();
                assert!((0.0..=WIDTH).contains(&x), "{l:?}");
                assert!(l.text.chars().count() <= MAX_ROW_LABEL, "{l:?}");
            }
        }
        // Nothing at all: no bars, every row still named with its zero.
        let empty = horizontal_bars("funnel".into(), &[("Received", 0.0, "a"), ("Unique", 0.0, "a")]);
        assert!(empty.rects.is_empty());
        assert_eq!(empty.values[0].text, "0");
        // The largest value spans the plot; a tiny one is still seen.
        let chart = horizontal_bars("f".into(), &[("a", 1e9, "a"), ("b", 1.0, "a")]);
        assert_eq!(chart.rects[0].width, "204.0");
        assert_eq!(chart.rects[1].width, "1.0");
        assert_eq!(chart.values[0].text, "1B");
        // Rows beyond the bound are not drawn; long names are cut.
        let many: Vec<(&str, f64, &'static str)> = (0..100)
            .map(|_| ("A very long name for a row", 1.0, "a"))
            .collect();
        let chart = horizontal_bars("f".into(), &many);
        assert_eq!(chart.rects.len(), MAX_ROWS);
        assert_eq!(chart.rows[0].text.chars().count(), MAX_ROW_LABEL);
    }
}

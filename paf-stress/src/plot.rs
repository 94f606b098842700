//! The latency histogram as an SVG picture (`--plot FILE.svg`): the report's
//! buckets as bars on a logarithmic latency axis, with the median and the
//! 99th percentile marked. Both axes are labelled and carry ticks with their
//! values; the latency ticks are round numbers (1, 2, 5, … per decade, more
//! when the latencies span less than a decade). Drawn with plotters' SVG
//! backend alone, which writes text as SVG `<text>` and so needs no font
//! files.

use plotters::{
    coord::combinators::{BindKeyPoints, IntoLogRange},
    prelude::{
        ChartBuilder, Color, IntoDrawingArea, PathElement, Rectangle, SVGBackend,
        SeriesLabelPosition, BLACK, BLUE, GREEN, RED, WHITE,
    },
};

use crate::{args::Mode, report::Report};

/// The picture's size in pixels.
const SIZE: (u32, u32) = (960, 540);

/// The fewest latency ticks worth drawing, and the most before they crowd.
const MIN_TICKS: usize = 4;
const MAX_TICKS: usize = 14;

/// The latency axis when there is no response to draw.
const EMPTY_RANGE_MS: (f64, f64) = (0.1, 1000.0);

/// Draws the report's histogram; the SVG document as text.
pub fn svg(report: &Report) -> Result<String, String> {
    let mut out = String::new();
    draw(report, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw(report: &Report, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut title = format!(
        "{} {}: {} requests, {} clients, {} backend, {}",
        report.method, report.url, report.requests, report.concurrency, report.backend, report.mode
    );
    if report.interrupted {
        title.push_str(" (interrupted)");
    }
    let x_desc = match report.mode {
        Mode::ClosedLoop => "latency (ms, log scale)",
        Mode::ConstantRate { .. } => {
            "latency (ms, log scale), from each request's scheduled send time"
        }
    };

    let (low, high, y_max) = match (report.histogram.first(), report.histogram.last()) {
        (Some(first), Some(last)) => {
            // A log axis needs some width even when every response took as
            // long.
            let (mut low, mut high) = (first.from_ms, last.to_ms);
            if high <= low * 1.01 {
                low *= 0.9;
                high *= 1.1;
            }
            let top = report.histogram.iter().map(|b| b.count).max().unwrap_or(1);
            (low, high, top + top / 10 + 1)
        }
        _ => (EMPTY_RANGE_MS.0, EMPTY_RANGE_MS.1, 1),
    };

    let mut chart = ChartBuilder::on(&root)
        .caption(&title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (low..high)
                .log_scale()
                .with_key_points(log_ticks(low, high)),
            0u64..y_max,
        )?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("responses")
        .x_label_formatter(&|v| format_ms(*v))
        .y_labels(8)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;

    if report.histogram.is_empty() {
        // The axes alone, and why they are empty.
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, u64)>>())?
            .label("no response: latency n/a")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], WHITE.filled()));
    } else {
        chart
            .draw_series(report.histogram.iter().map(|b| {
                let (from, to) = if b.to_ms > b.from_ms {
                    (b.from_ms, b.to_ms)
                } else {
                    (low, high)
                };
                Rectangle::new([(from, 0), (to, b.count)], BLUE.mix(0.55).filled())
            }))?
            .label(format!("{} responses", report.responses))
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 14, y + 5)], BLUE.mix(0.55).filled())
            });
    }

    if let Some(l) = &report.latency_ms {
        for (name, value, color) in [("p50", l.p50, GREEN), ("p99", l.p99, RED)] {
            let x = value.clamp(low, high);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0), (x, y_max)],
                    color.stroke_width(2),
                )))?
                .label(format!("{name} {value:.3} ms"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                });
        }
    }
    chart
        .configure_series_labels()
        // Fast responses are few: the upper left is where the bars are not.
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Round tick values in `[low, high]` for a logarithmic axis: powers of ten,
/// else 1-2-5 per decade, else finer, whichever first gives `MIN_TICKS` (4)
/// without passing `MAX_TICKS` (14); on a range too narrow for any of these,
/// evenly spaced round values.
pub fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    const MANTISSAS: [&[f64]; 4] = [
        &[1.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    if !(low > 0.0 && high > low && high.is_finite()) {
        return Vec::new();
    }
    let mut best = Vec::new();
    for mantissas in MANTISSAS {
        let ticks = decade_ticks(mantissas, low, high);
        if ticks.len() > MAX_TICKS && !best.is_empty() {
            break;
        }
        best = ticks;
        if best.len() >= MIN_TICKS {
            return best;
        }
    }
    let linear = linear_ticks(low, high);
    if linear.len() > best.len() {
        linear
    } else {
        best
    }
}

/// `m × 10^e` for every mantissa `m` and decade `e` that falls in the range.
fn decade_ticks(mantissas: &[f64], low: f64, high: f64) -> Vec<f64> {
    // A hair of slack, so that an edge on a round value keeps its tick.
    let (lo, hi) = (low * (1.0 - 1e-9), high * (1.0 + 1e-9));
    let first = low.log10().floor() as i32;
    let last = high.log10().ceil() as i32;
    (first..=last)
        .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
        .filter(|v| (lo..=hi).contains(v))
        .collect()
}

/// Multiples of a round step (1, 2 or 5 × 10^e) that fall in the range,
/// about five of them.
fn linear_ticks(low: f64, high: f64) -> Vec<f64> {
    let rough = (high - low) / 4.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last)
        .map(|i| i as f64 * step)
        .filter(|&v| v > 0.0)
        .collect()
}

/// A latency in milliseconds with three significant digits and no trailing
/// zeros: `0.015`, `1`, `2.5`, `120`, `1500`.
pub fn format_ms(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return format!("{v}");
    }
    let decimals = (2 - v.log10().floor() as i32).clamp(0, 9) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &[f64]) -> Vec<String> {
        ticks.iter().map(|&v| format_ms(v)).collect()
    }

    #[test]
    fn wide_ranges_tick_on_decades_narrow_ones_finer() {
        assert_eq!(
            labels(&log_ticks(0.0005, 200.0)),
            ["0.001", "0.01", "0.1", "1", "10", "100"]
        );
        assert_eq!(
            labels(&log_ticks(0.012, 45.0)),
            ["0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20"]
        );
        assert_eq!(
            labels(&log_ticks(3.1, 19.0)),
            ["4", "5", "6", "7", "8", "9", "10", "15"]
        );
        // Every latency axis the tool can draw gets a few ticks inside it.
        for (low, high) in [(0.9, 1.1), (0.0135, 0.0165), (250.0, 310.0), (1e-6, 3.6e6)] {
            let ticks = log_ticks(low, high);
            assert!(
                ticks.len() >= 2 && ticks.len() <= MAX_TICKS,
                "{low}..{high}: {ticks:?}"
            );
            assert!(ticks.iter().all(|t| (low..=high).contains(t)), "{ticks:?}");
        }
        assert!(log_ticks(0.0, 1.0).is_empty() && log_ticks(2.0, 1.0).is_empty());
    }

    #[test]
    fn latencies_print_with_three_significant_digits() {
        assert_eq!(format_ms(0.015), "0.015");
        assert_eq!(format_ms(1.0), "1");
        assert_eq!(format_ms(2.5), "2.5");
        assert_eq!(format_ms(0.30000000000000004), "0.3");
        assert_eq!(format_ms(123.4), "123");
        assert_eq!(format_ms(1500.0), "1500");
    }
}

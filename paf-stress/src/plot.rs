//! The latency histogram as an SVG picture (`--plot FILE.svg`): the report's
//! buckets as bars on a logarithmic latency axis, with the median and the
//! 99th percentile marked. Drawn with plotters' SVG backend alone, which
//! writes text as SVG `<text>` and so needs no font files.

use plotters::{
    coord::combinators::IntoLogRange,
    prelude::{
        ChartBuilder, Color, IntoDrawingArea, PathElement, Rectangle, SVGBackend,
        SeriesLabelPosition, BLACK, BLUE, GREEN, RED, WHITE,
    },
};

use crate::report::Report;

/// The picture's size in pixels.
const SIZE: (u32, u32) = (960, 540);

/// Draws the report's histogram; the SVG document as text.
pub fn svg(report: &Report) -> Result<String, String> {
    let mut out = String::new();
    draw(report, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw(report: &Report, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "{} {}: {} requests, {} clients, {} backend",
        report.method, report.url, report.requests, report.concurrency, report.backend
    );

    let (Some(first), Some(last)) = (report.histogram.first(), report.histogram.last()) else {
        root.titled(&title, ("sans-serif", 18))?
            .titled("no response: nothing to draw", ("sans-serif", 16))?;
        root.present()?;
        return Ok(());
    };
    // A log axis needs some width even when every response took as long.
    let (mut low, mut high) = (first.from_ms, last.to_ms);
    if high <= low * 1.01 {
        low *= 0.9;
        high *= 1.1;
    }
    let top = report.histogram.iter().map(|b| b.count).max().unwrap_or(1);
    let y_max = top + top / 10 + 1;

    let mut chart = ChartBuilder::on(&root)
        .caption(&title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d((low..high).log_scale(), 0u64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, log scale)")
        .y_desc("responses")
        .x_label_formatter(&|v| format!("{v:.3}"))
        .draw()?;

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
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BLUE.mix(0.55).filled()));

    let l = &report.latency_ms;
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
    chart
        .configure_series_labels()
        // Fast responses are few: the upper left is where the bars are not.
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

//! The run-time chart: per kernel, each engine's run time relative to native, as grouped bars
//! on a log scale (a bar goes up from 1.0 when the engine is slower than native).

use std::path::Path;

use plotters::prelude::*;

use crate::error::{bail, Context, Result};

/// Bar colours, one per engine in order.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Writes an SVG to `path`: `ratios[k][e]` is engine `engines[e]`'s run time on kernel
/// `kernels[k]` divided by native's, or `None` if not measured.
pub fn run_time_svg(
    path: &Path,
    kernels: &[String],
    engines: &[String],
    ratios: &[Vec<Option<f64>>],
) -> Result<()> {
    if kernels.is_empty() || engines.is_empty() {
        bail!("nothing to chart");
    }
    let values = ratios.iter().flatten().flatten().copied();
    let (lo, hi) = values.fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let y_range = (lo * 0.8)..(hi * 1.25);

    let root = SVGBackend::new(path, (1200, 560)).into_drawing_area();
    root.fill(&WHITE).context("drawing the chart")?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Run time relative to native (lower is better)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(90)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..kernels.len() as f64, y_range.log_scale())
        .context("drawing the chart")?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("time / native time")
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .context("drawing the chart")?;

    let width = 0.8 / engines.len() as f64;
    for (e, engine) in engines.iter().enumerate() {
        let color = PALETTE[e % PALETTE.len()];
        let bars = ratios.iter().enumerate().filter_map(|(k, row)| {
            let ratio = row[e]?;
            let x0 = k as f64 + 0.1 + e as f64 * width;
            Some(Rectangle::new(
                [(x0, 1.0), (x0 + width, ratio)],
                color.filled(),
            ))
        });
        chart
            .draw_series(bars)
            .context("drawing the chart")?
            .label(engine.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 1.0), (kernels.len() as f64, 1.0)],
            BLACK.stroke_width(1),
        )))
        .context("drawing the chart")?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .context("drawing the chart")?;

    // Kernel names under the x axis, rotated a quarter turn clockwise so that long names fit
    // (the rotated glyphs extend left of the anchor, hence the shift right).
    let label_style = ("sans-serif", 14)
        .into_font()
        .transform(FontTransform::Rotate90)
        .color(&BLACK);
    let (_, bottom) = chart.plotting_area().get_pixel_range();
    for (k, name) in kernels.iter().enumerate() {
        let (x, _) = chart.backend_coord(&(k as f64 + 0.5, 1.0));
        root.draw(&Text::new(
            name.as_str(),
            (x + 6, bottom.end + 6),
            label_style.clone(),
        ))
        .context("drawing the chart")?;
    }
    root.present().context("writing the chart")?;
    Ok(())
}

//! The line-chart engine shared by the attention-distribution, softmax-scaling and sinusoid panels:
//! one line per series in matplotlib's colour cycle, a light grid, and a legend box.

use crate::colormap::tab10;
use crate::error::Result;
use crate::font;
use crate::style::{Fonts, GRID, INK};
use crate::ticks::{format_tick, nice_ticks, TickedAxis};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Where the legend box goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LegendAt {
    UpperLeft,
    UpperRight,
    LowerLeft,
}

/// A line chart to draw; series are already validated (non-empty, finite).
pub(crate) struct LineChart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// `(legend label, points)` per line.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    pub legend: LegendAt,
    /// Integer-only x ticks (positions).
    pub integer_x: bool,
    pub fonts: Fonts,
}

/// `[lo, hi]` widened by 5 % on each side (matplotlib's default margins); a point becomes ±0.5.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Draw the chart (title band, grid, lines, legend) filling `area`.
pub(crate) fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart_spec: &LineChart,
) -> Result<()> {
    font::ensure_registered()?;
    let f = chart_spec.fonts;
    let points = chart_spec.series.iter().flat_map(|(_, p)| p.iter());
    let (x_lo, x_hi, y_lo, y_hi) = points.fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    let (x_lo, x_hi) = padded(x_lo, x_hi);
    let (y_lo, y_hi) = padded(y_lo, y_hi);
    let (x_ticks, x_dec) = nice_ticks(x_lo, x_hi, 8, chart_spec.integer_x);
    let (y_ticks, y_dec) = nice_ticks(y_lo, y_hi, 9, false);

    let tick_style = f.tick_style();
    let y_texts: Vec<String> = y_ticks.iter().map(|&v| format_tick(v, y_dec)).collect();
    let y_label_w = y_texts
        .iter()
        .map(|t| super::heatmap::text_size(area, t, &tick_style).0)
        .max()
        .unwrap_or(0);
    let desc_h = (f.label * 1.35).round() as u32;
    let title_h = (f.title * 1.9).round() as u32;

    let (w, _) = area.dim_in_pixel();
    let (title_area, body) = area.split_vertically(title_h);
    let mut chart = ChartBuilder::on(&body)
        .margin_top(6)
        .margin_right(14)
        .margin_left(14)
        .margin_bottom(4)
        .x_label_area_size((f.tick * 1.2) as u32 + 9 + desc_h)
        .y_label_area_size(y_label_w + 13 + desc_h)
        .build_cartesian_2d(
            TickedAxis {
                start: x_lo,
                end: x_hi,
                ticks: x_ticks,
            },
            TickedAxis {
                start: y_lo,
                end: y_hi,
                ticks: y_ticks,
            },
        )?;
    let x_fmt = |v: &f64| format_tick(*v, x_dec);
    let y_fmt = |v: &f64| format_tick(*v, y_dec);
    chart
        .configure_mesh()
        .bold_line_style(GRID.stroke_width(1))
        .x_desc(chart_spec.x_desc)
        .y_desc(chart_spec.y_desc)
        .axis_desc_style(f.label_style())
        .label_style(tick_style)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .axis_style(INK)
        .set_all_tick_mark_size(5u32)
        .draw()?;

    for (i, (label, pts)) in chart_spec.series.iter().enumerate() {
        let color = tab10(i);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))
            });
    }
    // The frame on all four sides, like matplotlib's spines.
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x_lo, y_lo), (x_hi, y_hi)],
        INK.stroke_width(1),
    )))?;

    let position = match chart_spec.legend {
        LegendAt::UpperLeft => SeriesLabelPosition::UpperLeft,
        LegendAt::UpperRight => SeriesLabelPosition::UpperRight,
        LegendAt::LowerLeft => SeriesLabelPosition::LowerLeft,
    };
    chart
        .configure_series_labels()
        .position(position)
        .margin(8)
        .legend_area_size(30)
        .label_font(f.legend_style())
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()?;

    let (plot_x, _) = chart.plotting_area().get_pixel_range();
    if !chart_spec.title.is_empty() {
        let base = title_area.get_base_pixel();
        let cx = ((plot_x.start + plot_x.end) / 2 - base.0).clamp(0, w as i32);
        let style = f.title_style().pos(Pos::new(HPos::Center, VPos::Center));
        title_area.draw(&Text::new(
            chart_spec.title,
            (cx, title_h as i32 / 2 + 2),
            style,
        ))?;
    }
    Ok(())
}

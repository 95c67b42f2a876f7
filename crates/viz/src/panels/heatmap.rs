//! The heatmap engine shared by the positional-encoding map and the attention maps: cells coloured
//! by a colour map, row 0 at the top (matplotlib's `imshow`), integer ticks or token labels, and a
//! colour bar on the right.

use crate::error::Result;
use crate::font;
use crate::style::{Fonts, INK};
use crate::ticks::{format_tick, nice_ticks, TickedAxis};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Longest token label drawn in full; longer ones are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 14;
/// Smallest font, in pixels, for dense token labels before labels start being skipped.
const MIN_LABEL_PX: f64 = 7.0;

/// A colour map and the value range stretched over it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ColorScale {
    pub cmap: fn(f64) -> RGBColor,
    pub lo: f64,
    pub hi: f64,
}

impl ColorScale {
    /// `cmap` over `[lo, hi]`, widened when the range is empty (a constant matrix).
    pub fn new(cmap: fn(f64) -> RGBColor, lo: f64, hi: f64) -> ColorScale {
        let (lo, hi) = if hi - lo > 1e-12 * hi.abs().max(lo.abs()).max(1e-30) {
            (lo, hi)
        } else {
            let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
            (lo - pad, hi + pad)
        };
        ColorScale { cmap, lo, hi }
    }

    /// Symmetric about zero (`[-m, m]` with `m = max |v|`), so that 0 gets the map's middle colour.
    pub fn symmetric(cmap: fn(f64) -> RGBColor, data: &[f32]) -> ColorScale {
        let m = data.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
        ColorScale::new(cmap, -m, m)
    }

    fn color(&self, v: f64) -> RGBColor {
        (self.cmap)((v - self.lo) / (self.hi - self.lo))
    }
}

/// A heatmap to draw; inputs are already validated.
pub(crate) struct Heatmap<'a> {
    /// Row-major values; with `transposed`, `data` is `[cols, rows]` and cell (r, c) is `data[c·rows + r]`.
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub scale: ColorScale,
    pub row_labels: Option<&'a [String]>,
    pub col_labels: Option<&'a [String]>,
    pub colorbar: bool,
    pub fonts: Fonts,
}

impl Heatmap<'_> {
    fn value(&self, r: usize, c: usize) -> f64 {
        let i = if self.transposed {
            c * self.rows + r
        } else {
            r * self.cols + c
        };
        f64::from(self.data[i])
    }
}

/// Cut a label to [`MAX_LABEL_CHARS`] characters.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Width and height in pixels of `text` in `style` (0 when the backend cannot tell).
pub(crate) fn text_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
) -> (u32, u32) {
    area.estimate_text_size(text, style).unwrap_or((0, 0))
}

fn widest<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
    style: &TextStyle,
) -> u32 {
    labels
        .iter()
        .map(|l| text_size(area, l, style).0)
        .max()
        .unwrap_or(0)
}

/// How one axis of the heatmap is labelled.
struct AxisLabels {
    /// Tick positions (cell indices).
    ticks: Vec<f64>,
    /// Text at each tick position (indexed by cell), or `None` for numbers.
    tokens: Option<Vec<String>>,
    /// Font size of the tick labels.
    px: f64,
    /// Whether x labels are drawn vertically.
    rotated: bool,
    /// Size of the label area across the axis (pixels).
    area: u32,
}

/// Ticks for `n` cells: every `stride`-th cell (labels) or nice integers (numbers).
fn index_ticks(n: usize, stride: usize) -> Vec<f64> {
    (0..n).step_by(stride.max(1)).map(|i| i as f64).collect()
}

/// Draw a heatmap (title band, cells, axes, optional colour bar) filling `area`.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    h: &Heatmap,
) -> Result<()> {
    font::ensure_registered()?;
    let f = h.fonts;
    let (w, full_h) = area.dim_in_pixel();
    let tick_style = f.tick_style();
    let desc_h = (f.label * 1.35).round() as u32;
    let tick_len = 5u32;
    let (margin_top, margin_right, margin_left, margin_bottom) = (6u32, 10u32, 14u32, 4u32);

    let bar_w = if h.colorbar {
        colorbar_width(area, h.scale, &f)
    } else {
        0
    };

    let title_h = if h.title.is_empty() {
        6
    } else {
        (f.title * 1.9).round() as u32
    };
    let body_h = full_h.saturating_sub(title_h);

    // Y axis (rows): token labels or integer ticks.
    let y = {
        let guess_cell_h = body_h.saturating_sub(desc_h + 3 * f.tick as u32) as f64 / h.rows as f64;
        match h.row_labels {
            Some(labels) => {
                let px = (guess_cell_h * 0.85).clamp(MIN_LABEL_PX, f.tick);
                let style = font::text(px);
                let tokens: Vec<String> = labels.iter().map(|l| shorten(l)).collect();
                let stride = (px * 1.15 / guess_cell_h).ceil().max(1.0) as usize;
                let lw = widest(area, &tokens, &style);
                AxisLabels {
                    ticks: index_ticks(h.rows, stride),
                    tokens: Some(tokens),
                    px,
                    rotated: false,
                    area: lw + tick_len + 8 + desc_h,
                }
            }
            None => {
                let (ticks, _) = nice_ticks(0.0, (h.rows - 1) as f64, 8, true);
                let texts: Vec<String> = ticks.iter().map(|&v| format_tick(v, 0)).collect();
                AxisLabels {
                    ticks,
                    tokens: None,
                    px: f.tick,
                    rotated: false,
                    area: widest(area, &texts, &tick_style) + tick_len + 8 + desc_h,
                }
            }
        }
    };

    // X axis (columns): horizontal labels when they fit a cell, vertical ones otherwise.
    let plot_w = w
        .saturating_sub(bar_w + y.area + margin_left + margin_right)
        .max(1);
    let cell_w = plot_w as f64 / h.cols as f64;
    let x = match h.col_labels {
        Some(labels) => {
            let tokens: Vec<String> = labels.iter().map(|l| shorten(l)).collect();
            let lw = widest(area, &tokens, &tick_style);
            if f64::from(lw) <= cell_w * 0.9 {
                AxisLabels {
                    ticks: index_ticks(h.cols, 1),
                    tokens: Some(tokens),
                    px: f.tick,
                    rotated: false,
                    area: (f.tick * 1.2) as u32 + tick_len + 4 + desc_h,
                }
            } else {
                let px = (cell_w * 0.85).clamp(MIN_LABEL_PX, f.tick);
                let stride = (px * 1.15 / cell_w).ceil().max(1.0) as usize;
                let lw = widest(area, &tokens, &font::text(px));
                AxisLabels {
                    ticks: index_ticks(h.cols, stride),
                    tokens: Some(tokens),
                    px,
                    rotated: true,
                    area: lw + tick_len + 10 + desc_h,
                }
            }
        }
        None => {
            let (ticks, _) = nice_ticks(0.0, (h.cols - 1) as f64, 8, true);
            AxisLabels {
                ticks,
                tokens: None,
                px: f.tick,
                rotated: false,
                area: (f.tick * 1.2) as u32 + tick_len + 4 + desc_h,
            }
        }
    };

    let (title_area, body) = area.split_vertically(title_h);
    let (main, bar) = body.split_horizontally(w.saturating_sub(bar_w));

    let (rows, cols) = (h.rows as f64, h.cols as f64);
    let mut chart = ChartBuilder::on(&main)
        .margin_top(margin_top)
        .margin_right(margin_right)
        .margin_left(margin_left)
        .margin_bottom(margin_bottom)
        .x_label_area_size(x.area)
        .y_label_area_size(y.area)
        .build_cartesian_2d(
            TickedAxis {
                start: -0.5,
                end: cols - 0.5,
                ticks: x.ticks.clone(),
            },
            TickedAxis {
                start: rows - 0.5,
                end: -0.5,
                ticks: y.ticks.clone(),
            },
        )?;

    let label_of = |axis: &AxisLabels, v: f64| -> String {
        match (&axis.tokens, axis.rotated) {
            (_, true) => String::new(),
            (Some(tokens), false) => tokens.get(v.round() as usize).cloned().unwrap_or_default(),
            (None, false) => format_tick(v, 0),
        }
    };
    let x_fmt = |v: &f64| label_of(&x, *v);
    let y_fmt = |v: &f64| label_of(&y, *v);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(h.x_desc)
        .y_desc(h.y_desc)
        .axis_desc_style(f.label_style())
        .x_label_style(font::text(x.px))
        .y_label_style(font::text(y.px))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .axis_style(INK)
        .set_all_tick_mark_size(tick_len)
        .draw()?;

    // Pass 1: the cells.
    chart.draw_series((0..h.rows).flat_map(|r| {
        (0..h.cols).map(move |c| {
            let (r, c) = (r as f64, c as f64);
            let color = h.scale.color(h.value(r as usize, c as usize));
            Rectangle::new([(c - 0.5, r - 0.5), (c + 0.5, r + 0.5)], color.filled())
        })
    }))?;
    // Pass 2: the frame.
    chart.draw_series(std::iter::once(Rectangle::new(
        [(-0.5, -0.5), (cols - 0.5, rows - 0.5)],
        INK.stroke_width(1),
    )))?;

    // Pass 3: vertical token labels, drawn by hand (plotters centres rotated tick labels on the axis).
    if let (true, Some(tokens)) = (x.rotated, &x.tokens) {
        let base = main.get_base_pixel();
        let style = font::text(x.px)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for &t in &x.ticks {
            let (px, py) = chart.backend_coord(&(t, rows - 0.5));
            let at = (px - base.0, py - base.1 + (tick_len + 4) as i32);
            main.draw(&Text::new(tokens[t as usize].as_str(), at, style.clone()))?;
        }
    }

    // The title, centred over the plot (not over the colour bar).
    let (plot_x, plot_y) = chart.plotting_area().get_pixel_range();
    if !h.title.is_empty() {
        let base = title_area.get_base_pixel();
        let cx = (plot_x.start + plot_x.end) / 2 - base.0;
        let style = f.title_style().pos(Pos::new(HPos::Center, VPos::Center));
        title_area.draw(&Text::new(h.title, (cx, title_h as i32 / 2 + 2), style))?;
    }

    if h.colorbar {
        let base = bar.get_base_pixel();
        let (_, bar_h) = bar.dim_in_pixel();
        let top = (plot_y.start - base.1).max(0) as u32;
        let bottom = bar_h.saturating_sub((plot_y.end - base.1).max(0) as u32);
        draw_colorbar(&bar, h.scale, (top, bottom), &f)?;
    }
    Ok(())
}

/// Gap between a plot and its colour bar, and the bar's thickness, in pixels.
const BAR_GAP: u32 = 16;
const BAR_THICK: u32 = 20;

/// Colour-bar ticks and their decimals.
fn colorbar_ticks(scale: ColorScale) -> (Vec<f64>, usize) {
    nice_ticks(scale.lo, scale.hi, 9, false)
}

/// Width of the colour-bar label area (tick marks and numbers right of the bar).
fn colorbar_label_area<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: ColorScale,
    f: &Fonts,
) -> u32 {
    let (ticks, decimals) = colorbar_ticks(scale);
    let texts: Vec<String> = ticks.iter().map(|&v| format_tick(v, decimals)).collect();
    widest(area, &texts, &f.tick_style()) + 15
}

/// Width a colour bar needs: gap, bar, tick labels.
pub(crate) fn colorbar_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: ColorScale,
    f: &Fonts,
) -> u32 {
    BAR_GAP + BAR_THICK + colorbar_label_area(area, scale, f)
}

/// A vertical colour bar filling `area` less `top` and `bottom` margins (and [`BAR_GAP`] on the
/// left), labelled on its right.
pub(crate) fn draw_colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: ColorScale,
    (top, bottom): (u32, u32),
    f: &Fonts,
) -> Result<()> {
    let label_area = colorbar_label_area(area, scale, f);
    let (ticks, decimals) = colorbar_ticks(scale);
    let mut cb = ChartBuilder::on(area)
        .margin_top(top)
        .margin_bottom(bottom)
        .margin_left(BAR_GAP)
        .set_label_area_size(LabelAreaPosition::Right, label_area)
        .build_cartesian_2d(
            0.0..1.0,
            TickedAxis {
                start: scale.lo,
                end: scale.hi,
                ticks,
            },
        )?;
    let fmt = |v: &f64| format_tick(*v, decimals);
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_style(f.tick_style())
        .y_label_formatter(&fmt)
        .axis_style(INK)
        .set_all_tick_mark_size(5u32)
        .draw()?;
    // 256 strips, like matplotlib's lookup table.
    const STRIPS: usize = 256;
    let span = scale.hi - scale.lo;
    cb.draw_series((0..STRIPS).map(|k| {
        let v0 = scale.lo + span * k as f64 / STRIPS as f64;
        let v1 = scale.lo + span * (k + 1) as f64 / STRIPS as f64;
        let color = (scale.cmap)((k as f64 + 0.5) / STRIPS as f64);
        Rectangle::new([(0.0, v0), (1.0, v1)], color.filled())
    }))?;
    cb.draw_series(std::iter::once(Rectangle::new(
        [(0.0, scale.lo), (1.0, scale.hi)],
        INK.stroke_width(1),
    )))?;
    Ok(())
}

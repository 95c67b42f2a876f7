//! Attention figures: one head's weights as a heatmap (panels 2 and 6 of the seed), one query's
//! weights per head as lines (panel 3), every head of a layer as a grid, and one query token across
//! layers.

use super::heatmap::{colorbar_width, draw_colorbar, draw_heatmap, ColorScale, Heatmap};
use super::lines::{draw_lines, LegendAt, LineChart};
use crate::colormap::viridis;
use crate::error::{Error, Result};
use crate::font;
use crate::output::Figure;
use crate::style::Fonts;
use crate::validate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::borrow::Cow;

/// Attention weights of one head as a heatmap: x = Key Position, y = Query Position (query 0 at the
/// top), viridis, a colour bar. With labels (WordPiece tokens, say) the ticks show them, vertically
/// on x when they do not fit a cell; characters the embedded font lacks (CJK) show as boxes.
#[derive(Clone, Debug)]
pub struct AttentionHeatmap<'a> {
    weights: &'a [f32],
    rows: usize,
    cols: usize,
    row_labels: Option<&'a [String]>,
    col_labels: Option<&'a [String]>,
    title: String,
    range: Option<(f64, f64)>,
}

impl<'a> AttentionHeatmap<'a> {
    /// `weights` is `[rows, cols]`, row-major (row = query, column = key), finite; labels, when
    /// given, have `rows` and `cols` entries.
    pub fn new(
        weights: &'a [f32],
        rows: usize,
        cols: usize,
        row_labels: Option<&'a [String]>,
        col_labels: Option<&'a [String]>,
        title: &str,
    ) -> Result<Self> {
        validate::matrix("attention_heatmap weights", weights, rows, cols)?;
        validate::labels("attention_heatmap row_labels", row_labels, rows)?;
        validate::labels("attention_heatmap col_labels", col_labels, cols)?;
        Ok(AttentionHeatmap {
            weights,
            rows,
            cols,
            row_labels,
            col_labels,
            title: title.into(),
            range: None,
        })
    }

    /// Fix the colour range (default: the data's minimum to maximum, as matplotlib's `imshow`);
    /// `[0, 1]` makes maps of different heads comparable. `lo < hi`, both finite.
    pub fn range(mut self, lo: f64, hi: f64) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::Invalid {
                what: "attention_heatmap range",
                reason: format!("[{lo}, {hi}] is not an increasing finite range"),
            });
        }
        self.range = Some((lo, hi));
        Ok(self)
    }

    fn heatmap(&self, fonts: Fonts, colorbar: bool) -> Heatmap<'_> {
        let (lo, hi) = self
            .range
            .unwrap_or_else(|| validate::min_max(self.weights));
        Heatmap {
            data: self.weights,
            rows: self.rows,
            cols: self.cols,
            transposed: false,
            title: &self.title,
            x_desc: "Key Position",
            y_desc: "Query Position",
            scale: ColorScale::new(viridis, lo, hi),
            row_labels: self.row_labels,
            col_labels: self.col_labels,
            colorbar,
            fonts,
        }
    }
}

impl Figure for AttentionHeatmap<'_> {
    fn size(&self) -> (u32, u32) {
        if self.col_labels.is_some() || self.row_labels.is_some() {
            (900, 800)
        } else {
            (700, 600)
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        draw_heatmap(area, &self.heatmap(Fonts::STANDARD, true))
    }
}

/// One query's attention over key positions, one line per head, legend "Head 1" … "Head n".
#[derive(Clone, Debug)]
pub struct QueryAttentionLines<'a> {
    per_head: Cow<'a, [Vec<f32>]>,
    title: String,
}

impl<'a> QueryAttentionLines<'a> {
    /// `per_head[h]` is head h's weights over the keys; all heads have the same, non-zero length.
    pub fn new(per_head: &'a [Vec<f32>], title: &str) -> Result<Self> {
        Self::checked(Cow::Borrowed(per_head), title)
    }

    /// As [`QueryAttentionLines::new`], owning the rows.
    pub fn from_rows(per_head: Vec<Vec<f32>>, title: &str) -> Result<QueryAttentionLines<'static>> {
        QueryAttentionLines::checked(Cow::Owned(per_head), title)
    }

    fn checked(per_head: Cow<'a, [Vec<f32>]>, title: &str) -> Result<Self> {
        validate::non_empty("query_attention_lines per_head", &per_head)?;
        let n = per_head[0].len();
        for (h, row) in per_head.iter().enumerate() {
            validate::series("query_attention_lines row", row)?;
            if row.len() != n {
                return Err(Error::Shape {
                    what: "query_attention_lines row",
                    shape: format!("[{n}] (as head 1) for head {}", h + 1),
                    expected: n,
                    found: row.len(),
                });
            }
        }
        Ok(QueryAttentionLines {
            per_head,
            title: title.into(),
        })
    }
}

impl Figure for QueryAttentionLines<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let series = self
            .per_head
            .iter()
            .enumerate()
            .map(|(h, row)| {
                let pts = row
                    .iter()
                    .enumerate()
                    .map(|(k, &w)| (k as f64, f64::from(w)))
                    .collect();
                (format!("Head {}", h + 1), pts)
            })
            .collect();
        draw_lines(
            area,
            &LineChart {
                title: &self.title,
                x_desc: "Key Position",
                y_desc: "Attention Weight",
                series,
                legend: LegendAt::UpperRight,
                integer_x: true,
                fonts: Fonts::STANDARD,
            },
        )
    }
}

/// Columns and rows of a near-square grid of `n` panels.
fn grid_shape(n: usize) -> (usize, usize) {
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(1);
    (cols, n.div_ceil(cols))
}

/// Draw a figure title in a band at the top of `area` and return the area below it.
fn suptitle<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>> {
    font::ensure_registered()?;
    let px = Fonts::STANDARD.title + 2.0;
    let band = (px * 2.0).round() as u32;
    let (top, rest) = area.split_vertically(band);
    let (w, _) = top.dim_in_pixel();
    let style = font::text(px).pos(Pos::new(HPos::Center, VPos::Center));
    top.draw(&Text::new(
        title,
        (w as i32 / 2, band as i32 / 2 + 2),
        style,
    ))?;
    Ok(rest)
}

/// Every head of one layer as a grid of heatmaps ("Head 1" …) with one shared colour range and
/// colour bar, token labels on every panel.
#[derive(Clone, Debug)]
pub struct AttentionGrid<'a> {
    heads: Vec<AttentionHeatmap<'a>>,
    title: String,
}

impl<'a> AttentionGrid<'a> {
    /// `heads[h]` is head h's `[seq, seq]` weights, row-major; `labels`, when given, has `seq`
    /// entries and labels both axes.
    pub fn new(
        heads: &'a [Vec<f32>],
        seq: usize,
        labels: Option<&'a [String]>,
        title: &str,
    ) -> Result<Self> {
        validate::non_empty("attention_grid heads", heads)?;
        for w in heads {
            validate::matrix("attention_grid head weights", w, seq, seq)?;
        }
        validate::labels("attention_grid labels", labels, seq)?;
        let (lo, hi) = heads
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |acc, w| {
                let (a, b) = validate::min_max(w);
                (acc.0.min(a), acc.1.max(b))
            });
        let scale = ColorScale::new(viridis, lo, hi);
        let heads = heads
            .iter()
            .enumerate()
            .map(|(h, w)| {
                AttentionHeatmap::new(w, seq, seq, labels, labels, &format!("Head {}", h + 1))
                    .and_then(|m| m.range(scale.lo, scale.hi))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AttentionGrid {
            heads,
            title: title.into(),
        })
    }
}

impl Figure for AttentionGrid<'_> {
    fn size(&self) -> (u32, u32) {
        let (cols, rows) = grid_shape(self.heads.len());
        (cols as u32 * 420 + 90, rows as u32 * 420 + 44)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = suptitle(area, &self.title)?;
        // One colour bar for all heads (they share the scale), the full height of the grid.
        let (w, h) = body.dim_in_pixel();
        let scale = self.heads[0].heatmap(Fonts::SMALL, false).scale;
        let bar_w = colorbar_width(&body, scale, &Fonts::SMALL);
        let (grid, bar) = body.split_horizontally(w.saturating_sub(bar_w));
        let (cols, rows) = grid_shape(self.heads.len());
        let cells = grid.split_evenly((rows, cols));
        for (head, cell) in self.heads.iter().zip(cells.iter()) {
            draw_heatmap(cell, &head.heatmap(Fonts::SMALL, false))?;
        }
        draw_colorbar(&bar, scale, (h / 20, h / 10), &Fonts::SMALL)
    }
}

/// One query token's attention over the keys in every layer: a heatmap with one row per layer
/// ("Layer 1" at the top), keys along x (token labels when given), viridis, a colour bar.
#[derive(Clone, Debug)]
pub struct TokenAcrossLayers<'a> {
    data: Vec<f32>,
    layers: usize,
    keys: usize,
    layer_labels: Vec<String>,
    labels: Option<&'a [String]>,
    title: String,
}

impl<'a> TokenAcrossLayers<'a> {
    /// `per_layer[l]` is the query token's weights over the keys in layer l (for example averaged
    /// over heads); all layers have the same, non-zero length, equal to `labels.len()` when given.
    pub fn new(per_layer: &[Vec<f32>], labels: Option<&'a [String]>, title: &str) -> Result<Self> {
        validate::non_empty("token_across_layers per_layer", per_layer)?;
        let keys = per_layer[0].len();
        for row in per_layer {
            validate::series("token_across_layers row", row)?;
            if row.len() != keys {
                return Err(Error::Shape {
                    what: "token_across_layers row",
                    shape: format!("[{keys}] (as layer 1)"),
                    expected: keys,
                    found: row.len(),
                });
            }
        }
        validate::labels("token_across_layers labels", labels, keys)?;
        Ok(TokenAcrossLayers {
            data: per_layer.concat(),
            layers: per_layer.len(),
            keys,
            layer_labels: (1..=per_layer.len())
                .map(|l| format!("Layer {l}"))
                .collect(),
            labels,
            title: title.into(),
        })
    }
}

impl Figure for TokenAcrossLayers<'_> {
    fn size(&self) -> (u32, u32) {
        (900, (200 + 40 * self.layers as u32).min(1400))
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (lo, hi) = validate::min_max(&self.data);
        draw_heatmap(
            area,
            &Heatmap {
                data: &self.data,
                rows: self.layers,
                cols: self.keys,
                transposed: false,
                title: &self.title,
                x_desc: "Key Position",
                y_desc: "Layer",
                scale: ColorScale::new(viridis, lo, hi),
                row_labels: Some(&self.layer_labels),
                col_labels: self.labels,
                colorbar: true,
                fonts: Fonts::STANDARD,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::grid_shape;

    #[test]
    fn grids_are_near_square() {
        assert_eq!(grid_shape(1), (1, 1));
        assert_eq!(grid_shape(4), (2, 2));
        assert_eq!(grid_shape(6), (3, 2));
        assert_eq!(grid_shape(12), (4, 3));
        assert_eq!(grid_shape(16), (4, 4));
    }
}

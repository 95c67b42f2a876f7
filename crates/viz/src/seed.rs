//! The seed notebook's six-panel figure (2 × 3, 1600 × 1200 pixels like its 16 × 12 inches).

use crate::error::{Error, Result};
use crate::output::Figure;
use crate::panels::attention::{AttentionHeatmap, QueryAttentionLines};
use crate::panels::pe::{PeHeatmap, PeSinusoids};
use crate::panels::softmax::SoftmaxScaling;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The arrays behind the six panels. Matrices are row-major.
#[derive(Clone, Debug, Default)]
pub struct SeedFigureData {
    /// Positional encoding, `[pe_positions, pe_dims]` (the seed: 50 × 64). Panels 1 and 5.
    pub pe: Vec<f32>,
    /// Rows of `pe`.
    pub pe_positions: usize,
    /// Columns of `pe`.
    pub pe_dims: usize,
    /// Dimensions drawn in panel 5 (the seed: 0, 4, 8, 16, 32).
    pub sinusoid_dims: Vec<usize>,
    /// Attention weights of each head, each `[seq_len, seq_len]` (the seed: 4 heads, 10 × 10).
    /// Panel 2 shows head 1; panel 3 row `query` of every head.
    pub head_weights: Vec<Vec<f32>>,
    /// Sequence length of the attention matrices.
    pub seq_len: usize,
    /// The query position of panel 3 (the seed: 0).
    pub query: usize,
    /// Panel 4's input scores (the seed: 100 points in [−3, 3]).
    pub softmax_x: Vec<f32>,
    /// Panel 4's curves: `(scale, softmax(softmax_x · scale))` (the seed: 0.5, 1, 2, 4).
    pub softmax_curves: Vec<(f32, Vec<f32>)>,
    /// Causally masked attention weights, `[seq_len, seq_len]`, lower-triangular. Panel 6.
    pub causal_weights: Vec<f32>,
}

/// The six panels, checked and ready to draw.
#[derive(Clone, Debug)]
pub struct SixPanelFigure<'a> {
    pe: PeHeatmap<'a>,
    head: AttentionHeatmap<'a>,
    lines: QueryAttentionLines<'a>,
    softmax: SoftmaxScaling<'a>,
    sinusoids: PeSinusoids<'a>,
    causal: AttentionHeatmap<'a>,
}

impl<'a> SixPanelFigure<'a> {
    /// Check `data` and build the panels.
    pub fn new(data: &'a SeedFigureData) -> Result<Self> {
        let n = data.seq_len;
        let first = data.head_weights.first().ok_or_else(|| Error::Invalid {
            what: "six_panel_figure head_weights",
            reason: "no heads".into(),
        })?;
        if data.query >= n {
            return Err(Error::Invalid {
                what: "six_panel_figure query",
                reason: format!("query {} is out of range (seq_len {n})", data.query),
            });
        }
        for w in &data.head_weights {
            crate::validate::matrix("six_panel_figure head weights", w, n, n)?;
        }
        let query_rows: Vec<Vec<f32>> = data
            .head_weights
            .iter()
            .map(|w| w[data.query * n..(data.query + 1) * n].to_vec())
            .collect();
        Ok(SixPanelFigure {
            pe: PeHeatmap::new(&data.pe, data.pe_positions, data.pe_dims)?,
            head: AttentionHeatmap::new(first, n, n, None, None, "Attention Weights (Head 1)")?,
            lines: QueryAttentionLines::from_rows(
                query_rows,
                &format!("Attention Distribution (Query pos {})", data.query),
            )?,
            softmax: SoftmaxScaling::new(&data.softmax_x, &data.softmax_curves)?,
            sinusoids: PeSinusoids::new(
                &data.pe,
                data.pe_positions,
                data.pe_dims,
                &data.sinusoid_dims,
            )?,
            causal: AttentionHeatmap::new(
                &data.causal_weights,
                n,
                n,
                None,
                None,
                "Causal (Masked) Attention",
            )?,
        })
    }
}

impl Figure for SixPanelFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1600, 1200)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let cells = area.split_evenly((2, 3));
        self.pe.draw(&cells[0])?;
        self.head.draw(&cells[1])?;
        self.lines.draw(&cells[2])?;
        self.softmax.draw(&cells[3])?;
        self.sinusoids.draw(&cells[4])?;
        self.causal.draw(&cells[5])?;
        Ok(())
    }
}

/// Write the six-panel figure of `data` to `path` (`.png` or `.svg`) at 1600 × 1200 pixels.
pub fn six_panel_figure(data: &SeedFigureData, path: impl AsRef<Path>) -> Result<()> {
    SixPanelFigure::new(data)?.write(path)
}

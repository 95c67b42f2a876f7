//! Positional-encoding figures: the heatmap (panel 1 of the seed) and the sinusoids (panel 5).

use super::heatmap::{draw_heatmap, ColorScale, Heatmap};
use super::lines::{draw_lines, LegendAt, LineChart};
use crate::colormap::rdbu;
use crate::error::{Error, Result};
use crate::output::Figure;
use crate::style::Fonts;
use crate::validate;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Positional encoding as a heatmap: x = Position, y = Dimension (dimension 0 at the top), the
/// diverging `RdBu` map symmetric about 0 (red negative, white 0, blue positive), a colour bar.
#[derive(Clone, Debug)]
pub struct PeHeatmap<'a> {
    pe: &'a [f32],
    positions: usize,
    dims: usize,
    title: String,
}

impl<'a> PeHeatmap<'a> {
    /// `pe` is `[positions, dims]`, row-major (`pe[pos·dims + i]`), finite.
    pub fn new(pe: &'a [f32], positions: usize, dims: usize) -> Result<Self> {
        validate::matrix("pe_heatmap pe", pe, positions, dims)?;
        Ok(PeHeatmap {
            pe,
            positions,
            dims,
            title: "Positional Encoding".into(),
        })
    }

    /// Replace the title (default "Positional Encoding").
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }
}

impl Figure for PeHeatmap<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        draw_heatmap(
            area,
            &Heatmap {
                data: self.pe,
                rows: self.dims,
                cols: self.positions,
                transposed: true,
                title: &self.title,
                x_desc: "Position",
                y_desc: "Dimension",
                scale: ColorScale::symmetric(rdbu, self.pe),
                row_labels: None,
                col_labels: None,
                colorbar: true,
                fonts: Fonts::STANDARD,
            },
        )
    }
}

/// Positional-encoding value against position for a few dimensions, one line each, legend "dim i".
#[derive(Clone, Debug)]
pub struct PeSinusoids<'a> {
    pe: &'a [f32],
    positions: usize,
    dims: usize,
    which_dims: Vec<usize>,
    title: String,
}

impl<'a> PeSinusoids<'a> {
    /// `pe` is `[positions, dims]`, row-major; `which_dims` (the seed: 0, 4, 8, 16, 32) must be
    /// non-empty and each `< dims`.
    pub fn new(pe: &'a [f32], positions: usize, dims: usize, which_dims: &[usize]) -> Result<Self> {
        validate::matrix("pe_sinusoids pe", pe, positions, dims)?;
        validate::non_empty("pe_sinusoids which_dims", which_dims)?;
        if let Some(&d) = which_dims.iter().find(|&&d| d >= dims) {
            return Err(Error::Invalid {
                what: "pe_sinusoids which_dims",
                reason: format!("dimension {d} is out of range (the encoding has {dims})"),
            });
        }
        Ok(PeSinusoids {
            pe,
            positions,
            dims,
            which_dims: which_dims.to_vec(),
            title: "Positional Encoding Sinusoids".into(),
        })
    }

    /// Replace the title (default "Positional Encoding Sinusoids").
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }
}

impl Figure for PeSinusoids<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let series = self
            .which_dims
            .iter()
            .map(|&d| {
                let pts = (0..self.positions)
                    .map(|p| (p as f64, f64::from(self.pe[p * self.dims + d])))
                    .collect();
                (format!("dim {d}"), pts)
            })
            .collect();
        draw_lines(
            area,
            &LineChart {
                title: &self.title,
                x_desc: "Position",
                y_desc: "Encoding Value",
                series,
                legend: LegendAt::LowerLeft,
                integer_x: true,
                fonts: Fonts::STANDARD,
            },
        )
    }
}

//! One-call forms of the figures: `name(area, …)` draws into a plotters drawing area (to compose
//! grids), `write_name(path, …)` writes a standalone PNG or SVG chosen by the path's extension.
//! Each is a thin wrapper over the figure type of the same name and its [`Figure`] methods.

use crate::error::Result;
use crate::output::Figure;
use crate::panels::attention::{
    AttentionGrid, AttentionHeatmap, QueryAttentionLines, TokenAcrossLayers,
};
use crate::panels::pe::{PeHeatmap, PeSinusoids};
use crate::panels::softmax::SoftmaxScaling;
use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend};
use std::path::Path;

/// Draw the positional-encoding heatmap ([`PeHeatmap`]); `pe` is `[positions, dims]`.
pub fn pe_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pe: &[f32],
    positions: usize,
    dims: usize,
) -> Result<()> {
    PeHeatmap::new(pe, positions, dims)?.draw(area)
}

/// Write the positional-encoding heatmap ([`PeHeatmap`]) to `path`.
pub fn write_pe_heatmap(
    path: impl AsRef<Path>,
    pe: &[f32],
    positions: usize,
    dims: usize,
) -> Result<()> {
    PeHeatmap::new(pe, positions, dims)?.write(path)
}

/// Draw one head's attention heatmap ([`AttentionHeatmap`]); `weights` is `[rows, cols]`.
pub fn attention_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    weights: &[f32],
    rows: usize,
    cols: usize,
    row_labels: Option<&[String]>,
    col_labels: Option<&[String]>,
    title: &str,
) -> Result<()> {
    AttentionHeatmap::new(weights, rows, cols, row_labels, col_labels, title)?.draw(area)
}

/// Write one head's attention heatmap ([`AttentionHeatmap`]) to `path`.
pub fn write_attention_heatmap(
    path: impl AsRef<Path>,
    weights: &[f32],
    rows: usize,
    cols: usize,
    row_labels: Option<&[String]>,
    col_labels: Option<&[String]>,
    title: &str,
) -> Result<()> {
    AttentionHeatmap::new(weights, rows, cols, row_labels, col_labels, title)?.write(path)
}

/// Draw one query's attention per head as lines ([`QueryAttentionLines`]).
pub fn query_attention_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    per_head: &[Vec<f32>],
    title: &str,
) -> Result<()> {
    QueryAttentionLines::new(per_head, title)?.draw(area)
}

/// Write one query's attention per head as lines ([`QueryAttentionLines`]) to `path`.
pub fn write_query_attention_lines(
    path: impl AsRef<Path>,
    per_head: &[Vec<f32>],
    title: &str,
) -> Result<()> {
    QueryAttentionLines::new(per_head, title)?.write(path)
}

/// Draw "Effect of Scaling on Softmax" ([`SoftmaxScaling`]).
pub fn softmax_scaling<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: &[f32],
    curves: &[(f32, Vec<f32>)],
) -> Result<()> {
    SoftmaxScaling::new(x, curves)?.draw(area)
}

/// Write "Effect of Scaling on Softmax" ([`SoftmaxScaling`]) to `path`.
pub fn write_softmax_scaling(
    path: impl AsRef<Path>,
    x: &[f32],
    curves: &[(f32, Vec<f32>)],
) -> Result<()> {
    SoftmaxScaling::new(x, curves)?.write(path)
}

/// Draw positional-encoding sinusoids for `which_dims` ([`PeSinusoids`]).
pub fn pe_sinusoids<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pe: &[f32],
    positions: usize,
    dims: usize,
    which_dims: &[usize],
) -> Result<()> {
    PeSinusoids::new(pe, positions, dims, which_dims)?.draw(area)
}

/// Write positional-encoding sinusoids for `which_dims` ([`PeSinusoids`]) to `path`.
pub fn write_pe_sinusoids(
    path: impl AsRef<Path>,
    pe: &[f32],
    positions: usize,
    dims: usize,
    which_dims: &[usize],
) -> Result<()> {
    PeSinusoids::new(pe, positions, dims, which_dims)?.write(path)
}

/// Draw every head of a layer as a grid of heatmaps ([`AttentionGrid`]); each head is `[seq, seq]`.
pub fn attention_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heads: &[Vec<f32>],
    seq: usize,
    labels: Option<&[String]>,
    title: &str,
) -> Result<()> {
    AttentionGrid::new(heads, seq, labels, title)?.draw(area)
}

/// Write every head of a layer as a grid of heatmaps ([`AttentionGrid`]) to `path`.
pub fn write_attention_grid(
    path: impl AsRef<Path>,
    heads: &[Vec<f32>],
    seq: usize,
    labels: Option<&[String]>,
    title: &str,
) -> Result<()> {
    AttentionGrid::new(heads, seq, labels, title)?.write(path)
}

/// Draw one query token's attention in every layer ([`TokenAcrossLayers`]).
pub fn token_across_layers<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    per_layer: &[Vec<f32>],
    labels: Option<&[String]>,
    title: &str,
) -> Result<()> {
    TokenAcrossLayers::new(per_layer, labels, title)?.draw(area)
}

/// Write one query token's attention in every layer ([`TokenAcrossLayers`]) to `path`.
pub fn write_token_across_layers(
    path: impl AsRef<Path>,
    per_layer: &[Vec<f32>],
    labels: Option<&[String]>,
    title: &str,
) -> Result<()> {
    TokenAcrossLayers::new(per_layer, labels, title)?.write(path)
}

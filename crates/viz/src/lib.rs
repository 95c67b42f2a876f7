//! # qkv-viz: the figures of qkv
//!
//! Draws what the seed notebook's figure shows, for any encoder qkv runs: positional-encoding
//! heatmaps and sinusoids, attention heatmaps (one head, every head of a layer as a grid, one token
//! across layers, with WordPiece tokens as tick labels), one query's attention per head, and the
//! effect of scaling on softmax; and the seed's six-panel figure.
//!
//! * Every figure is a type that checks its inputs when built (shapes, label counts, finite values:
//!   a clear [`Error`], never a panic) and implements [`Figure`]: it draws into any plotters
//!   [`DrawingArea`](plotters::drawing::DrawingArea), so figures compose into grids, and writes
//!   itself as PNG or SVG by the path's extension ([`Format`]), or both
//!   ([`Figure::write_png_and_svg`]). The free functions (`pe_heatmap`, `write_pe_heatmap`, …) are
//!   one-call forms of the same.
//! * Colours are matplotlib's: [`viridis`] for weights, the diverging [`rdbu`] (symmetric about 0)
//!   for positional encodings, [`tab10`] for lines.
//! * Text is drawn with an embedded font (DejaVu Sans, Bitstream Vera license; see
//!   `assets/LICENSE-DejaVu.txt`) through plotters' `ab_glyph` backend, so PNGs render the same on a
//!   machine with no system fonts. SVGs keep text as text in the `sans-serif` family.
//!
//! Matrices are `&[f32]`, row-major, with their shape passed beside them. This crate draws; it does
//! not compute attention (that is `qkv-core` and `qkv-encoder`), except for the formula data of
//! [`demo`].
//!
//! ```no_run
//! use qkv_viz::{demo, Figure, SixPanelFigure};
//!
//! # fn main() -> Result<(), qkv_viz::Error> {
//! let data = demo::seed_figure_data(42);
//! SixPanelFigure::new(&data)?.write("figure.png")?;
//! qkv_viz::write_attention_heatmap(
//!     "head1.svg",
//!     &data.head_weights[0],
//!     data.seq_len,
//!     data.seq_len,
//!     None,
//!     None,
//!     "Attention Weights (Head 1)",
//! )?;
//! # Ok(())
//! # }
//! ```

mod colormap;
pub mod demo;
mod error;
mod font;
mod functions;
mod output;
mod panels;
mod seed;
mod style;
mod ticks;
mod typeset;
mod validate;

pub use colormap::{rdbu, tab10, viridis};
pub use error::{Error, Result};
pub use functions::*;
pub use output::{write_png_and_svg, Figure, Format, MAX_SIDE};
pub use panels::attention::{
    AttentionGrid, AttentionHeatmap, QueryAttentionLines, TokenAcrossLayers,
};
pub use panels::pe::{PeHeatmap, PeSinusoids};
pub use panels::softmax::SoftmaxScaling;
/// The plotters version these figures draw with, for callers composing their own areas.
pub use plotters;
pub use seed::{six_panel_figure, SeedFigureData, SixPanelFigure};
pub use typeset::Typeset;

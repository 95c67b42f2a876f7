//! Sizes of text and furniture, in pixels. The defaults suit a panel of about 530 × 600 pixels (one
//! sixth of the 1600 × 1200 six-panel figure, like matplotlib's 16 × 12 inch figure at 100 dpi).

use crate::font;
use plotters::style::{RGBColor, TextStyle};

/// Text sizes of one panel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fonts {
    pub title: f64,
    pub label: f64,
    pub tick: f64,
    pub legend: f64,
}

impl Fonts {
    /// Panels of the six-panel figure and standalone figures.
    pub const STANDARD: Fonts = Fonts {
        title: 19.0,
        label: 15.0,
        tick: 13.0,
        legend: 13.0,
    };
    /// Small multiples (one heatmap per head or per layer).
    pub const SMALL: Fonts = Fonts {
        title: 15.0,
        label: 12.0,
        tick: 11.0,
        legend: 11.0,
    };

    pub fn title_style(&self) -> TextStyle<'static> {
        font::text(self.title)
    }
    pub fn label_style(&self) -> TextStyle<'static> {
        font::text(self.label)
    }
    pub fn tick_style(&self) -> TextStyle<'static> {
        font::text(self.tick)
    }
    pub fn legend_style(&self) -> TextStyle<'static> {
        font::text(self.legend)
    }
}

/// Light grey of grid lines (matplotlib's `alpha=0.3` grid on white).
pub(crate) const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
/// Axis lines, ticks and text.
pub(crate) const INK: RGBColor = RGBColor(0x20, 0x20, 0x20);

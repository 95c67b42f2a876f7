//! "Effect of Scaling on Softmax" (panel 4 of the seed): softmax(x·s) against x for a few scales s.

use super::lines::{draw_lines, LegendAt, LineChart};
use crate::error::{Error, Result};
use crate::output::Figure;
use crate::style::Fonts;
use crate::validate;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One curve per scale s, legend "scale=s"; x = Input Score, y = Softmax Output.
#[derive(Clone, Debug)]
pub struct SoftmaxScaling<'a> {
    x: &'a [f32],
    curves: &'a [(f32, Vec<f32>)],
    title: String,
}

/// A scale as Python prints a float: `0.5`, `1.0`, `4.0`.
fn scale_label(s: f32) -> String {
    if s.fract() == 0.0 && s.abs() < 1e7 {
        format!("scale={s:.1}")
    } else {
        format!("scale={s}")
    }
}

impl<'a> SoftmaxScaling<'a> {
    /// `x` are the input scores (the seed: 100 points in [−3, 3]); each curve is `(s, softmax(x·s))`
    /// with one value per `x`. All finite; at least one curve.
    pub fn new(x: &'a [f32], curves: &'a [(f32, Vec<f32>)]) -> Result<Self> {
        validate::series("softmax_scaling x", x)?;
        validate::non_empty("softmax_scaling curves", curves)?;
        for (s, y) in curves {
            if !s.is_finite() {
                return Err(Error::NonFinite {
                    what: "softmax_scaling scale",
                    index: 0,
                    value: *s,
                });
            }
            validate::finite("softmax_scaling curve", y)?;
            if y.len() != x.len() {
                return Err(Error::Shape {
                    what: "softmax_scaling curve",
                    shape: format!("[{}] (one value per x) for {}", x.len(), scale_label(*s)),
                    expected: x.len(),
                    found: y.len(),
                });
            }
        }
        Ok(SoftmaxScaling {
            x,
            curves,
            title: "Effect of Scaling on Softmax".into(),
        })
    }

    /// Replace the title (default "Effect of Scaling on Softmax").
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }
}

impl Figure for SoftmaxScaling<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let series = self
            .curves
            .iter()
            .map(|(s, y)| {
                let pts = self
                    .x
                    .iter()
                    .zip(y)
                    .map(|(&a, &b)| (f64::from(a), f64::from(b)))
                    .collect();
                (scale_label(*s), pts)
            })
            .collect();
        draw_lines(
            area,
            &LineChart {
                title: &self.title,
                x_desc: "Input Score",
                y_desc: "Softmax Output",
                series,
                legend: LegendAt::UpperLeft,
                integer_x: false,
                fonts: Fonts::STANDARD,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scales_print_like_python_floats() {
        assert_eq!(super::scale_label(0.5), "scale=0.5");
        assert_eq!(super::scale_label(1.0), "scale=1.0");
        assert_eq!(super::scale_label(4.0), "scale=4.0");
    }
}

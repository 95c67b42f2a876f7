//! Tick positions and labels in matplotlib's manner: steps of 1, 2, 2.5 or 5 times a power of ten,
//! every label of an axis printed with the same number of decimals ("0.05, 0.10, 0.15").

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use std::ops::Range;

/// A linear f64 axis from `start` to `end` (either order; `end < start` flips it, as for heatmap
/// rows) whose ticks are exactly `ticks`. The labels come from the mesh's formatter.
#[derive(Clone, Debug)]
pub(crate) struct TickedAxis {
    pub start: f64,
    pub end: f64,
    pub ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.start..self.end).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.start..self.end
    }
}

/// Nice ticks inside `[lo, hi]` (either order), at most `max_n` of them (at least 2 when the range
/// allows), and the number of decimals that prints them all exactly.
/// With `integer`, only whole-number steps are used (for row and column indices).
pub(crate) fn nice_ticks(lo: f64, hi: f64, max_n: usize, integer: bool) -> (Vec<f64>, usize) {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (vec![lo], decimals_for(lo).min(3));
    }
    let max_n = max_n.max(2);
    // Candidate steps from coarse to fine; keep the finest that still fits in max_n ticks.
    let mut best: Option<(f64, usize)> = None;
    let top = 10f64.powf(span.log10().ceil());
    'search: for exp in 0..12 {
        let decade = top / 10f64.powi(exp);
        for mult in [1.0, 0.5, 0.25, 0.2] {
            let step = decade * mult;
            if integer && (step < 1.0 || step.fract() != 0.0) {
                continue;
            }
            let count = ((hi / step).floor() - (lo / step).ceil()) as i64 + 1;
            if count > max_n as i64 {
                break 'search;
            }
            if count >= 2 {
                best = Some((step, decimals_for(step)));
            }
        }
    }
    let Some((step, decimals)) = best else {
        if integer {
            let whole = (lo.ceil() as i64..=hi.floor() as i64)
                .map(|k| k as f64)
                .collect();
            return (whole, 0);
        }
        return (vec![lo, hi], decimals_for(span).min(4));
    };
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Round to the printed decimals so that 3·0.05 is 0.15, not 0.15000000000000002.
    let unit = 10f64.powi(decimals as i32);
    let ticks = (first..=last)
        .map(|k| (k as f64 * step * unit).round() / unit)
        .collect();
    (ticks, decimals)
}

/// Decimals needed to print multiples of `step` exactly (0.25 → 2, 0.5 → 1, 20 → 0), at most 12.
fn decimals_for(step: f64) -> usize {
    (0..12)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() <= 1e-9 * scaled.abs().max(1.0)
        })
        .unwrap_or(12)
}

/// Print a tick value with `decimals` decimals, with a typographic minus (U+2212, as matplotlib)
/// and without a "−0".
pub(crate) fn format_tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(digits) if digits.chars().all(|c| c == '0' || c == '.') => digits.to_string(),
        Some(digits) => format!("\u{2212}{digits}"),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_range_gets_quarter_steps() {
        let (t, d) = nice_ticks(-1.0, 1.0, 9, false);
        assert_eq!(t, vec![-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(d, 2);
        assert_eq!(format_tick(t[1], d), "\u{2212}0.75");
        assert_eq!(format_tick(-0.0, 2), "0.00");
    }

    #[test]
    fn positions_get_integer_steps() {
        let (t, d) = nice_ticks(-0.5, 49.5, 6, true);
        assert_eq!(t, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(d, 0);
    }

    #[test]
    fn small_weights_get_two_decimals() {
        let (t, d) = nice_ticks(0.02, 0.36, 8, false);
        assert_eq!(t, vec![0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
        assert_eq!(d, 2);
    }

    #[test]
    fn index_axes_skip_fractional_steps() {
        assert_eq!(
            nice_ticks(0.0, 9.0, 6, true).0,
            vec![0.0, 2.0, 4.0, 6.0, 8.0]
        );
        assert_eq!(nice_ticks(0.0, 2.0, 8, true).0, vec![0.0, 1.0, 2.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 8, true).0, vec![0.0]);
        assert_eq!(nice_ticks(-0.5, 0.5, 8, true).0, vec![0.0]);
    }

    #[test]
    fn degenerate_ranges_do_not_panic() {
        assert_eq!(nice_ticks(3.0, 3.0, 5, false).0, vec![3.0]);
        assert!(!nice_ticks(0.0, 1e-9, 5, false).0.is_empty());
        assert!(!nice_ticks(0.0, 1.0, 0, false).0.is_empty());
    }
}

//! Input checks shared by the figures. Every figure checks everything before it creates a file or
//! draws a pixel, so a bad input never leaves half a figure behind.

use crate::error::{Error, Result};

/// `data` holds a finite `rows × cols` matrix, row-major, with `rows, cols ≥ 1`.
pub(crate) fn matrix(what: &'static str, data: &[f32], rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(Error::Invalid {
            what,
            reason: format!("shape [{rows}, {cols}] is empty"),
        });
    }
    let expected = rows.checked_mul(cols).ok_or_else(|| Error::Invalid {
        what,
        reason: format!("shape [{rows}, {cols}] overflows"),
    })?;
    if data.len() != expected {
        return Err(Error::Shape {
            what,
            shape: format!("[{rows}, {cols}]"),
            expected,
            found: data.len(),
        });
    }
    finite(what, data)
}

/// Every value of `data` is finite.
pub(crate) fn finite(what: &'static str, data: &[f32]) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what,
            index,
            value: data[index],
        }),
        None => Ok(()),
    }
}

/// `data` is a non-empty finite series.
pub(crate) fn series(what: &'static str, data: &[f32]) -> Result<()> {
    if data.is_empty() {
        return Err(Error::Invalid {
            what,
            reason: "no values".into(),
        });
    }
    finite(what, data)
}

/// `labels`, when given, has exactly `n` entries.
pub(crate) fn labels(what: &'static str, labels: Option<&[String]>, n: usize) -> Result<()> {
    match labels {
        Some(l) if l.len() != n => Err(Error::Shape {
            what,
            shape: format!("[{n}]"),
            expected: n,
            found: l.len(),
        }),
        _ => Ok(()),
    }
}

/// A list of things to draw is not empty.
pub(crate) fn non_empty<T>(what: &'static str, items: &[T]) -> Result<()> {
    if items.is_empty() {
        Err(Error::Invalid {
            what,
            reason: "nothing to draw".into(),
        })
    } else {
        Ok(())
    }
}

/// Smallest and largest value of finite, non-empty data.
pub(crate) fn min_max(data: &[f32]) -> (f64, f64) {
    data.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        })
}

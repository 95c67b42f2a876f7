//! Buffer helpers shared by the layers: shape checks of weight slices and activation buffers,
//! and scratch vectors grown on demand (never shrunk, so steady state allocates nothing).

use crate::error::{input_err, Error, Result};

/// Fails with [`Error::TensorShape`] naming `name` unless `v` has `shape`'s element count.
pub(crate) fn check_len(name: &str, v: &[f32], shape: &[usize]) -> Result<()> {
    let n: usize = shape.iter().product();
    if v.len() != n {
        return Err(Error::TensorShape {
            name: name.to_string(),
            expected: shape.to_vec(),
            found: vec![v.len()],
        });
    }
    Ok(())
}

/// Grows `buf` to at least `n` elements and returns its first `n` (contents unspecified).
pub(crate) fn grow(buf: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
    &mut buf[..n]
}

/// The first `rows × d` values of `x`, or an error when `x` is shorter (or the size overflows).
pub(crate) fn rows_of<'a>(
    x: &'a mut [f32],
    rows: usize,
    d: usize,
    op: &'static str,
) -> Result<&'a mut [f32]> {
    let n = rows
        .checked_mul(d)
        .ok_or_else(|| input_err(op, format!("{rows} rows × {d} overflows")))?;
    let len = x.len();
    x.get_mut(..n).ok_or_else(|| {
        input_err(
            op,
            format!("buffer of {len} values is shorter than {rows} rows × {d}"),
        )
    })
}

/// The first `rows × d` values of `x` (read-only [`rows_of`]).
pub(crate) fn rows_ref<'a>(
    x: &'a [f32],
    rows: usize,
    d: usize,
    op: &'static str,
) -> Result<&'a [f32]> {
    let n = rows
        .checked_mul(d)
        .ok_or_else(|| input_err(op, format!("{rows} rows × {d} overflows")))?;
    x.get(..n).ok_or_else(|| {
        input_err(
            op,
            format!(
                "buffer of {} values is shorter than {rows} rows × {d}",
                x.len()
            ),
        )
    })
}

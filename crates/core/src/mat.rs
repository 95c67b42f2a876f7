//! Borrowed matrix views that carry their shape and strides.

use crate::error::{Error, Result};

/// Number of elements a `rows × cols` view with strides `(rs, cs)` spans in its buffer.
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// A read-only matrix view: element `(i, j)` is `data[i·rs + j·cs]`.
///
/// ```
/// use qkv_core::MatRef;
/// let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let m = MatRef::new(&w, 2, 3)?; // row-major 2×3
/// assert_eq!(m.at(1, 2), 6.0);
/// assert_eq!(m.t().at(2, 1), 6.0); // transposed view, no copy
/// # Ok::<(), qkv_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` view of `data`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::with_strides(data, rows, cols, cols, 1)
    }

    /// A view with explicit row stride `rs` and column stride `cs` (in elements).
    pub fn with_strides(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        rs: usize,
        cs: usize,
    ) -> Result<Self> {
        let needed = span(rows, cols, rs, cs).ok_or_else(|| Error::InvalidArgument {
            op: "MatRef",
            msg: format!("{rows}×{cols} with strides ({rs}, {cs}) overflows usize"),
        })?;
        if needed > data.len() {
            return Err(Error::BufferTooSmall {
                op: "MatRef",
                what: "matrix view",
                needed,
                len: data.len(),
            });
        }
        Ok(MatRef {
            data,
            rows,
            cols,
            rs,
            cs,
        })
    }

    /// A view without the span check, for kernels whose callers validated the span already.
    /// Still memory-safe: every access indexes the slice with bounds checks.
    pub(crate) fn new_unchecked(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        rs: usize,
        cs: usize,
    ) -> Self {
        MatRef {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The transposed view (swaps shape and strides; no copy).
    pub fn t(self) -> Self {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row stride in elements.
    pub fn row_stride(&self) -> usize {
        self.rs
    }
    /// Column stride in elements.
    pub fn col_stride(&self) -> usize {
        self.cs
    }
    /// The underlying buffer.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }
    /// Element `(i, j)`; panics when out of range (use for tests and small tools).
    pub fn at(&self, i: usize, j: usize) -> f32 {
        assert!(i < self.rows && j < self.cols, "index out of range");
        self.data[i * self.rs + j * self.cs]
    }
    /// `"rows×cols"`, for error messages.
    pub fn shape_str(&self) -> String {
        format!("{}×{}", self.rows, self.cols)
    }
}

/// A mutable matrix view with unit column stride: element `(i, j)` is `data[i·rs + j]`.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
}

impl<'a> MatMut<'a> {
    /// A row-major `rows × cols` view of `data`.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::with_row_stride(data, rows, cols, cols)
    }

    /// A view whose rows are `rs` elements apart (`rs ≥ cols`).
    pub fn with_row_stride(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        rs: usize,
    ) -> Result<Self> {
        if rows > 1 && rs < cols {
            return Err(Error::InvalidArgument {
                op: "MatMut",
                msg: format!("row stride {rs} < cols {cols}: rows would overlap"),
            });
        }
        let needed = span(rows, cols, rs, 1).ok_or_else(|| Error::InvalidArgument {
            op: "MatMut",
            msg: format!("{rows}×{cols} with row stride {rs} overflows usize"),
        })?;
        if needed > data.len() {
            return Err(Error::BufferTooSmall {
                op: "MatMut",
                what: "output matrix",
                needed,
                len: data.len(),
            });
        }
        Ok(MatMut {
            data,
            rows,
            cols,
            rs,
        })
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row stride in elements.
    pub fn row_stride(&self) -> usize {
        self.rs
    }
    /// The underlying buffer.
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.data
    }
    /// A read-only view of the same matrix.
    pub fn as_ref(&self) -> MatRef<'_> {
        MatRef {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: 1,
        }
    }
    /// `"rows×cols"`, for error messages.
    pub fn shape_str(&self) -> String {
        format!("{}×{}", self.rows, self.cols)
    }
}

//! A learned lookup table `[rows, d]` (PyTorch's `nn.Embedding`): word pieces, absolute
//! positions and token types of the BERT family are all one.

use crate::error::{Error, Result};
use crate::io::view::WeightsView;

/// A `[rows, d]` table whose row `i` is the vector of id (or position) `i`.
#[derive(Clone, Debug)]
pub struct EmbeddingTable {
    table: Vec<f32>,
    rows: usize,
    d: usize,
}

impl EmbeddingTable {
    /// Wraps a row-major `[rows, d]` table.
    pub fn new(table: Vec<f32>, rows: usize, d: usize) -> Result<Self> {
        if rows.checked_mul(d) != Some(table.len()) {
            return Err(Error::TensorShape {
                name: "embedding table".into(),
                expected: vec![rows, d],
                found: vec![table.len()],
            });
        }
        Ok(EmbeddingTable { table, rows, d })
    }

    /// Reads `weight` (`[rows, d]`) from `w`.
    pub fn load(w: &WeightsView, rows: usize, d: usize) -> Result<Self> {
        EmbeddingTable::new(w.tensor("weight", &[rows, d])?, rows, d)
    }

    /// Number of rows: ids (or positions) `0..rows()` have a vector.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Width of a row.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Row `i`, or `None` past the table.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        (i < self.rows).then(|| &self.table[i * self.d..(i + 1) * self.d])
    }
}

//! Positional encodings: the fixed sinusoidal table of Vaswani et al. (2017) and learned
//! position embeddings (BERT).

use crate::error::{input_err, Error, Result};
use qkv_core::ops::attention::Seq;

/// The sinusoidal table `[max_len, d]`: PE(pos, 2i) = sin(pos / 10000^(2i/d)),
/// PE(pos, 2i+1) = cos(pos / 10000^(2i/d)). Angles are computed in f64 and rounded once, so
/// the table matches a float64 reference to f32 rounding for any `d` (odd `d` ends on a sin).
///
/// ```
/// let pe = qkv_encoder::positional::sinusoidal(2, 64);
/// assert_eq!(&pe[..4], &[0.0, 1.0, 0.0, 1.0]);
/// assert!((pe[64] - 0.84147098).abs() < 1e-7); // sin(1)
/// ```
pub fn sinusoidal(max_len: usize, d: usize) -> Vec<f32> {
    let mut pe = vec![0.0f32; max_len * d];
    for pos in 0..max_len {
        for i in (0..d).step_by(2) {
            let angle = pos as f64 / 10000f64.powf(i as f64 / d as f64);
            pe[pos * d + i] = angle.sin() as f32;
            if i + 1 < d {
                pe[pos * d + i + 1] = angle.cos() as f32;
            }
        }
    }
    pe
}

/// A sinusoidal encoding of width `d`, its table cached and grown on demand.
#[derive(Clone, Debug)]
pub struct SinusoidalEncoding {
    d: usize,
    table: Vec<f32>,
}

impl SinusoidalEncoding {
    /// An encoding of width `d` (no table computed yet).
    pub fn new(d: usize) -> Self {
        SinusoidalEncoding {
            d,
            table: Vec::new(),
        }
    }

    /// The table for positions `0..len`, `[len, d]`.
    pub fn table(&mut self, len: usize) -> &[f32] {
        if self.table.len() < len * self.d {
            self.table = sinusoidal(len.next_power_of_two(), self.d);
        }
        &self.table[..len * self.d]
    }

    /// Adds PE(position within its sequence) to every token row of `x` (`[T, d]`).
    pub fn add_to(&mut self, x: &mut [f32], seqs: &[Seq]) -> Result<()> {
        let d = self.d;
        let longest = seqs.iter().map(|s| s.len).max().unwrap_or(0);
        let table = self.table(longest).to_vec();
        add_rows(x, d, seqs, &table, "SinusoidalEncoding::add_to")
    }
}

/// Learned absolute position embeddings (`[max_positions, d]`, e.g. BERT's
/// `embeddings.position_embeddings.weight`).
#[derive(Clone, Debug)]
pub struct LearnedPositions {
    table: Vec<f32>,
    max_len: usize,
    d: usize,
}

impl LearnedPositions {
    /// Wraps a `[max_len, d]` table.
    pub fn new(table: Vec<f32>, max_len: usize, d: usize) -> Result<Self> {
        if table.len() != max_len * d {
            return Err(Error::TensorShape {
                name: "position_embeddings".into(),
                expected: vec![max_len, d],
                found: vec![table.len()],
            });
        }
        Ok(LearnedPositions { table, max_len, d })
    }

    /// Longest sequence these embeddings cover.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Adds the embedding of each token's position to `x` (`[T, d]`); a sequence longer than
    /// `max_len` is an error.
    pub fn add_to(&self, x: &mut [f32], seqs: &[Seq]) -> Result<()> {
        add_rows(x, self.d, seqs, &self.table, "LearnedPositions::add_to")
    }
}

fn add_rows(x: &mut [f32], d: usize, seqs: &[Seq], table: &[f32], op: &'static str) -> Result<()> {
    for s in seqs {
        if s.len * d > table.len() {
            return Err(input_err(
                op,
                format!(
                    "sequence of {} tokens exceeds {} positions",
                    s.len,
                    table.len() / d.max(1)
                ),
            ));
        }
        let rows = x
            .get_mut(s.start * d..(s.start + s.len) * d)
            .ok_or_else(|| {
                input_err(
                    op,
                    format!("x has no rows {}..{}", s.start, s.start + s.len),
                )
            })?;
        for (xv, pv) in rows.iter_mut().zip(table) {
            *xv += pv;
        }
    }
    Ok(())
}

//! The fixed sinusoidal positional encoding of Vaswani et al. (2017), cell 4 of the notebook.
//! (BERT-family models learn their positions instead: `qkv_encoder::nn::EmbeddingTable`.)

/// The sinusoidal table `[max_len, d]`: PE(pos, 2i) = sin(pos / 10000^(2i/d)),
/// PE(pos, 2i+1) = cos(pos / 10000^(2i/d)). Angles are computed in f64 and rounded once, so
/// the table matches a float64 reference to f32 rounding for any `d` (odd `d` ends on a sin).
///
/// ```
/// let pe = qkv_notebook::sinusoidal(2, 64);
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

//! Sentence pooling over a packed batch, and L2 normalization, with the formulas of
//! sentence-transformers (`Pooling`, `Normalize`) and PyTorch's `F.normalize`.
//!
//! Packed batch: `hidden` is `[T, d]` holding only real tokens; sequence `i` is rows
//! `offsets[i]..offsets[i+1]`. Sums run in f64 so the result is the exactly rounded f32 of the
//! true mean up to one rounding, independent of sequence length.

use crate::error::{input_err, Result};

/// How token vectors become one sentence vector (sentence-transformers' `pooling_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pooling {
    /// Mean over tokens: `Σ / max(count, 1e-9)` (no token gives zeros).
    #[default]
    Mean,
    /// The first pooled token (`[CLS]`, or the first token after an excluded prompt).
    Cls,
    /// Elementwise max over tokens.
    Max,
    /// `Σ / √max(count, 1e-9)` (no token gives zeros).
    MeanSqrtLen,
    /// Mean weighted by 1-based position in the sequence: `Σ pᵢ·xᵢ / max(Σ pᵢ, 1e-9)`
    /// (an excluded prompt keeps the later tokens' positions).
    WeightedMean,
    /// The last token (no pooled token gives zeros).
    LastToken,
}

impl Pooling {
    /// The mode named as in sentence-transformers 6's `pooling_mode` (`"cls"`, `"max"`,
    /// `"mean"`, `"mean_sqrt_len_tokens"`, `"weightedmean"`, `"lasttoken"`).
    pub fn from_name(name: &str) -> Option<Pooling> {
        Some(match name {
            "mean" => Pooling::Mean,
            "cls" => Pooling::Cls,
            "max" => Pooling::Max,
            "mean_sqrt_len_tokens" => Pooling::MeanSqrtLen,
            "weightedmean" => Pooling::WeightedMean,
            "lasttoken" => Pooling::LastToken,
            _ => return None,
        })
    }

    /// The sentence-transformers name of the mode (the inverse of [`Pooling::from_name`]).
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
            Pooling::MeanSqrtLen => "mean_sqrt_len_tokens",
            Pooling::WeightedMean => "weightedmean",
            Pooling::LastToken => "lasttoken",
        }
    }
}

/// Pools each sequence of the packed `hidden` (`[T, d]`) into a row of `out` (`[B, d]`, with
/// `B = offsets.len() - 1`). `offsets` must start at 0, not decrease, and end at `T`.
/// An empty sequence has no token to take: [`Pooling::Cls`], [`Pooling::Max`] and
/// [`Pooling::LastToken`] reject it.
pub fn pool(
    hidden: &[f32],
    offsets: &[usize],
    d: usize,
    pooling: Pooling,
    out: &mut [f32],
) -> Result<()> {
    pool_excluding(hidden, offsets, d, pooling, 0, out)
}

/// [`pool`] with the first `skip` tokens of every sequence left out, as sentence-transformers'
/// `include_prompt: false` does with the prompt's tokens (`skip` = the prompt's length with
/// its leading special token, without the trailing one). Its rules when `skip` covers a whole
/// sequence: CLS takes token 0 (`argmax` of an all-zero mask), the means and last-token give
/// zeros, max fails (sentence-transformers would give −∞).
pub fn pool_excluding(
    hidden: &[f32],
    offsets: &[usize],
    d: usize,
    pooling: Pooling,
    skip: usize,
    out: &mut [f32],
) -> Result<()> {
    const OP: &str = "pool";
    if d == 0 || !hidden.len().is_multiple_of(d) {
        return Err(input_err(
            OP,
            format!(
                "hidden has {} values, not a multiple of d = {d}",
                hidden.len()
            ),
        ));
    }
    let rows = hidden.len() / d;
    let (first, last) = match (offsets.first(), offsets.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => return Err(input_err(OP, "offsets is empty (need batch + 1 entries)")),
    };
    if first != 0 || last != rows || offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err(input_err(
            OP,
            format!("offsets must rise from 0 to the row count {rows}, got {offsets:?}"),
        ));
    }
    let batch = offsets.len() - 1;
    if out.len() != batch * d {
        return Err(input_err(
            OP,
            format!(
                "out has {} values, expected batch {batch} × d {d}",
                out.len()
            ),
        ));
    }
    let mut acc = vec![0f64; d];
    for (i, (w, dst)) in offsets.windows(2).zip(out.chunks_exact_mut(d)).enumerate() {
        let seq = &hidden[w[0] * d..w[1] * d];
        let count = w[1] - w[0];
        if count == 0 && matches!(pooling, Pooling::Cls | Pooling::Max | Pooling::LastToken) {
            return Err(input_err(
                OP,
                format!("sequence {i} is empty: {pooling:?} pooling needs a token"),
            ));
        }
        // The pooled tokens: positions `from..count`.
        let from = skip.min(count);
        let kept = &seq[from * d..];
        match pooling {
            Pooling::Cls if from == count => dst.copy_from_slice(&seq[..d]),
            Pooling::Cls => dst.copy_from_slice(&kept[..d]),
            Pooling::Max if from == count => {
                return Err(input_err(
                    OP,
                    format!("sequence {i} has no token after the {skip}-token prompt to max-pool"),
                ))
            }
            Pooling::Max => {
                dst.copy_from_slice(&kept[..d]);
                for row in kept.chunks_exact(d).skip(1) {
                    for (m, &x) in dst.iter_mut().zip(row) {
                        // NaN propagates, as in torch.max.
                        if x > *m || x.is_nan() {
                            *m = x;
                        }
                    }
                }
            }
            Pooling::LastToken if from == count => dst.fill(0.0),
            Pooling::LastToken => dst.copy_from_slice(&seq[(count - 1) * d..]),
            Pooling::Mean | Pooling::MeanSqrtLen | Pooling::WeightedMean => {
                acc.fill(0.0);
                let mut weights = 0f64;
                for (k, row) in kept.chunks_exact(d).enumerate() {
                    // sentence-transformers' weights are the 1-based positions in the sequence.
                    let wt = if pooling == Pooling::WeightedMean {
                        (from + k + 1) as f64
                    } else {
                        1.0
                    };
                    weights += wt;
                    for (a, &x) in acc.iter_mut().zip(row) {
                        *a += wt * f64::from(x);
                    }
                }
                // sentence-transformers clamps the count at 1e-9, so none gives 0 / 1e-9 = 0.
                let n = weights.max(1e-9);
                let div = if pooling == Pooling::MeanSqrtLen {
                    n.sqrt()
                } else {
                    n
                };
                for (o, a) in dst.iter_mut().zip(&acc) {
                    *o = (a / div) as f32;
                }
            }
        }
    }
    Ok(())
}

/// Normalizes each `d`-wide row of `rows` in place to `x / max(‖x‖₂, 1e-12)`, as
/// `torch.nn.functional.normalize` does; the norm is accumulated in f64.
pub fn l2_normalize(rows: &mut [f32], d: usize) -> Result<()> {
    if d == 0 || !rows.len().is_multiple_of(d) {
        return Err(input_err(
            "l2_normalize",
            format!("{} values do not form rows of width d = {d}", rows.len()),
        ));
    }
    for row in rows.chunks_exact_mut(d) {
        let norm = row
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        let div = norm.max(1e-12);
        for x in row.iter_mut() {
            *x = (f64::from(*x) / div) as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    // Three sequences of d = 2: lengths 2, 0, 3.
    const H: [f32; 10] = [1.0, -2.0, 3.0, 4.0, 0.5, 0.0, -1.0, 6.0, 2.0, -3.0];
    const OFF: [usize; 4] = [0, 2, 2, 5];

    fn run(p: Pooling, off: &[usize]) -> Result<Vec<f32>> {
        let mut out = vec![f32::NAN; (off.len() - 1) * 2];
        pool(&H, off, 2, p, &mut out).map(|_| out)
    }

    #[test]
    fn mean_and_sqrt_len() {
        let out = run(Pooling::Mean, &OFF).unwrap();
        assert_eq!(out, [2.0, 1.0, 0.0, 0.0, 0.5, 1.0]);
        let out = run(Pooling::MeanSqrtLen, &OFF).unwrap();
        let s2 = 2f32.sqrt();
        let s3 = 3f32.sqrt();
        let want = [4.0 / s2, 2.0 / s2, 0.0, 0.0, 1.5 / s3, 3.0 / s3];
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() <= 1e-6 * b.abs(), "{a} vs {b}");
        }
    }

    #[test]
    fn cls_and_max() {
        let off = [0, 2, 5];
        assert_eq!(run(Pooling::Cls, &off).unwrap(), [1.0, -2.0, 0.5, 0.0]);
        assert_eq!(run(Pooling::Max, &off).unwrap(), [3.0, 4.0, 2.0, 6.0]);
        for p in [Pooling::Cls, Pooling::Max, Pooling::LastToken] {
            assert!(matches!(run(p, &OFF), Err(Error::Input { .. })), "{p:?}");
        }
        assert_eq!(
            run(Pooling::LastToken, &off).unwrap(),
            [3.0, 4.0, 2.0, -3.0]
        );
    }

    #[test]
    fn weighted_mean() {
        // Weights 1, 2 and 1, 2, 3.
        let out = run(Pooling::WeightedMean, &OFF).unwrap();
        let want = [7.0 / 3.0, 6.0 / 3.0, 0.0, 0.0, 4.5 / 6.0, 3.0 / 6.0];
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn excluding_a_prompt() {
        // Sequences of lengths 2 and 3, the first token of each left out.
        let off = [0, 2, 5];
        let skip = |p: Pooling, n: usize| {
            let mut out = vec![f32::NAN; 4];
            pool_excluding(&H, &off, 2, p, n, &mut out).map(|_| out)
        };
        assert_eq!(skip(Pooling::Mean, 1).unwrap(), [3.0, 4.0, 0.5, 1.5]);
        assert_eq!(skip(Pooling::Cls, 1).unwrap(), [3.0, 4.0, -1.0, 6.0]);
        assert_eq!(skip(Pooling::Max, 1).unwrap(), [3.0, 4.0, 2.0, 6.0]);
        assert_eq!(skip(Pooling::LastToken, 1).unwrap(), [3.0, 4.0, 2.0, -3.0]);
        // The kept tokens keep their positions' weights: (2·(-1, 6) + 3·(2, -3)) / 5.
        let w = skip(Pooling::WeightedMean, 1).unwrap();
        assert_eq!(w[..2], [3.0, 4.0]);
        assert!((w[2] - 4.0 / 5.0).abs() < 1e-6 && (w[3] - 3.0 / 5.0).abs() < 1e-6);
        // The prompt covers the first sequence: CLS falls back to token 0, the others to zeros
        // (max has nothing to take and says so).
        assert_eq!(skip(Pooling::Cls, 2).unwrap()[..2], [1.0, -2.0]);
        assert_eq!(skip(Pooling::Mean, 2).unwrap()[..2], [0.0, 0.0]);
        assert_eq!(skip(Pooling::LastToken, 9).unwrap(), [0.0; 4]);
        assert!(skip(Pooling::Max, 2).is_err());
        assert_eq!(
            skip(Pooling::MeanSqrtLen, 0).unwrap(),
            run(Pooling::MeanSqrtLen, &off).unwrap()
        );
    }

    #[test]
    fn names_round_trip() {
        for p in [
            Pooling::Mean,
            Pooling::Cls,
            Pooling::Max,
            Pooling::MeanSqrtLen,
            Pooling::WeightedMean,
            Pooling::LastToken,
        ] {
            assert_eq!(Pooling::from_name(p.name()), Some(p));
        }
        assert_eq!(Pooling::from_name("mean_tokens"), None);
    }

    #[test]
    fn mean_is_accurate_for_long_sequences() {
        // 1e6 copies of 0.1 plus one 1e4: f32 running sums drift, f64 does not.
        let n = 1_000_000;
        let mut h = vec![0.1f32; n];
        h[0] = 1e4;
        let mut out = [0f32];
        pool(&h, &[0, n], 1, Pooling::Mean, &mut out).unwrap();
        let exact = (1e4 + (n as f64 - 1.0) * f64::from(0.1f32)) / n as f64;
        assert_eq!(out[0], exact as f32);
    }

    #[test]
    fn rejects_bad_shapes() {
        let mut out = [0f32; 2];
        for (h, off, d, o) in [
            (&H[..], &[0usize, 5][..], 0usize, 2usize),
            (&H[..9], &[0, 4][..], 2, 2),
            (&H[..], &[][..], 2, 0),
            (&H[..], &[1, 5][..], 2, 2),
            (&H[..], &[0, 4][..], 2, 2),
            (&H[..], &[0, 6][..], 2, 2),
            (&H[..], &[0, 3, 2, 5][..], 2, 2),
            (&H[..], &[0, 5][..], 2, 1),
        ] {
            assert!(
                matches!(
                    pool(h, off, d, Pooling::Mean, &mut out[..o]),
                    Err(Error::Input { .. })
                ),
                "{off:?} d={d}"
            );
        }
    }

    #[test]
    fn normalize() {
        let mut v = [3.0f32, 4.0, 0.0, 0.0, 1e-20, 0.0];
        l2_normalize(&mut v, 2).unwrap();
        // A zero row stays zero; a tiny one is divided by the 1e-12 floor, as in PyTorch.
        assert_eq!(v, [0.6, 0.8, 0.0, 0.0, 1e-8, 0.0]);
        assert!(l2_normalize(&mut v, 4).is_err());
        assert!(l2_normalize(&mut v, 0).is_err());
    }
}

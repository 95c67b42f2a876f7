//! Sentence pooling over a packed batch, and L2 normalization, with the formulas of
//! sentence-transformers (`Pooling`, `Normalize`) and PyTorch's `F.normalize`.
//!
//! Packed batch: `hidden` is `[T, d]` holding only real tokens; sequence `i` is rows
//! `offsets[i]..offsets[i+1]`. Sums run in f64 so the result is the exactly rounded f32 of the
//! true mean up to one rounding, independent of sequence length.

use crate::error::{input_err, Error, Result};
use serde::Deserialize;
use std::path::Path;

/// How token vectors become one sentence vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pooling {
    /// Mean over tokens: `Σ / max(count, 1e-9)` (an empty sequence gives zeros).
    #[default]
    Mean,
    /// The first token (`[CLS]`).
    Cls,
    /// Elementwise max over tokens.
    Max,
    /// `Σ / √count` (zeros for an empty sequence).
    MeanSqrtLen,
}

/// The flags of sentence-transformers' `1_Pooling/config.json`.
#[derive(Deserialize)]
struct PoolingFlags {
    word_embedding_dimension: Option<usize>,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

impl Pooling {
    /// Parses a sentence-transformers pooling config and returns the mode with the
    /// `word_embedding_dimension` it declares, if any. Exactly one supported flag must be set:
    /// several flags mean concatenated poolings, which qkv does not do.
    pub fn from_st_config(path: impl AsRef<Path>) -> Result<(Pooling, Option<usize>)> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let flags: PoolingFlags = serde_json::from_slice(&text).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |m: &str| Error::Config(format!("{}: {m}", path.display()));
        if flags.pooling_mode_weightedmean_tokens || flags.pooling_mode_lasttoken {
            return Err(bad(
                "weighted-mean and last-token pooling are not supported",
            ));
        }
        let set: Vec<Pooling> = [
            (flags.pooling_mode_mean_tokens, Pooling::Mean),
            (flags.pooling_mode_cls_token, Pooling::Cls),
            (flags.pooling_mode_max_tokens, Pooling::Max),
            (
                flags.pooling_mode_mean_sqrt_len_tokens,
                Pooling::MeanSqrtLen,
            ),
        ]
        .into_iter()
        .filter_map(|(on, p)| on.then_some(p))
        .collect();
        match set.as_slice() {
            [p] => Ok((*p, flags.word_embedding_dimension)),
            [] => Err(bad("no pooling mode is enabled")),
            _ => Err(bad(
                "several pooling modes are enabled (concatenation is not supported)",
            )),
        }
    }
}

/// Pools each sequence of the packed `hidden` (`[T, d]`) into a row of `out` (`[B, d]`, with
/// `B = offsets.len() - 1`). `offsets` must start at 0, not decrease, and end at `T`.
/// [`Pooling::Cls`] and [`Pooling::Max`] reject an empty sequence: it has no token to take.
pub fn pool(
    hidden: &[f32],
    offsets: &[usize],
    d: usize,
    pooling: Pooling,
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
        match pooling {
            Pooling::Cls | Pooling::Max if count == 0 => {
                return Err(input_err(
                    OP,
                    format!("sequence {i} is empty: {pooling:?} pooling needs a token"),
                ))
            }
            Pooling::Cls => dst.copy_from_slice(&seq[..d]),
            Pooling::Max => {
                dst.copy_from_slice(&seq[..d]);
                for row in seq.chunks_exact(d).skip(1) {
                    for (m, &x) in dst.iter_mut().zip(row) {
                        // NaN propagates, as in torch.max.
                        if x > *m || x.is_nan() {
                            *m = x;
                        }
                    }
                }
            }
            Pooling::Mean | Pooling::MeanSqrtLen => {
                acc.fill(0.0);
                for row in seq.chunks_exact(d) {
                    for (a, &x) in acc.iter_mut().zip(row) {
                        *a += f64::from(x);
                    }
                }
                // sentence-transformers clamps the count at 1e-9, so empty gives 0 / 1e-9 = 0.
                let n = (count as f64).max(1e-9);
                let div = if pooling == Pooling::Mean {
                    n
                } else {
                    n.sqrt()
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
        for p in [Pooling::Cls, Pooling::Max] {
            assert!(matches!(run(p, &OFF), Err(Error::Input { .. })), "{p:?}");
        }
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

    #[test]
    fn reads_sentence_transformers_flags() {
        let dir = std::env::temp_dir();
        let p = dir.join(format!("qkv-pooling-{}.json", std::process::id()));
        let cases: [(&str, Option<Pooling>); 5] = [
            (
                r#"{"word_embedding_dimension":384,"pooling_mode_cls_token":false,
                   "pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":false,
                   "pooling_mode_mean_sqrt_len_tokens":false}"#,
                Some(Pooling::Mean),
            ),
            (r#"{"pooling_mode_cls_token":true}"#, Some(Pooling::Cls)),
            (r#"{"pooling_mode_max_tokens":true}"#, Some(Pooling::Max)),
            (
                r#"{"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":true}"#,
                None,
            ),
            (r#"{"pooling_mode_lasttoken":true}"#, None),
        ];
        for (json, want) in cases {
            std::fs::write(&p, json).unwrap();
            match (Pooling::from_st_config(&p), want) {
                (Ok((got, _)), Some(w)) => assert_eq!(got, w),
                (Err(Error::Config(m)), None) => assert!(m.contains("qkv-pooling"), "{m}"),
                (got, _) => panic!("{json}: {got:?}"),
            }
        }
        std::fs::write(&p, "{").unwrap();
        assert!(matches!(
            Pooling::from_st_config(&p),
            Err(Error::Json { .. })
        ));
        std::fs::remove_file(&p).ok();
    }
}

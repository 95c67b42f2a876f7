//! What the attention tests share: problems with packed Q, K, V (sequences with padding rows
//! between them), every mask kind, and the check of the fused kernel (both its paths) against
//! the f64 reference. Included by `attention.rs` and `attention_tiles.rs`.
#![allow(dead_code)] // each test file uses a part

use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::reference::attention::attention_f64;
use qkv_core::Isa;
use qkv_testkit::rng::rand_vec;

#[derive(Clone, Copy, Debug)]
pub enum MaskKind {
    None,
    Causal,
    /// Shared additive mask with some −∞ entries (never a whole row).
    Additive,
    /// One additive mask per sequence; sequence 0's row 1 fully masked.
    AdditivePerSeq,
    /// A random per-head bias by key offset (MPNet-style).
    RelativeBias,
    /// Keys within this distance of the query (ModernBERT-style local attention).
    Window(usize),
}

pub struct Setup {
    /// Rows of `[q | k | v | unused]`, `rs` apart.
    pub qkv: Vec<f32>,
    pub seqs: Vec<Seq>,
    pub heads: usize,
    pub d: usize,
    pub rows: usize,
    pub mask: Vec<f32>,
    pub bias: Vec<f32>,
    pub smax: usize,
    /// Elements between rows of `qkv` (≥ 3·heads·d).
    pub rs: usize,
}

/// `lens` sequences laid out back to back with `gap` padding rows between them.
pub fn setup(lens: &[usize], heads: usize, d: usize, gap: usize, logit: f32, seed: u64) -> Setup {
    setup_strided(lens, heads, d, gap, logit, seed, 3 * heads * d)
}

/// As [`setup`], with rows `rs` elements apart.
pub fn setup_strided(
    lens: &[usize],
    heads: usize,
    d: usize,
    gap: usize,
    logit: f32,
    seed: u64,
    rs: usize,
) -> Setup {
    let mut seqs = Vec::new();
    let mut at = 0;
    for &len in lens {
        seqs.push(Seq { start: at, len });
        at += len + gap;
    }
    let rows = at;
    let w = heads * d;
    assert!(rs >= 3 * w);
    let mut qkv = rand_vec(rows * rs, seed);
    for r in 0..rows {
        for x in &mut qkv[r * rs..r * rs + w] {
            *x *= logit; // scale Q only: scores grow linearly with `logit`
        }
    }
    let smax = lens.iter().cloned().max().unwrap_or(0);
    let mut mask = rand_vec(lens.len() * smax * smax, seed + 7);
    for (i, m) in mask.iter_mut().enumerate() {
        if i % 5 == 2 && i % smax.max(1) != 0 {
            *m = f32::NEG_INFINITY; // never column 0, so no row is fully masked
        }
    }
    let bias = rand_vec(heads * (2 * smax).saturating_sub(1), seed + 11);
    Setup {
        qkv,
        seqs,
        heads,
        d,
        rows,
        mask,
        bias,
        smax,
        rs,
    }
}

impl Setup {
    pub fn mask(&self, kind: MaskKind) -> Mask<'_> {
        match kind {
            MaskKind::None => Mask::None,
            MaskKind::Causal => Mask::Causal,
            MaskKind::Additive => Mask::Additive {
                data: &self.mask,
                row_stride: self.smax,
                batch_stride: 0,
            },
            MaskKind::AdditivePerSeq => Mask::Additive {
                data: &self.mask,
                row_stride: self.smax,
                batch_stride: self.smax * self.smax,
            },
            MaskKind::RelativeBias => Mask::RelativeBias {
                table: &self.bias,
                span: self.smax,
            },
            MaskKind::Window(radius) => Mask::SlidingWindow { radius },
        }
    }

    pub fn view(&self) -> QkvView<'_> {
        let w = self.heads * self.d;
        let at = |i: usize| self.qkv.get(i * w..).unwrap_or(&[]);
        QkvView {
            q: at(0),
            k: at(1),
            v: at(2),
            row_stride: self.rs,
        }
    }

    pub fn run(
        &self,
        isa: Isa,
        kind: MaskKind,
        scale: Option<f32>,
        probs: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        let w = self.heads * self.d;
        let mut out = vec![f32::NAN; self.rows * w]; // padded rows must stay untouched
        let mut p = vec![f32::NAN; self.seqs.len() * self.heads * self.smax * self.smax];
        let params = AttentionParams {
            scale,
            isa: Some(isa),
            ..AttentionParams::new(self.heads, self.d)
        };
        attention(
            self.view(),
            &self.seqs,
            &params,
            self.mask(kind),
            &mut out,
            w,
            probs.then_some(&mut p[..]),
        )
        .unwrap();
        (out, p)
    }
}

/// Output tolerance. Scores carry a relative error of about d·u (dot product of length d);
/// through softmax a score error δ moves a weight by at most |δ|·w, so the output moves by
/// ≲ (d·u·|s|max + len·u)·|v|max. |v| ≤ 1 here; constants leave room for exp's 2 ULP.
pub fn tol(d: usize, len: usize, smax_abs: f64) -> f64 {
    let u = f32::EPSILON as f64 / 2.0;
    8.0 * u * (d as f64 * smax_abs.max(1.0) + len as f64) + 1e-6
}

pub fn check(isa: Isa, st: &Setup, kind: MaskKind, logit: f32) {
    let (out, probs) = st.run(isa, kind, None, true);
    let (fast, _) = st.run(isa, kind, None, false);
    let scale = 1.0 / (st.d as f64).sqrt();
    let (r_out, r_probs) = attention_f64(
        &st.view(),
        &st.seqs,
        st.heads,
        st.d,
        scale,
        &st.mask(kind),
        st.rows,
    );
    let w = st.heads * st.d;
    let smax_abs = logit as f64 * st.d as f64 * scale; // |q|,|k| ≤ 1 → |s| ≤ logit·d·scale
    for (b, s) in st.seqs.iter().enumerate() {
        let t = tol(st.d, s.len, smax_abs);
        for i in 0..s.len {
            for c in 0..w {
                let idx = (s.start + i) * w + c;
                for (name, o) in [("probs-path", out[idx]), ("fast-path", fast[idx])] {
                    let err = (o as f64 - r_out[idx]).abs();
                    assert!(err <= t, "{isa} {kind:?} lens {:?} d {} seq {b} row {i} col {c} {name}: {o} vs {} (err {err:e} > {t:e})",
                        st.seqs.iter().map(|s| s.len).collect::<Vec<_>>(), st.d, r_out[idx]);
                }
            }
            for h in 0..st.heads {
                let row = ((b * st.heads + h) * st.smax + i) * st.smax;
                let mut sum = 0.0f64;
                for j in 0..st.smax {
                    let (p, rp) = (probs[row + j], r_probs[row + j]);
                    if rp == 0.0 {
                        // Masked keys (and keys beyond the sequence) get exactly zero weight.
                        assert_eq!(
                            p, 0.0,
                            "{isa} {kind:?}: masked key {j} of query {i} has weight {p}"
                        );
                    }
                    assert!(
                        (p as f64 - rp).abs() <= t,
                        "{isa} {kind:?}: p[{i},{j}] = {p} vs {rp}"
                    );
                    sum += p as f64;
                }
                let masked_row = r_probs[row..row + st.smax].iter().all(|&x| x == 0.0);
                if !masked_row {
                    assert!((sum - 1.0).abs() <= 1e-5, "{isa}: row sums to {sum}");
                }
            }
        }
        // Rows between sequences are never written.
        for r in s.start + s.len..st.seqs.get(b + 1).map_or(st.rows, |n| n.start) {
            assert!(
                out[r * w..(r + 1) * w].iter().all(|x| x.is_nan()),
                "{isa}: padding row {r} written"
            );
        }
    }
}

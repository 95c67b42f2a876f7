//! `qkv bench attention`: the fused kernel beside an unfused version built from qkv's own
//! GEMM + softmax (S = Q·Kᵀ materialized, softmax, ·V), on encoder shapes.

use crate::alloc_count::peak_extra;
use crate::bench::Common;
use crate::report::{self, r3, Row};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::ops::softmax::softmax_rows;
use qkv_core::perf::interleaved;
use qkv_core::{gemm, with_threads, GemmOptions, MatMut, MatRef};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// (batch, heads, seq, d_head): MiniLM at batch 1 and 8, BERT-base at 512, a long sequence,
/// the seed.
pub const SHAPES: [(usize, usize, usize, usize); 5] = [
    (1, 6, 128, 64),
    (8, 6, 128, 64),
    (1, 12, 512, 64),
    (1, 12, 4096, 64),
    (1, 4, 10, 16),
];

/// Measures every shape with and without the causal mask.
pub fn run(c: &Common) -> anyhow::Result<()> {
    report::print(&measure(c)?, c.json);
    Ok(())
}

/// One packed-QKV problem.
struct Problem {
    qkv: Vec<f32>,
    seqs: Vec<Seq>,
    heads: usize,
    d: usize,
    rows: usize,
}

impl Problem {
    fn new(batch: usize, heads: usize, seq: usize, d: usize) -> Problem {
        let rows = batch * seq;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64((batch * seq * heads) as u64);
        let qkv = (0..rows * 3 * heads * d)
            .map(|_| rng.gen_range(-1.0f32..1.0))
            .collect();
        let seqs = (0..batch)
            .map(|b| Seq {
                start: b * seq,
                len: seq,
            })
            .collect();
        Problem {
            qkv,
            seqs,
            heads,
            d,
            rows,
        }
    }

    fn fused(&self, causal: bool, out: &mut [f32]) {
        let w = self.heads * self.d;
        let mask = if causal { Mask::Causal } else { Mask::None };
        let params = AttentionParams::new(self.heads, self.d);
        attention(
            QkvView::packed(&self.qkv, w),
            &self.seqs,
            &params,
            mask,
            out,
            w,
            None,
        )
        .expect("shapes were built to fit");
    }

    /// Unfused: see [`unfused`].
    fn naive(&self, causal: bool, out: &mut [f32], scores: &mut Vec<f32>) {
        unfused(
            &self.qkv, &self.seqs, self.heads, self.d, causal, out, scores,
        );
    }
}

/// Unfused attention on packed QKV rows `[rows, 3·heads·d]`: per (sequence, head)
/// S = Q·Kᵀ/√d with qkv's GEMM, mask, softmax, O = P·V (`out`: `[rows, heads·d]`).
pub(crate) fn unfused(
    qkv: &[f32],
    seqs: &[Seq],
    h: usize,
    d: usize,
    causal: bool,
    out: &mut [f32],
    scores: &mut Vec<f32>,
) {
    let w = h * d;
    let rs = 3 * w;
    let scale = 1.0 / (d as f32).sqrt();
    for s in seqs {
        let n = s.len;
        scores.resize(n * n, 0.0);
        for head in 0..h {
            let at = |part: usize| &qkv[s.start * rs + part * w + head * d..];
            let q = MatRef::with_strides(at(0), n, d, rs, 1).expect("view");
            let k = MatRef::with_strides(at(1), n, d, rs, 1).expect("view");
            let v = MatRef::with_strides(at(2), n, d, rs, 1).expect("view");
            let opts = GemmOptions {
                alpha: scale,
                ..Default::default()
            };
            gemm(q, k.t(), MatMut::new(scores, n, n).expect("view"), &opts).expect("gemm");
            if causal {
                for i in 0..n {
                    scores[i * n + i + 1..(i + 1) * n].fill(f32::NEG_INFINITY);
                }
            }
            softmax_rows(scores, n, n).expect("softmax");
            let o =
                MatMut::with_row_stride(&mut out[s.start * w + head * d..], n, d, w).expect("view");
            gemm(
                MatRef::new(scores, n, n).expect("view"),
                v,
                o,
                &GemmOptions::default(),
            )
            .expect("gemm");
        }
    }
}

/// The measurements behind `qkv bench attention`.
pub fn measure(c: &Common) -> anyhow::Result<Vec<Row>> {
    let threads = c.threads();
    let mut rows = Vec::new();
    for &(batch, heads, seq, d) in &SHAPES {
        let p = Problem::new(batch, heads, seq, d);
        for causal in [false, true] {
            let mut out1 = vec![0.0f32; p.rows * heads * d];
            let mut out2 = out1.clone();
            let mut scores = Vec::new();
            // Extra memory of a first call in a fresh pool (fresh per-thread scratch).
            let ((), extra) = with_threads(threads, || peak_extra(|| p.fused(causal, &mut out1)))?;
            let flops = 4.0 * (batch * heads * seq * seq * d) as f64;
            let reps = if flops > 1e10 {
                c.reps.max(5)
            } else {
                c.reps.max(5) * 5
            };
            let t = with_threads(threads, || {
                let mut fused = || p.fused(causal, &mut out1);
                let mut naive = || p.naive(causal, &mut out2, &mut scores);
                interleaved(2, reps, &mut [&mut fused, &mut naive])
            })?;
            rows.push(Row(vec![
                ("batch", Value::from(batch)),
                ("heads", Value::from(heads)),
                ("seq", Value::from(seq)),
                ("d_head", Value::from(d)),
                ("causal", Value::from(causal)),
                ("threads", Value::from(threads)),
                ("qkv_ms", r3(t[0].median * 1e3)),
                ("naive_ms", r3(t[1].median * 1e3)),
                ("gflops", r3(flops / t[0].median / 1e9)),
                ("extra_mem_bytes", Value::from(extra)),
            ]));
        }
    }
    Ok(rows)
}

//! `qkv bench attention`: the fused kernel beside an unfused version built from qkv's own
//! GEMM + softmax (S = Q·Kᵀ materialized, softmax, ·V), on encoder shapes
//! ([`qkv_testkit::shapes::ATTENTION`]).

use super::options::Common;
use super::report::{self, r3, Row};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::perf::interleaved;
use qkv_core::with_threads;
use qkv_testkit::alloc::peak_extra;
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;
use qkv_testkit::unfused::unfused_attention;
use serde_json::Value;

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
        let qkv = rand_vec(rows * 3 * heads * d, (batch * seq * heads) as u64);
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

    /// Unfused: see [`unfused_attention`].
    fn naive(&self, causal: bool, out: &mut [f32], scores: &mut Vec<f32>) {
        unfused_attention(
            &self.qkv, &self.seqs, self.heads, self.d, causal, out, scores,
        )
        .expect("shapes were built to fit");
    }
}

/// The measurements behind `qkv bench attention`.
pub fn measure(c: &Common) -> anyhow::Result<Vec<Row>> {
    let threads = c.threads();
    let mut rows = Vec::new();
    for (batch, heads, seq, d) in shapes::ATTENTION {
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

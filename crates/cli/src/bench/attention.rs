//! `qkv bench attention`: the fused kernel beside an unfused version built from qkv's own
//! GEMM + softmax (S = Q·Kᵀ materialized, softmax, ·V), on encoder shapes
//! ([`qkv_testkit::shapes::ATTENTION`]), with the share of the measured FMA peak; `--masks`
//! times the MPNet relative bias and a ModernBERT-style sliding window on the same shapes.

use super::options::Common;
use super::report::{self, r3, Row};
use clap::Args;
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::perf::{fma_peak_gflops_threads, interleaved};
use qkv_core::{with_threads, Isa};
use qkv_testkit::alloc::peak_extra;
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;
use qkv_testkit::unfused::unfused_attention;
use serde_json::Value;

/// Arguments of `qkv bench attention`.
#[derive(Args, Clone, Debug)]
pub struct AttentionArgs {
    #[command(flatten)]
    pub common: Common,
    /// Also time a per-head relative bias (MPNet) and a sliding window of radius 64
    /// (ModernBERT's local layers) on every shape: rows with `mask` "bias" / "window".
    #[arg(long)]
    pub masks: bool,
}

/// Measures every shape with and without the causal mask (and the other masks with
/// `--masks`).
pub fn run(a: &AttentionArgs) -> anyhow::Result<()> {
    report::print(&measure(&a.common)?, a.common.json);
    if a.masks {
        // A table of its own: these rows have other columns.
        report::print(&measure_masks(&a.common)?, a.common.json);
    }
    Ok(())
}

/// The radius of the sliding window `--masks` times (ModernBERT-base: 128-token windows).
const WINDOW: usize = 64;

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
        let mask = if causal { Mask::Causal } else { Mask::None };
        self.fused_with(mask, out)
    }

    /// A relative-bias table for every head (random, seeded), covering the sequence.
    fn bias_table(&self) -> Vec<f32> {
        let span = self.seqs.iter().map(|s| s.len).max().unwrap_or(1).max(1);
        rand_vec(self.heads * (2 * span - 1), 11)
    }

    fn fused_with(&self, mask: Mask, out: &mut [f32]) {
        let w = self.heads * self.d;
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
    // The machine may be shared: the peak is measured before and after, the higher kept.
    let peak_before = fma_peak_gflops_threads(Isa::active(), threads);
    let mut rows = Vec::new();
    // GFLOP/s of the work the mask leaves (causal: the s(s+1)/2 visible pairs), for pct_peak;
    // `gflops` keeps counting 4·b·h·s²·d for both, as before.
    let mut useful_gflops = Vec::new();
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
            let pairs = if causal {
                seq * (seq + 1) / 2
            } else {
                seq * seq
            };
            useful_gflops.push(4.0 * (batch * heads * pairs * d) as f64 / t[0].median / 1e9);
        }
    }
    let peak = peak_before.max(fma_peak_gflops_threads(Isa::active(), threads));
    for (r, useful) in rows.iter_mut().zip(useful_gflops) {
        r.0.push(("peak_gflops", r3(peak)));
        r.0.push(("pct_peak", r3(100.0 * useful / peak)));
    }
    Ok(rows)
}

/// `--masks`: the fused kernel with a per-head relative bias and with a sliding window.
fn measure_masks(c: &Common) -> anyhow::Result<Vec<Row>> {
    let threads = c.threads();
    let mut rows = Vec::new();
    for (batch, heads, seq, d) in shapes::ATTENTION {
        let p = Problem::new(batch, heads, seq, d);
        let table = p.bias_table();
        let span = seq.max(1);
        let mut out = vec![0.0f32; p.rows * heads * d];
        let flops = 4.0 * (batch * heads * seq * seq * d) as f64;
        let reps = if flops > 1e10 {
            c.reps.max(5)
        } else {
            c.reps.max(5) * 5
        };
        for (name, mask) in [
            (
                "bias",
                Mask::RelativeBias {
                    table: &table,
                    span,
                },
            ),
            ("window", Mask::SlidingWindow { radius: WINDOW }),
        ] {
            let t = with_threads(threads, || {
                let mut fused = || p.fused_with(mask, &mut out);
                interleaved(2, reps, &mut [&mut fused])
            })?;
            rows.push(Row(vec![
                ("batch", Value::from(batch)),
                ("heads", Value::from(heads)),
                ("seq", Value::from(seq)),
                ("d_head", Value::from(d)),
                ("mask", Value::from(name)),
                ("threads", Value::from(threads)),
                ("qkv_ms", r3(t[0].median * 1e3)),
            ]));
        }
    }
    Ok(rows)
}

//! criterion group `attention`: the fused kernel beside the unfused GEMM + softmax + GEMM
//! version, on encoder shapes. Throughput is 4·b·h·s²·d flops.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::ops::softmax::softmax_rows;
use qkv_core::{gemm, GemmOptions, MatMut, MatRef};
use rand::{Rng, SeedableRng};

/// (batch, heads, seq, d_head).
const SHAPES: [(usize, usize, usize, usize); 4] = [
    (1, 4, 10, 16),
    (1, 6, 128, 64),
    (8, 6, 128, 64),
    (1, 12, 512, 64),
];

fn unfused(qkv: &[f32], seqs: &[Seq], h: usize, d: usize, out: &mut [f32], s: &mut Vec<f32>) {
    let w = h * d;
    let rs = 3 * w;
    for q in seqs {
        let n = q.len;
        s.resize(n * n, 0.0);
        for head in 0..h {
            let at = |p: usize| &qkv[q.start * rs + p * w + head * d..];
            let view = |p: usize| MatRef::with_strides(at(p), n, d, rs, 1).unwrap();
            let opts = GemmOptions {
                alpha: 1.0 / (d as f32).sqrt(),
                ..Default::default()
            };
            gemm(view(0), view(1).t(), MatMut::new(s, n, n).unwrap(), &opts).unwrap();
            softmax_rows(s, n, n).unwrap();
            let o = MatMut::with_row_stride(&mut out[q.start * w + head * d..], n, d, w).unwrap();
            gemm(
                MatRef::new(s, n, n).unwrap(),
                view(2),
                o,
                &GemmOptions::default(),
            )
            .unwrap();
        }
    }
}

fn bench_attention(c: &mut Criterion) {
    let mut g = c.benchmark_group("attention");
    g.sample_size(10);
    for (b, h, n, d) in SHAPES {
        let id = format!("{b}x{h}x{n}x{d}");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let qkv: Vec<f32> = (0..b * n * 3 * h * d)
            .map(|_| rng.gen_range(-1.0f32..1.0))
            .collect();
        let seqs: Vec<Seq> = (0..b)
            .map(|i| Seq {
                start: i * n,
                len: n,
            })
            .collect();
        let mut out = vec![0.0f32; b * n * h * d];
        let mut s = Vec::new();
        g.throughput(Throughput::Elements((4 * b * h * n * n * d) as u64));
        for causal in [false, true] {
            let mask = if causal { Mask::Causal } else { Mask::None };
            let tag = if causal { "causal" } else { "full" };
            g.bench_function(BenchmarkId::new(format!("qkv_fused_{tag}"), &id), |bch| {
                bch.iter(|| {
                    attention(
                        QkvView::packed(&qkv, h * d),
                        &seqs,
                        &AttentionParams::new(h, d),
                        mask,
                        &mut out,
                        h * d,
                        None,
                    )
                    .unwrap()
                })
            });
        }
        g.bench_function(BenchmarkId::new("unfused_full", &id), |bch| {
            bch.iter(|| unfused(&qkv, &seqs, h, d, &mut out, &mut s))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_attention);
criterion_main!(benches);

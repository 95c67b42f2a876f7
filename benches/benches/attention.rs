//! criterion group `attention`: the fused kernel (no mask, causal, MPNet's relative bias, a
//! sliding window of radius 64) beside the unfused GEMM + softmax + GEMM version, on the
//! encoder shapes of `qkv_testkit::shapes::ATTENTION` (those `qkv bench attention` measures).
//! Throughput is 4·b·h·s²·d flops (the work without a mask).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;
use qkv_testkit::unfused::unfused_attention;

fn bench_attention(c: &mut Criterion) {
    let mut g = c.benchmark_group("attention");
    g.sample_size(10);
    for (b, h, n, d) in shapes::ATTENTION {
        let id = format!("{b}x{h}x{n}x{d}");
        let qkv = rand_vec(b * n * 3 * h * d, 7);
        let seqs: Vec<Seq> = (0..b)
            .map(|i| Seq {
                start: i * n,
                len: n,
            })
            .collect();
        let mut out = vec![0.0f32; b * n * h * d];
        let mut s = Vec::new();
        g.throughput(Throughput::Elements((4 * b * h * n * n * d) as u64));
        let table = rand_vec(h * (2 * n - 1), 11);
        for (tag, mask) in [
            ("full", Mask::None),
            ("causal", Mask::Causal),
            (
                "bias",
                Mask::RelativeBias {
                    table: &table,
                    span: n,
                },
            ),
            ("window", Mask::SlidingWindow { radius: 64 }),
        ] {
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
            bch.iter(|| unfused_attention(&qkv, &seqs, h, d, false, &mut out, &mut s).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_attention);
criterion_main!(benches);
